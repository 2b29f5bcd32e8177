package gwc.owasp.api_key_in_query_test

import data.gwc.owasp.api_key_in_query

test_flags_query if {
	r := api_key_in_query.deny with input as {"securitySchemes": {"k": {"type": "apiKey", "in": "query", "paramName": "key", "pointer": "/components/securitySchemes/k"}}}
	[f.pointer | some f in r] == ["/components/securitySchemes/k/in"]
}

test_escapes_the_name if {
	r := api_key_in_query.deny with input as {"securitySchemes": {"a/b~c": {"type": "apiKey", "in": "query", "paramName": "key"}}}
	[f.pointer | some f in r] == ["/components/securitySchemes/a~1b~0c/in"]
}

test_header_passes if {
	count(api_key_in_query.deny) == 0 with input as {"securitySchemes": {"k": {"type": "apiKey", "in": "header"}}}
}
