package gwc.owasp.mass_assignment_test

import data.gwc.owasp.mass_assignment

body(schema, defs) := {"operations": [{"operationId": "a", "pointer": "/paths/~1a/post", "method": "POST", "fullPath": "/a", "body": {"content": [{"type": "application/json", "schema": schema}]}}], "defs": defs}

test_flags_open if {
	r := mass_assignment.warn with input as body({"type": "object", "properties": {"name": {"type": "string"}}}, {})
	[f.pointer | some f in r] == ["/paths/~1a/post/requestBody/content/application~1json/schema"]
}

test_flags_open_through_ref if {
	count(mass_assignment.warn) == 1 with input as body({"$ref": "#/$defs/Pet"}, {"Pet": {"type": "object"}})
}

test_closed_passes if {
	count(mass_assignment.warn) == 0 with input as body({"$ref": "#/$defs/Pet"}, {"Pet": {"type": "object", "additionalProperties": false}})
}

test_reads_pass if {
	count(mass_assignment.warn) == 0 with input as {"operations": [{"operationId": "a", "method": "GET", "fullPath": "/a"}], "defs": {}}
}
