#!/usr/bin/env bash
# instructions.sh: user-space CPU instructions per proxied request, counted by valgrind's callgrind, for gwc serve
# on each engine, GET, POST 1 KB JSON and the full chain (the requests of bench/proxy.sh), in front of one loopback
# nginx.
# Instruction counts do not move with the load of a shared machine as req/s and CPU time do, so this is the
# measure to compare two builds of gwc by; proxy.sh is the side-by-side comparison with nginx. The kernel's share
# (the socket system calls, about half of a proxied request's CPU) is not counted.
#
#   bench/instructions.sh                        # gwc (this checkout) on each engine
#   bench/instructions.sh 'old=/path/to/gwc-serve $BUNDLE --listen 127.0.0.1:$PORT --admin off'   # more candidates
#
# Settings: N=4000 requests (after 400 of warm-up), C=4 connections, BASE_PORT=18280; KEEP=DIR keeps the callgrind
# output files there (for callgrind_annotate). Needs valgrind and nginx
# (Debian packages; installed when missing, as root).
set -euo pipefail
N=${N:-4000}
C=${C:-4}
BASE_PORT=${BASE_PORT:-18280}
repo=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "instructions.sh: $*" >&2; exit 1; }

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
need_debian valgrind:valgrind nginx:nginx-light
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

tmp=$(mktemp -d /tmp/gwc-instr.XXXXXX)
pids=()
nginx_pid=
trap 'stop_all; rm -rf "$tmp"' EXIT

BIN=$tmp/bin
mkdir -p "$BIN"
(cd "$repo" && go build -o "$BIN/gwc" ./cmd/gwc && go build -o "$BIN/gwc-serve" ./cmd/gwc-serve &&
	go build -o "$BIN/loadgen" ./bench/loadgen) ||
	die "building failed"

UPSTREAM=127.0.0.1:$BASE_PORT
upstream_nginx "$UPSTREAM"

BUNDLE=$tmp/proxy.gwb
sed "s/UPSTREAM_ADDR/$UPSTREAM/" "$repo/bench/testdata/proxy.yaml" >"$tmp/proxy.yaml"
"$BIN/gwc" build "$tmp/proxy.yaml" -o "$BUNDLE" 2>/dev/null || die "gwc build of the benchmark spec failed"
# bench/proxy.sh's 1 KB POST body.
python3 -c '
items = ["{\"id\":%d,\"name\":\"item-%04d\",\"price\":%d.99,\"tags\":[\"a\",\"b\"],\"ok\":true}" % (i, i, i * 3) for i in range(1, 12)]
print("{\"order\":\"ord_0123456789\",\"items\":[" + ",".join(items) + "],\"note\":\"x\"}", end="")' >"$tmp/body.json" 2>/dev/null ||
	die "python3 is needed to write the POST body"

candidates=("$@")
if [ ${#candidates[@]} -eq 0 ]; then
	candidates=(
		'gwc=$BIN/gwc-serve $BUNDLE --listen 127.0.0.1:$PORT --admin off'
		'gwc-goroutine=$BIN/gwc-serve $BUNDLE --engine goroutine --listen 127.0.0.1:$PORT --admin off'
	)
fi
# The API key of proxy.yaml's /chain operation.
export GWC_BENCH_KEYS=bench:bench-key-0123456789abcdef
export BIN BUNDLE UPSTREAM

# count NAME MODE COMMAND: runs COMMAND under callgrind, sends 400 requests, zeroes the counters, sends N, dumps.
count() {
	local name=$1 mode=$2 cmd=$3 port=$((BASE_PORT + 1)) post=()
	case $mode in
	post) post=(-post "$tmp/body.json") ;;
	# The full chain: gwc checks the API key, takes the rate limit and validates the body; others proxy it.
	chain) post=(-post "$tmp/body.json" -path /chain -header "X-API-Key: bench-key-0123456789abcdef") ;;
	esac
	PORT=$port GODEBUG=asyncpreemptoff=1 GOMAXPROCS=2 bash -c "exec valgrind --tool=callgrind --callgrind-out-file=$tmp/cg.$name.$mode.out $cmd" \
		>"$tmp/cg.$name.log" 2>&1 &
	local vp=$!
	pids+=("$vp")
	for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
	"$BIN/loadgen" -addr "127.0.0.1:$port" -n 400 -c "$C" "${post[@]}"
	callgrind_control -z "$vp" >/dev/null 2>&1
	"$BIN/loadgen" -addr "127.0.0.1:$port" -n "$N" -c "$C" "${post[@]}"
	callgrind_control -d "$vp" >/dev/null 2>&1
	sleep 0.5
	# Callgrind cannot follow Go's signal handling through a graceful stop; the dump above has the counts.
	kill -9 "$vp" 2>/dev/null || true
	wait "$vp" 2>/dev/null || true
	local out
	out=$(ls -t "$tmp"/cg."$name"."$mode".out.* | head -n1)
	[ -z "${KEEP:-}" ] || { mkdir -p "$KEEP" && cp "$out" "$KEEP/$name.$mode.out"; }
	awk -v n="$N" '/^totals:/ { printf "%.0f", $2 / n }' "$out"
}

echo "| target | GET instructions/request | POST 1 KB instructions/request | chain instructions/request |"
echo "| --- | --- | --- | --- |"
for c in "${candidates[@]}"; do
	case $c in *=*) ;; *) die "candidate $c is not name=command" ;; esac
	name=${c%%=*}
	echo "| $name | $(count "$name" get "${c#*=}") | $(count "$name" post "${c#*=}") | $(count "$name" chain "${c#*=}") |"
done
echo
echo "valgrind --tool=callgrind, user space only; $N requests over $C connections after 400 of warm-up; GOMAXPROCS=2."
