package gwc.owasp.max_body_test

import data.gwc.owasp.max_body

test_flags_unset if {
	r := max_body.warn with input as {"gatewayConfigured": true, "operations": [{"operationId": "a", "pointer": "/paths/~1a/post", "method": "POST", "fullPath": "/a", "body": {"content": []}, "policy": {}}]}
	[f.pointer | some f in r] == ["/paths/~1a/post/requestBody"]
}

test_set_passes if {
	count(max_body.warn) == 0 with input as {"gatewayConfigured": true, "operations": [{"operationId": "a", "method": "POST", "fullPath": "/a", "body": {"content": []}, "policy": {"maxBody": 4096}}]}
}

test_no_body_passes if {
	count(max_body.warn) == 0 with input as {"gatewayConfigured": true, "operations": [{"operationId": "a", "method": "GET", "fullPath": "/a", "policy": {}}]}
}
