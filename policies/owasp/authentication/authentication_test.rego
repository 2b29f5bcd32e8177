package gwc.owasp.authentication_test

import data.gwc.owasp.authentication

test_flags_undeclared if {
	r := authentication.deny with input as {"gatewayConfigured": true, "operations": [{"operationId": "a", "pointer": "/paths/~1a/get", "method": "GET", "fullPath": "/a", "security": [], "securityDeclared": false}]}
	r == {{"msg": "GET /a has no authentication and is not declared public (security: [])", "pointer": "/paths/~1a/get"}}
}

test_warns_in_plain_specs if {
	inp := {"gatewayConfigured": false, "operations": [{"operationId": "a", "pointer": "/paths/~1a/get", "method": "GET", "fullPath": "/a", "security": [], "securityDeclared": false}]}
	count(authentication.deny) == 0 with input as inp
	count(authentication.warn) == 1 with input as inp
}

test_declared_public_passes if {
	count(authentication.deny) == 0 with input as {"operations": [{"operationId": "a", "method": "GET", "fullPath": "/a", "security": [], "securityDeclared": true}]}
}

test_authenticated_passes if {
	count(authentication.deny) == 0 with input as {"operations": [{"operationId": "a", "method": "GET", "fullPath": "/a", "security": [[{"scheme": "k", "type": "apiKey"}]], "securityDeclared": true}]}
}
