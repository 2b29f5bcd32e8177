# METADATA
# title: a deprecated operation that is still routed
# description: >-
#   A deprecated operation keeps its attack surface for as long as it is
#   served; old versions are where fixes arrive last. Plan its removal, or
#   answer it from a mock.
# custom:
#   owasp: "API9:2023 Improper Inventory Management"
package gwc.owasp.deprecated

# The finding is at the operation's `deprecated: true`.
warn contains {"msg": msg, "pointer": concat("", [op.pointer, "/deprecated"])} if {
	some op in input.operations
	op.deprecated
	op.policy.upstream
	not op.policy.mock
	msg := sprintf("%s %s is deprecated but still routed to its upstream", [op.method, op.fullPath])
}
