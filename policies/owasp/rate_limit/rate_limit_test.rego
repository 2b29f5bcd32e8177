package gwc.owasp.rate_limit_test

import data.gwc.owasp.rate_limit

test_flags_none if {
	r := rate_limit.warn with input as {"gatewayConfigured": true, "operations": [{"operationId": "a", "pointer": "/paths/~1a/get", "method": "GET", "fullPath": "/a", "policy": {}}]}
	[f.pointer | some f in r] == ["/paths/~1a/get"]
}

test_limited_passes if {
	count(rate_limit.warn) == 0 with input as {"gatewayConfigured": true, "operations": [{"operationId": "a", "method": "GET", "fullPath": "/a", "policy": {"rateLimit": {"name": "per-client", "requests": 10}}}]}
}

test_specs_without_x_gateway_pass if {
	count(rate_limit.warn) == 0 with input as {"gatewayConfigured": false, "operations": [{"operationId": "a", "method": "GET", "fullPath": "/a", "policy": {}}]}
}
