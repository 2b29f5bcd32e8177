# METADATA
# title: authenticated answers in a cache shared by every client
# description: >-
#   `cache: {shared: true}` drops the client's identity from the cache key:
#   on an operation that requires authentication, one client's answer would
#   be served to the next. Leave `shared` false for per-user data; data that
#   is the same for every caller (a price list behind an API key) may be
#   shared, which is why this is a warning.
# custom:
#   owasp: "API8:2023 Security Misconfiguration"
package gwc.owasp.shared_cache

import data.gwc.lib

# The finding is at the cache setting the operation inherits.
warn contains {"msg": msg, "pointer": lib.source(op, "cache")} if {
	some op in input.operations
	lib.authenticated(op)
	op.policy.cache.shared
	msg := sprintf("%s %s requires authentication but caches answers shared by every client (cache.shared)", [op.method, op.fullPath])
}
