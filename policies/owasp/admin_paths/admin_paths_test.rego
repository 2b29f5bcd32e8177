package gwc.owasp.admin_paths_test

import data.gwc.owasp.admin_paths

test_flags_public_admin if {
	r := admin_paths.deny with input as {"operations": [{"operationId": "a", "pointer": "/paths/~1v1~1Admin~1users/post", "method": "POST", "fullPath": "/v1/Admin/users", "security": []}]}
	[f.pointer | some f in r] == ["/paths/~1v1~1Admin~1users/post"]
}

test_authenticated_admin_passes if {
	count(admin_paths.deny) == 0 with input as {"operations": [{"operationId": "a", "method": "POST", "fullPath": "/v1/admin/users", "security": [[{"scheme": "k"}]]}]}
}

test_lookalike_passes if {
	count(admin_paths.deny) == 0 with input as {"operations": [{"operationId": "a", "method": "GET", "fullPath": "/v1/administrators-guide", "security": []}]}
}
