# METADATA
# title: an admin, internal or debug path without authentication
# description: >-
#   Paths with an `admin`, `internal` or `debug` segment are where
#   functions for operators live; served without authentication they are
#   anyone's.
# custom:
#   owasp: "API5:2023 Broken Function Level Authorization"
package gwc.owasp.admin_paths

import data.gwc.lib

sensitive := {"admin", "internal", "debug"}

deny contains {"msg": msg, "pointer": op.pointer} if {
	some op in input.operations
	not lib.authenticated(op)
	some seg in split(lower(op.fullPath), "/")
	seg in sensitive
	msg := sprintf("%s %s looks like an %s function but requires no authentication", [op.method, op.fullPath, seg])
}
