#!/usr/bin/env bash
# pgo.sh: makes the CPU profile the Go compiler optimises gwc's binaries with (profile-guided optimisation:
# `go build` reads default.pgo beside a main package). It builds gwc-serve without a profile, serves
# bench/testdata/proxy.yaml in front of a loopback nginx on each engine, takes a CPU profile from its admin
# listener under bench/proxy.sh's three loads (GET, POST 1 KB validated, the full chain), merges the profiles and
# writes them to cmd/gwc-serve/default.pgo and cmd/gwc/default.pgo (gwc serve is the same runtime).
#
#   bench/pgo.sh              # then commit both default.pgo files
#
# Settings: SECONDS_PER_LOAD=4, BASE_PORT=18580. Needs nginx, wrk and curl (Debian packages; installed when
# missing, as root). Run it again when the request path changes much: a stale profile still builds, and optimises less.
set -euo pipefail
SECONDS_PER_LOAD=${SECONDS_PER_LOAD:-4}
BASE_PORT=${BASE_PORT:-18580}
repo=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "pgo.sh: $*" >&2; exit 1; }

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
need_debian nginx:nginx-light wrk:wrk curl:curl
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

tmp=$(mktemp -d /tmp/gwc-pgo.XXXXXX)
pids=()
nginx_pid=
trap 'stop_all; rm -rf "$tmp"' EXIT

(cd "$repo" && go build -pgo=off -o "$tmp/gwc" ./cmd/gwc && go build -pgo=off -o "$tmp/gwc-serve" ./cmd/gwc-serve) ||
	die "building gwc failed"

UPSTREAM=127.0.0.1:$BASE_PORT
upstream_nginx "$UPSTREAM"

sed "s/UPSTREAM_ADDR/$UPSTREAM/" "$repo/bench/testdata/proxy.yaml" >"$tmp/proxy.yaml"
"$tmp/gwc" build "$tmp/proxy.yaml" -o "$tmp/proxy.gwb" 2>/dev/null || die "gwc build of the benchmark spec failed"
wrk_scripts # bench/proxy.sh's POST and chain requests
export GWC_BENCH_KEYS=bench:bench-key-0123456789abcdef

port=$((BASE_PORT + 1)) admin=$((BASE_PORT + 2))
profiles=()
for engine in loop goroutine; do
	GOMAXPROCS=2 "$tmp/gwc-serve" "$tmp/proxy.gwb" --engine "$engine" --listen "127.0.0.1:$port" \
		--admin "127.0.0.1:$admin" --pprof >"$tmp/serve.$engine.log" 2>&1 &
	pids+=($!)
	up=
	for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/hello?limit=10" >/dev/null 2>&1 && up=1 && break; sleep 0.1; done
	[ -n "$up" ] || die "gwc-serve ($engine) did not answer: $(tail -3 "$tmp/serve.$engine.log")"
	curl -fs -o "$tmp/$engine.pb.gz" "http://127.0.0.1:$admin/debug/pprof/profile?seconds=$((3 * SECONDS_PER_LOAD))" &
	prof=$!
	sleep 0.2
	wrk -t2 -c64 -d"${SECONDS_PER_LOAD}s" -s "$tmp/chain.lua" "http://127.0.0.1:$port/chain" >/dev/null
	wrk -t2 -c64 -d"${SECONDS_PER_LOAD}s" -s "$tmp/post.lua" "http://127.0.0.1:$port/hello?limit=10" >/dev/null
	wrk -t2 -c64 -d"${SECONDS_PER_LOAD}s" "http://127.0.0.1:$port/hello?limit=10" >/dev/null
	wait "$prof" || die "the profile of the $engine engine could not be taken"
	kill "${pids[-1]}" && wait "${pids[-1]}" 2>/dev/null || true
	profiles+=("$tmp/$engine.pb.gz")
done
go tool pprof -proto "${profiles[@]}" >"$tmp/default.pgo" 2>/dev/null || die "merging the profiles failed"
cp "$tmp/default.pgo" "$repo/cmd/gwc-serve/default.pgo"
cp "$tmp/default.pgo" "$repo/cmd/gwc/default.pgo"
echo "wrote cmd/gwc-serve/default.pgo and cmd/gwc/default.pgo ($(wc -c <"$tmp/default.pgo") bytes)"
