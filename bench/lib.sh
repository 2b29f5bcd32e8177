# bench/lib.sh: what the benchmark scripts share. Sourced by proxy.sh, instructions.sh and pgo.sh, after they
# set tmp (their temporary directory) and NGINX (the nginx binary).

# UPSTREAM_BODY is what the upstream answers: 105 bytes of JSON.
UPSTREAM_BODY='{"data":[{"id":1,"name":"alpha","status":"active"},{"id":2,"name":"betas","status":"idle"}],"more":false}'

# upstream_nginx ADDR: starts an nginx (1 worker, keep-alive) answering UPSTREAM_BODY on ADDR, its files in
# $tmp/up; sets nginx_pid (stop it with kill -TERM, so that the master takes its worker with it).
upstream_nginx() {
	mkdir -p "$tmp/up"
	cat >"$tmp/up/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $tmp/up/nginx.pid;
error_log $tmp/up/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $tmp/up/body;
	keepalive_requests 1000000;
	server {
		listen $1;
		location / { default_type application/json; return 200 '$UPSTREAM_BODY'; }
	}
}
CONF
	"$NGINX" -p "$tmp/up" -c "$tmp/up/nginx.conf" -e "$tmp/up/error.log" >"$tmp/up/out.log" 2>&1 &
	nginx_pid=$!
}

# wrk_scripts: writes $tmp/post.lua, the 1 KB JSON body of the full-chain target (DESIGN §7) sent as a POST, and
# $tmp/chain.lua, the same with the API key of bench/testdata/proxy.yaml's /chain, where gwc checks the key, takes
# the request from a rate limit (in memory, never spent in a run) and validates the body.
wrk_scripts() {
	cat >"$tmp/post.lua" <<'LUA'
local items = {}
for i = 1, 11 do
	items[#items + 1] = string.format('{"id":%d,"name":"item-%04d","price":%d.99,"tags":["a","b"],"ok":true}', i, i, i * 3)
end
wrk.method = "POST"
wrk.body = '{"order":"ord_0123456789","items":[' .. table.concat(items, ",") .. '],"note":"x"}'
wrk.headers["Content-Type"] = "application/json"
LUA
	{ cat "$tmp/post.lua"; echo 'wrk.headers["X-API-Key"] = "bench-key-0123456789abcdef"'; } >"$tmp/chain.lua"
}

# need_debian COMMAND:PACKAGE...: installs the Debian package of each command that is missing (as root, with
# apt-get), or dies saying what to install. die is the calling script's.
need_debian() {
	local need=() c
	for c in "$@"; do
		command -v "${c%%:*}" >/dev/null || [ -x "/usr/sbin/${c%%:*}" ] || need+=("${c#*:}")
	done
	[ ${#need[@]} -eq 0 ] && return 0
	[ "$(id -u)" = 0 ] || die "missing ${need[*]}: install them (apt-get install ${need[*]}) or run as root"
	command -v apt-get >/dev/null || die "missing ${need[*]} and no apt-get to install them"
	echo "installing ${need[*]}..." >&2
	apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
		die "apt-get install ${need[*]} failed"
}

# stop_all: kills the processes in pids and stops the upstream nginx of upstream_nginx.
stop_all() {
	local p
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	# TERM, not KILL, so that nginx's master takes its worker with it.
	if [ -n "${nginx_pid:-}" ]; then kill -TERM "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null || true; fi
}
