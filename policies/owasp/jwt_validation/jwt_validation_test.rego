package gwc.owasp.jwt_validation_test

import data.gwc.owasp.jwt_validation

test_flags_missing if {
	r := jwt_validation.warn with input as {"gatewayConfigured": true, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "issuer": "https://id"}}}
	r == {{"msg": "security scheme \"bearer\" accepts tokens without checking their audiences (x-gateway)", "pointer": "/components/securitySchemes/bearer"}}
}

test_complete_passes if {
	count(jwt_validation.warn) == 0 with input as {"gatewayConfigured": true, "securitySchemes": {"o": {"type": "oauth2", "issuer": "https://id", "audiences": ["api"], "algorithms": ["RS256"]}}}
}

test_api_keys_are_not_tokens if {
	count(jwt_validation.warn) == 0 with input as {"gatewayConfigured": true, "securitySchemes": {"k": {"type": "apiKey", "in": "header"}}}
}

test_discovery_gives_the_issuer if {
	r := jwt_validation.warn with input as {"gatewayConfigured": true, "securitySchemes": {"o": {"type": "openIdConnect", "openIdConnectUrl": "https://id/.well-known/openid-configuration"}}}
	r == {{"msg": "security scheme \"o\" accepts tokens without checking their audiences (x-gateway)", "pointer": "/components/securitySchemes/o"}}
}
