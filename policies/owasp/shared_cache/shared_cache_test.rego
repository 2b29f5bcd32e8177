package gwc.owasp.shared_cache_test

import data.gwc.owasp.shared_cache

test_flags_shared_authenticated if {
	r := shared_cache.warn with input as {"operations": [{"operationId": "a", "pointer": "/paths/~1a/get", "method": "GET", "fullPath": "/a", "security": [[{"scheme": "k"}]], "policy": {"cache": {"ttl": "30s", "shared": true}}}]}
	[f.pointer | some f in r] == ["/paths/~1a/get"]
}

test_per_client_passes if {
	count(shared_cache.warn) == 0 with input as {"operations": [{"operationId": "a", "method": "GET", "fullPath": "/a", "security": [[{"scheme": "k"}]], "policy": {"cache": {"ttl": "30s"}}}]}
}

test_public_shared_passes if {
	count(shared_cache.warn) == 0 with input as {"operations": [{"operationId": "a", "method": "GET", "fullPath": "/a", "security": [], "policy": {"cache": {"ttl": "30s", "shared": true}}}]}
}
