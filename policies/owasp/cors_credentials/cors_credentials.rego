# METADATA
# title: CORS that allows any origin with credentials
# description: >-
#   `allow_origins: ["*"]` with `allow_credentials: true` would let any site
#   make authenticated requests with the user's cookies and read the
#   answers. Name the origins.
# custom:
#   owasp: "API8:2023 Security Misconfiguration"
package gwc.owasp.cors_credentials

import data.gwc.lib

# The finding is at the cors setting the operation inherits.
deny contains {"msg": msg, "pointer": lib.source(op, "cors")} if {
	some op in input.operations
	cors := op.policy.cors
	cors.allowCredentials
	"*" in cors.allowOrigins
	msg := sprintf("%s %s: CORS allows any origin (*) with credentials", [op.method, op.fullPath])
}
