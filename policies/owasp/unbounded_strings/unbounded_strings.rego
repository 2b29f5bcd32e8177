# METADATA
# title: request strings and arrays without bounds
# description: >-
#   A request string without `maxLength`, `enum`, `const`, `format` or
#   `pattern`, or an array without `maxItems`, lets one request send as much
#   as the body limit allows into every field, which upstreams then parse,
#   store and log. Bound them.
# custom:
#   owasp: "API4:2023 Unrestricted Resource Consumption"
package gwc.owasp.unbounded_strings

import data.gwc.lib

bounded_string(node) if node.maxLength

bounded_string(node) if node.enum

bounded_string(node) if "const" in object.keys(node)

bounded_string(node) if node.format

bounded_string(node) if node.pattern

# unbounded(schema, prefix) are the places below schema where a string or an
# array has no bound, as ["string"|"array", where].
unbounded(schema, prefix) := {[kind, where] |
	walk(schema, [path, node])
	is_object(node)
	some kind in {"string", "array"}
	lib.has_type(node, kind)
	not bounded(kind, node)
	where := concat("/", array.concat([prefix], [sprintf("%v", [x]) | some x in path]))
}

bounded("string", node) if bounded_string(node)

bounded("array", node) if node.maxItems

# in_defs[name] is unbounded() of a definition: computed once per
# evaluation, whichever operations reach it.
in_defs[name] := unbounded(def, sprintf("/$defs/%s", [name])) if some name, def in input.defs

in_op(op) := {x |
	some p in op.params
	p.schema
	some x in unbounded(p.schema, sprintf("/%s/%s", [p["in"], p.name]))
} | {x |
	some c in object.get(op, ["body", "content"], [])
	c.schema
	some x in unbounded(c.schema, sprintf("/body(%s)", [c.type]))
} | {x |
	some d in op.defs
	some x in in_defs[d]
}

warn contains {"msg": msg, "operation": op.operationId} if {
	some op in input.operations
	found := in_op(op)
	some kind in {"string", "array"}
	places := {where | some [k, where] in found; k == kind}
	count(places) > 0
	msg := sprintf("%s %s: %d request %ss have no %s (%s)", [op.method, op.fullPath, count(places), kind, bound_names[kind], first(places)])
}

bound_names := {"string": "maxLength, enum, format or pattern", "array": "maxItems"}

first(set) := concat(", ", array.slice(sort(set), 0, 3))
