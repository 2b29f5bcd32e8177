# METADATA
# title: an operation without authentication that is not declared public
# description: >-
#   An operation with no security requirement, in a spec that never says
#   `security` for it (neither on the operation nor at the root), is open to
#   anyone by omission. Require a scheme, or declare `security: []` on the
#   operation to make it public on purpose. An error in a spec that
#   configures gwc (an x-gateway anywhere), a warning in a plain one.
# custom:
#   owasp: "API2:2023 Broken Authentication"
package gwc.owasp.authentication

import data.gwc.lib

# In a spec gwc serves (it has an x-gateway) this is an error; in a plain
# OpenAPI spec, a warning.
deny contains finding(op) if {
	input.gatewayConfigured
	some op in undeclared
}

warn contains finding(op) if {
	not input.gatewayConfigured
	some op in undeclared
}

undeclared contains op if {
	some op in input.operations
	not lib.authenticated(op)
	not op.securityDeclared
}

finding(op) := {"msg": sprintf("%s %s has no authentication and is not declared public (security: [])", [op.method, op.fullPath]), "pointer": op.pointer}
