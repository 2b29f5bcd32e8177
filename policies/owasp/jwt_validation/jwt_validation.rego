# METADATA
# title: a token scheme without issuer or audience
# description: >-
#   gwc validates JWTs (http bearer, oauth2 and openIdConnect schemes) with
#   the scheme's x-gateway settings. Without `issuer` a token from any issuer
#   the keys accept passes (an openIdConnect scheme with a discovery URL
#   takes the issuer its provider announces); without `audiences` a token
#   minted for another API of the same issuer passes. The algorithms are
#   safe without a list (public-key algorithms only; none and HMAC are
#   never accepted), so a missing list is not flagged.
#   It judges specs that configure gwc (an x-gateway anywhere); a plain
#   OpenAPI spec is not held to gateway settings it does not use.
# custom:
#   owasp: "API2:2023 Broken Authentication"
package gwc.owasp.jwt_validation

import data.gwc.lib

token_scheme(s) if s.type in {"oauth2", "openIdConnect"}

token_scheme(s) if {
	s.type == "http"
	lower(s.scheme) == "bearer"
}

warn contains {"msg": msg, "pointer": object.get(s, "pointer", concat("", ["/components/securitySchemes/", lib.token(name)]))} if {
	input.gatewayConfigured
	some name, s in input.securitySchemes
	token_scheme(s)
	missing := [field | some field in ["issuer", "audiences"]; not has_value(s, field); not discovered(s, field)]
	count(missing) > 0
	msg := sprintf("security scheme %q accepts tokens without checking their %s (x-gateway)", [name, concat(", ", missing)])
}

# An OpenID provider announces its issuer in the discovery document.
discovered(s, "issuer") if {
	s.type == "openIdConnect"
	s.openIdConnectUrl != ""
}

has_value(s, field) if {
	v := s[field]
	v != ""
	v != []
}
