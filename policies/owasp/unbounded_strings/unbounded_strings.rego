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

kinds := {"string", "array"}

# places(fields, kind) are the sorted places where fields leave kind
# unbounded. The checks are inline (not a function per field): this runs
# over every schema node of every definition.
places(fields, "string") := sort({f.where |
	some f in fields
	"string" in f.types
	not f.enum
	not f["const"]
	not f.maxLength
	not f.format
	not f.pattern
})

places(fields, "array") := sort({f.where |
	some f in fields
	"array" in f.types
	not f.maxItems
})

# in_def[name][kind] are the unbounded places of a definition: a rule with
# keys, so each is computed once per spec, whichever operations reach it.
in_def[name][kind] := places(fields, kind) if {
	some name, fields in input.defFields
	some kind in kinds
}

warn contains {"msg": msg, "operation": op.operationId} if {
	# One reference to the whole of in_def, then plain lookups: OPA computes
	# it once instead of once per operation and definition.
	by_def := in_def
	some op in input.operations
	some kind in kinds
	own := places(op.requestFields, kind)
	n := count(own) + sum([count(by_def[d][kind]) | some d in op.defs])
	n > 0
	sample := array.concat(own, [x | some d in op.defs; some x in array.slice(by_def[d][kind], 0, 3)])
	msg := sprintf("%s %s: %d request %ss have no %s (%s)", [op.method, op.fullPath, n, kind, bound_names[kind], first(sample)])
}

bound_names := {"string": "maxLength, enum, format or pattern", "array": "maxItems"}

first(places) := concat(", ", array.slice(sort(places), 0, 3))
