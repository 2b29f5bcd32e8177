package gwc.owasp.api_key_in_query_test

import data.gwc.owasp.api_key_in_query

test_flags_query if {
	count(api_key_in_query.deny) == 1 with input as {"securitySchemes": {"k": {"type": "apiKey", "in": "query", "paramName": "key"}}}
}

test_header_passes if {
	count(api_key_in_query.deny) == 0 with input as {"securitySchemes": {"k": {"type": "apiKey", "in": "header"}}}
}
