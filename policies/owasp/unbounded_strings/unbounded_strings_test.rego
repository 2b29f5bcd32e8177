package gwc.owasp.unbounded_strings_test

import data.gwc.owasp.unbounded_strings

op(fields, defs) := {"operations": [{"operationId": "a", "pointer": "/paths/~1a/post", "method": "POST", "fullPath": "/a", "requestFields": fields, "defs": object.keys(defs)}], "defFields": defs}

test_flags_unbounded if {
	r := unbounded_strings.warn with input as op([
		{"where": "/body(application/json)/properties/name", "types": ["string"], "enum": false, "const": false, "pointer": "/n"},
		{"where": "/body(application/json)/properties/tags", "types": ["array"], "enum": false, "const": false, "pointer": "/t"},
		{"where": "/body(application/json)/properties/tags/items", "types": ["string"], "enum": false, "const": false, "maxLength": 5, "pointer": "/t/items"},
	], {})
	r == {
		{"msg": "POST /a: request string /body(application/json)/properties/name has no maxLength, enum, format or pattern", "pointer": "/n"},
		{"msg": "POST /a: request array /body(application/json)/properties/tags has no maxItems", "pointer": "/t"},
	}
}

test_bounded_passes if {
	count(unbounded_strings.warn) == 0 with input as op([
		{"where": "/query/q", "types": ["string"], "enum": false, "const": false, "maxLength": 10},
		{"where": "/query/kind", "types": ["string", "null"], "enum": true, "const": false},
		{"where": "/query/id", "types": ["string"], "enum": false, "const": false, "format": "uuid"},
		{"where": "/query/ids", "types": ["array"], "enum": false, "const": false, "maxItems": 3},
	], {})
}

test_reaches_defs if {
	r := unbounded_strings.warn with input as op([], {"Pet": [{"where": "/$defs/Pet/properties/name", "types": ["string"], "enum": false, "const": false, "pointer": "pet.yaml#/Pet/properties/name"}]})
	r == {{"msg": "request string /$defs/Pet/properties/name has no maxLength, enum, format or pattern", "pointer": "pet.yaml#/Pet/properties/name"}}
}
