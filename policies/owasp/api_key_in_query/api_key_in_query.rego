# METADATA
# title: an API key sent in the query string
# description: >-
#   Query strings end up in access logs, browser history, proxies and Referer
#   headers, and with them the key. Send API keys in a header.
# custom:
#   owasp: "API2:2023 Broken Authentication"
package gwc.owasp.api_key_in_query

import data.gwc.lib

# The finding is at the scheme's `in: query`.
deny contains {"msg": msg, "pointer": concat("", [object.get(s, "pointer", sprintf("/components/securitySchemes/%s", [lib.token(name)])), "/in"])} if {
	some name, s in input.securitySchemes
	s.type == "apiKey"
	s["in"] == "query"
	msg := sprintf("security scheme %q takes its API key from the query string, which logs and proxies keep: use a header", [name])
}
