package gwc.owasp.plain_http_upstream_test

import data.gwc.owasp.plain_http_upstream

test_flags_remote_http if {
	r := plain_http_upstream.deny with input as {"upstreams": {"pets": {"targets": [
		{"url": "http://10.0.0.5:8080", "pointer": "/x-gateway/upstreams/pets/targets/0"},
		{"url": "https://pets.internal", "pointer": "/x-gateway/upstreams/pets/targets/1/url"},
	]}}}
	[f.pointer | some f in r] == ["/x-gateway/upstreams/pets/targets/0"]
}

test_loopback_and_https_pass if {
	count(plain_http_upstream.deny) == 0 with input as {"upstreams": {"pets": {"targets": [{"url": "http://127.0.0.1:9001"}, {"url": "http://localhost/x"}, {"url": "http://[::1]:80"}, {"url": "https://pets.example.com"}]}}}
}
