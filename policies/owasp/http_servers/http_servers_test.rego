package gwc.owasp.http_servers_test

import data.gwc.owasp.http_servers

test_flags_http if {
	r := http_servers.warn with input as {"spec": {"servers": [{"url": "https://api.example.com"}, {"url": "http://api.example.com/v1"}]}}
	r == {{"msg": "server http://api.example.com/v1 is plain http: publish an https URL", "pointer": "/servers/1/url"}}
}

test_https_and_local_pass if {
	count(http_servers.warn) == 0 with input as {"spec": {"servers": [{"url": "https://api.example.com"}, {"url": "http://localhost:8080"}]}}
}
