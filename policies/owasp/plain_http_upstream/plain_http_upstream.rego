# METADATA
# title: an upstream reached over plain http outside the machine
# description: >-
#   Requests and answers to an `http://` target cross the network readable
#   and changeable by anyone on the path, credentials and personal data
#   included. Use https (with `ca_file` for a private CA), or keep the target
#   on loopback.
# custom:
#   owasp: "API8:2023 Security Misconfiguration"
package gwc.owasp.plain_http_upstream

import data.gwc.lib

# The finding is at the target's URL string.
deny contains {"msg": msg, "pointer": object.get(t, "pointer", sprintf("/x-gateway/upstreams/%s", [lib.token(name)]))} if {
	some name, u in input.upstreams
	some t in u.targets
	startswith(t.url, "http://")
	host := lib.url_host(t.url)
	not lib.is_loopback(host)
	msg := sprintf("upstream %q target %s is plain http to %s: use https", [name, t.url, host])
}
