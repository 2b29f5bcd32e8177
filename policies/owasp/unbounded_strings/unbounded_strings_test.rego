package gwc.owasp.unbounded_strings_test

import data.gwc.owasp.unbounded_strings

op(schema) := {"operations": [{"operationId": "a", "method": "POST", "fullPath": "/a", "params": [], "body": {"content": [{"type": "application/json", "schema": schema}]}, "defs": []}], "defs": {}}

test_flags_unbounded if {
	r := unbounded_strings.warn with input as op({"type": "object", "properties": {"name": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string", "maxLength": 5}}}})
	count(r) == 2
}

test_bounded_passes if {
	count(unbounded_strings.warn) == 0 with input as op({"type": "object", "properties": {"name": {"type": "string", "maxLength": 10}, "kind": {"type": "string", "enum": ["a"]}, "tags": {"type": "array", "maxItems": 3, "items": {"type": "string", "format": "uuid"}}}})
}

test_reaches_defs if {
	r := unbounded_strings.warn with input as {"operations": [{"operationId": "a", "method": "POST", "fullPath": "/a", "params": [], "body": {"content": [{"type": "application/json", "schema": {"$ref": "#/$defs/Pet"}}]}, "defs": ["Pet"]}], "defs": {"Pet": {"type": "object", "properties": {"name": {"type": "string"}}}}}
	count(r) == 1
}
