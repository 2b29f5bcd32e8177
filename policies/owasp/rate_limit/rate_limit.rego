# METADATA
# title: an operation without a rate limit
# description: >-
#   Without `rate_limit` (on the operation, its path item, or `defaults`),
#   one client can send as many requests as the gateway and the upstream can
#   take: brute force, scraping, cost. Set one.
#   It judges specs that configure gwc (an x-gateway anywhere); a plain
#   OpenAPI spec is not held to gateway settings it does not use.
# custom:
#   owasp: "API4:2023 Unrestricted Resource Consumption"
package gwc.owasp.rate_limit

warn contains {"msg": msg, "pointer": op.pointer} if {
	input.gatewayConfigured
	some op in input.operations
	not op.policy.rateLimit
	msg := sprintf("%s %s has no rate limit (x-gateway rate_limit, or defaults.rate_limit)", [op.method, op.fullPath])
}
