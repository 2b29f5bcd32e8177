package gwc.owasp.cors_credentials_test

import data.gwc.owasp.cors_credentials

test_flags_wildcard_with_credentials if {
	r := cors_credentials.deny with input as {"operations": [{"operationId": "a", "pointer": "/paths/~1a/get", "policySources": {"cors": "/x-gateway/defaults/cors"}, "method": "GET", "fullPath": "/a", "policy": {"cors": {"allowOrigins": ["*"], "allowCredentials": true}}}]}
	[f.pointer | some f in r] == ["/x-gateway/defaults/cors"]
}

test_named_origins_pass if {
	count(cors_credentials.deny) == 0 with input as {"operations": [{"operationId": "a", "method": "GET", "fullPath": "/a", "policy": {"cors": {"allowOrigins": ["https://app.example.com"], "allowCredentials": true}}}]}
}

test_wildcard_without_credentials_passes if {
	count(cors_credentials.deny) == 0 with input as {"operations": [{"operationId": "a", "method": "GET", "fullPath": "/a", "policy": {"cors": {"allowOrigins": ["*"]}}}]}
}
