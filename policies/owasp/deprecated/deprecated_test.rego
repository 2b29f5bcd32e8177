package gwc.owasp.deprecated_test

import data.gwc.owasp.deprecated

test_flags_deprecated if {
	r := deprecated.warn with input as {"operations": [{"operationId": "a", "pointer": "/paths/~1a/get", "method": "GET", "fullPath": "/a", "deprecated": true, "policy": {"upstream": "u"}}]}
	[f.pointer | some f in r] == ["/paths/~1a/get/deprecated"]
}

test_current_passes if {
	count(deprecated.warn) == 0 with input as {"operations": [{"operationId": "a", "method": "GET", "fullPath": "/a", "policy": {}}]}
}

test_mocked_passes if {
	count(deprecated.warn) == 0 with input as {"operations": [{"operationId": "a", "method": "GET", "fullPath": "/a", "deprecated": true, "policy": {"mock": true}}]}
}
