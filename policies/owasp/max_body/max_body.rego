# METADATA
# title: a request body without max_body
# description: >-
#   gwc reads at most `max_body` bytes of a body (1 MiB when unset) before it
#   answers 413. Set the limit the operation needs, so that the gateway
#   refuses what the upstream would choke on.
#   It judges specs that configure gwc (an x-gateway anywhere); a plain
#   OpenAPI spec is not held to gateway settings it does not use.
# custom:
#   owasp: "API4:2023 Unrestricted Resource Consumption"
package gwc.owasp.max_body

# The finding is at the operation's requestBody.
warn contains {"msg": msg, "pointer": concat("", [op.pointer, "/requestBody"])} if {
	input.gatewayConfigured
	some op in input.operations
	op.body
	not op.policy.maxBody
	msg := sprintf("%s %s takes a request body but sets no x-gateway max_body (gwc's default, 1 MiB, applies)", [op.method, op.fullPath])
}
