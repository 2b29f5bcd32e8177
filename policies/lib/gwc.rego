# METADATA
# title: helpers shared by gwc's policies
# description: Functions over the policy input (docs/policy-input.md). Not a policy itself.
package gwc.lib

# token escapes s as one JSON pointer reference token (RFC 6901): a name
# in a finding's pointer ("/components/securitySchemes/" + token(name)).
token(s) := replace(replace(s, "~", "~0"), "/", "~1")

# source is the pointer of the x-gateway member that sets field of the
# operation's effective policy (op.policySources), else the operation's.
source(op, field) := object.get(object.get(op, "policySources", {}), field, op.pointer)

# is_loopback is true for a host that never leaves the machine.
is_loopback(host) if host == "localhost"

is_loopback(host) if startswith(host, "127.")

is_loopback(host) if host == "[::1]"

is_loopback(host) if host == "::1"

# url_host is the host of an http(s) URL, without the port.
url_host(url) := host if {
	rest := trim_prefix(trim_prefix(url, "https://"), "http://")
	hostport := split(rest, "/")[0]
	not startswith(hostport, "[")
	host := split(hostport, ":")[0]
}

url_host(url) := host if {
	rest := trim_prefix(trim_prefix(url, "https://"), "http://")
	hostport := split(rest, "/")[0]
	startswith(hostport, "[")
	host := concat("", [split(hostport, "]")[0], "]"])
}

# authenticated is true for an operation that needs credentials.
authenticated(op) if count(op.security) > 0

# is_write is true for the methods that carry a body to create or change.
is_write(op) if op.method in {"POST", "PUT", "PATCH"}

# request_schemas are the lowered JSON Schema roots of an operation's
# request: parameters and body media types, and the definitions they reach
# (input.defs[name] for name in op.defs), each as [where, schema].
request_schemas(op) := array.concat(
	array.concat(
		[[sprintf("/%s/%s", [p["in"], p.name]), p.schema] | some p in op.params; p.schema],
		[[sprintf("/body(%s)", [c.type]), c.schema] | some c in object.get(op, ["body", "content"], []); c.schema],
	),
	[[sprintf("/$defs/%s", [d]), input.defs[d]] | some d in op.defs],
)

# schema_nodes are every schema object below the request's roots, as
# [where, node]: walked as JSON, so that every nested keyword is reached.
schema_nodes(op) := [[where, node] |
	some pair in request_schemas(op)
	walk(pair[1], [path, node])
	is_object(node)
	where := concat("/", array.concat([pair[0]], [sprintf("%v", [x]) | some x in path]))
]

# has_type is true when schema node declares type t (alone or among others).
has_type(node, t) if node.type == t

has_type(node, t) if {
	is_array(node.type)
	t in node.type
}
