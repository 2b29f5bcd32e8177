package gwc.owasp.deprecated_test

import data.gwc.owasp.deprecated

test_flags_deprecated if {
	count(deprecated.warn) == 1 with input as {"operations": [{"operationId": "a", "method": "GET", "fullPath": "/a", "deprecated": true, "policy": {"upstream": "u"}}]}
}

test_current_passes if {
	count(deprecated.warn) == 0 with input as {"operations": [{"operationId": "a", "method": "GET", "fullPath": "/a", "policy": {}}]}
}

test_mocked_passes if {
	count(deprecated.warn) == 0 with input as {"operations": [{"operationId": "a", "method": "GET", "fullPath": "/a", "deprecated": true, "policy": {"mock": true}}]}
}
