# METADATA
# title: a write body that accepts properties it does not declare
# description: >-
#   A POST, PUT or PATCH JSON body whose object schema does not say
#   `additionalProperties: false` (or `unevaluatedProperties: false`) lets a
#   client send fields the API never meant to take (`isAdmin`, `price`),
#   which frameworks that bind requests to objects then write.
# custom:
#   owasp: "API3:2023 Broken Object Property Level Authorization"
package gwc.owasp.mass_assignment

import data.gwc.lib

closed(node) if node.additionalProperties == false

closed(node) if node.unevaluatedProperties == false

# The finding is at the body's schema (in the file it is written in).
warn contains {"msg": msg, "pointer": concat("", [op.pointer, "/requestBody/content/", lib.token(c.type), "/schema"])} if {
	some op in input.operations
	lib.is_write(op)
	some c in op.body.content
	contains(c.type, "json")
	root := resolve(c.schema)
	lib.has_type(root, "object")
	not closed(root)
	msg := sprintf("%s %s: the %s body accepts properties its schema does not declare (set additionalProperties: false)", [op.method, op.fullPath, c.type])
}

# resolve follows one reference to a definition, the usual shape of a body.
resolve(s) := input.defs[trim_prefix(s["$ref"], "#/$defs/")] if s["$ref"]

resolve(s) := s if not s["$ref"]
