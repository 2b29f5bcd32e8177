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

# One finding per schema node, at the node (the property's schema, in the
# file that declares it): an operation's own request fields, and the
# fields of the definitions its request reaches, each once whichever
# operations share it.

bound_names := {"string": "maxLength, enum, format or pattern", "array": "maxItems"}

unbounded(f, "string") if {
	"string" in f.types
	not f.enum
	not f["const"]
	not f.maxLength
	not f.format
	not f.pattern
}

unbounded(f, "array") if {
	"array" in f.types
	not f.maxItems
}

# reached are the definitions some operation's request reaches.
reached contains d if {
	some op in input.operations
	some d in op.defs
}

# Each field is judged for the bounded kinds it has (bound_names' keys):
# a field's own types, not both kinds for every field.
warn contains {"msg": msg, "pointer": object.get(f, "pointer", op.pointer)} if {
	some op in input.operations
	some f in op.requestFields
	some kind in f.types
	bound_names[kind]
	unbounded(f, kind)
	msg := sprintf("%s %s: request %s %s has no %s", [op.method, op.fullPath, kind, f.where, bound_names[kind]])
}

warn contains {"msg": msg, "pointer": f.pointer} if {
	some d in reached
	some f in input.defFields[d]
	some kind in f.types
	bound_names[kind]
	unbounded(f, kind)
	msg := sprintf("request %s %s has no %s", [kind, f.where, bound_names[kind]])
}
