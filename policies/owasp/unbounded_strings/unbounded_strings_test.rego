package gwc.owasp.unbounded_strings_test

import data.gwc.owasp.unbounded_strings

op(fields, defs) := {"operations": [{"operationId": "a", "method": "POST", "fullPath": "/a", "requestFields": fields, "defs": object.keys(defs)}], "defFields": defs}

test_flags_unbounded if {
	r := unbounded_strings.warn with input as op([
		{"where": "/body(application/json)/properties/name", "types": ["string"], "enum": false, "const": false},
		{"where": "/body(application/json)/properties/tags", "types": ["array"], "enum": false, "const": false},
		{"where": "/body(application/json)/properties/tags/items", "types": ["string"], "enum": false, "const": false, "maxLength": 5},
	], {})
	r == {
		{"msg": "POST /a: 1 request strings have no maxLength, enum, format or pattern (/body(application/json)/properties/name)", "operation": "a"},
		{"msg": "POST /a: 1 request arrays have no maxItems (/body(application/json)/properties/tags)", "operation": "a"},
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
	r := unbounded_strings.warn with input as op([], {"Pet": [{"where": "/$defs/Pet/properties/name", "types": ["string"], "enum": false, "const": false}]})
	count(r) == 1
}
