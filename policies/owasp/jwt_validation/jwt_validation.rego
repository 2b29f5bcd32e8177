# METADATA
# title: a token scheme without issuer, audience or algorithm allow-list
# description: >-
#   gwc validates JWTs (http bearer, oauth2 and openIdConnect schemes) with
#   the scheme's x-gateway settings. Without `issuer` a token from any issuer
#   the keys accept passes; without `audiences` a token minted for another
#   API passes; without `algorithms` the allow-list is gwc's default rather
#   than the one the issuer uses.
#   It judges specs that configure gwc (an x-gateway anywhere); a plain
#   OpenAPI spec is not held to gateway settings it does not use.
# custom:
#   owasp: "API2:2023 Broken Authentication"
package gwc.owasp.jwt_validation

token_scheme(s) if s.type in {"oauth2", "openIdConnect"}

token_scheme(s) if {
	s.type == "http"
	lower(s.scheme) == "bearer"
}

required := {"issuer": "issuer", "audiences": "audiences", "algorithms": "algorithms"}

deny contains {"msg": msg, "pointer": sprintf("/components/securitySchemes/%s", [name])} if {
	input.gatewayConfigured
	some name, s in input.securitySchemes
	token_scheme(s)
	missing := [field | some field in ["issuer", "audiences", "algorithms"]; not has_value(s, field)]
	count(missing) > 0
	msg := sprintf("security scheme %q accepts tokens without checking their %s (x-gateway)", [name, concat(", ", missing)])
}

has_value(s, field) if {
	v := s[field]
	v != ""
	v != []
}
