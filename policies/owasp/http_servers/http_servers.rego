# METADATA
# title: a server URL over plain http
# description: >-
#   Clients generated from the spec, and people reading it, will call the API
#   over plain http, where credentials travel readable. Publish https
#   servers (loopback URLs for local development are fine).
# custom:
#   owasp: "API8:2023 Security Misconfiguration"
package gwc.owasp.http_servers

import data.gwc.lib

warn contains {"msg": msg, "pointer": sprintf("/servers/%d/url", [i])} if {
	some i, s in input.spec.servers
	startswith(s.url, "http://")
	not lib.is_loopback(lib.url_host(s.url))
	msg := sprintf("server %s is plain http: publish an https URL", [s.url])
}
