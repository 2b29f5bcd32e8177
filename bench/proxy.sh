#!/usr/bin/env bash
# proxy.sh: gwc serve's proxy benchmark (DESIGN §7, BASELINES §2), run side by side with nginx on loopback.
#
#   bench/proxy.sh                         # nginx and gwc on each engine: GET, POST and the full chain
#   bench/proxy.sh 'gwc=$BIN/gwc-serve $BUNDLE --listen 127.0.0.1:$PORT --admin off'   # chosen candidates
#
# A candidate is name=command. The command is run by bash with PORT (where it must listen), UPSTREAM (host:port
# of the upstream), BIN (where gwc and gwc-serve were built), BUNDLE (bench/testdata/proxy.yaml
# built for this upstream) and ADMIN_PORT (free for gwc's admin listener, where the script reads gwc's allocation
# totals) in its environment, so write them as '$PORT' etc. in single quotes.
# Prefix it with env to state GC settings: 'gwc-gogc400=env GOGC=400 $BIN/gwc-serve $BUNDLE ...'. Another build of
# gwc (an older commit's, say) is a candidate like any other command.
# Every target gets the same wrk load, in interleaved rounds; the table shows medians over rounds and ratios to
# nginx. CPU/req is the CPU time (utime+stime from /proc, also shown apart) of the target's processes divided by the requests wrk
# counted; the upstream's CPU is not included. Settings, from the environment:
#   ROUNDS=3 DURATION=10s WARMUP=2s THREADS=2 CONNS=64 MODES="get post chain" BASE_PORT=18080 KEEP=0 (keep temp dir)
#   (chain: gwc's full chain, API key + rate limit + 1 KB JSON body validated, against the others' plain proxy)
#   REPO=the gwc checkout to build from (default: this script's)
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
MODES=${MODES:-get post chain}
# The API key of the chain mode's spec (bench/testdata/proxy.yaml reads it from the environment).
export GWC_BENCH_KEYS=bench:bench-key-0123456789abcdef
BASE_PORT=${BASE_PORT:-18080}
KEEP=${KEEP:-0}

repo=${REPO:-$(cd "$(dirname "$0")/.." && pwd)}
die() { echo "proxy.sh: $*" >&2; exit 1; }

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
# nginx and wrk come from Debian's packages; installing them needs root.
need_debian nginx:nginx-light wrk:wrk
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
command -v go >/dev/null || die "go is not on PATH (needed to build gwc)"

tmp=$(mktemp -d /tmp/gwc-proxybench.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ "$KEEP" = 1 ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

BIN=$tmp/bin
export BIN
mkdir -p "$BIN"
(cd "$repo" && go build -o "$BIN/gwc" ./cmd/gwc && go build -o "$BIN/gwc-serve" ./cmd/gwc-serve) ||
	die "building gwc failed"

UPSTREAM=127.0.0.1:$BASE_PORT
export UPSTREAM

# gwc serves bench/testdata/proxy.yaml: GET /hello (a query parameter validated) and POST /hello (a 1 KB JSON body
# validated), built into $BUNDLE for this run's upstream.
BUNDLE=$tmp/proxy.gwb
export BUNDLE
sed "s/UPSTREAM_ADDR/$UPSTREAM/" "$repo/bench/testdata/proxy.yaml" >"$tmp/proxy.yaml"
"$BIN/gwc" build "$tmp/proxy.yaml" -o "$BUNDLE" 2>/dev/null || die "gwc build of the benchmark spec failed"

if [ $# -gt 0 ]; then
	candidates=("$@")
else
	candidates=(
		'gwc=env GOGC=100 GOMAXPROCS=2 $BIN/gwc-serve $BUNDLE --listen 127.0.0.1:$PORT --admin 127.0.0.1:$ADMIN_PORT'
		'gwc-goroutine=env GOGC=100 GOMAXPROCS=2 $BIN/gwc-serve $BUNDLE --engine goroutine --listen 127.0.0.1:$PORT --admin 127.0.0.1:$ADMIN_PORT'
	)
fi

# 105 bytes of JSON, as in BASELINES §2.
body=$UPSTREAM_BODY

nginx_conf() { # name port server-block
	mkdir -p "$tmp/$1"
	cat >"$tmp/$1/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $tmp/$1/nginx.pid;
error_log $tmp/$1/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $tmp/$1/body;
	proxy_temp_path $tmp/$1/proxy;
	fastcgi_temp_path $tmp/$1/fastcgi;
	uwsgi_temp_path $tmp/$1/uwsgi;
	scgi_temp_path $tmp/$1/scgi;
	keepalive_requests 1000000;
	$3
}
EOF
}

nginx_conf upstream "$BASE_PORT" "
	server {
		listen 127.0.0.1:$BASE_PORT;
		location / { default_type application/json; return 200 '$body'; }
	}"
nginx_conf nginx "$((BASE_PORT + 1))" "
	upstream up { server $UPSTREAM; keepalive 256; keepalive_requests 1000000; }
	server {
		listen 127.0.0.1:$((BASE_PORT + 1));
		location / {
			proxy_pass http://up;
			proxy_http_version 1.1;
			proxy_set_header Connection \"\";
			proxy_set_header Host \$host;
			proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
			proxy_set_header X-Forwarded-Proto \$scheme;
			proxy_set_header X-Forwarded-Host \$host;
		}
	}"

names=() ports=() tpids=()
start() { # name port command...
	local name=$1 port=$2
	shift 2
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then die "port $port is taken (set BASE_PORT)"; fi
	PORT=$port ADMIN_PORT=$((port + 500)) bash -c 'exec '"$*" >"$tmp/$name.out" 2>&1 &
	local pid=$!
	pids+=("$pid")
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
		kill -0 "$pid" 2>/dev/null || die "$name exited at start: $(tail -3 "$tmp/$name.out")"
		sleep 0.05
	done
	names+=("$name") ports+=("$port") tpids+=("$pid")
}

start upstream "$BASE_PORT" "$NGINX" -p "$tmp/upstream" -c "$tmp/upstream/nginx.conf" -e "$tmp/upstream/error.log"
start nginx "$((BASE_PORT + 1))" "$NGINX" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/error.log"
port=$((BASE_PORT + 2))
for c in "${candidates[@]}"; do
	case $c in *=*) ;; *) die "candidate $c is not name=command" ;; esac
	start "${c%%=*}" "$port" "${c#*=}"
	port=$((port + 1))
done

# wrk's POST and chain requests (lib.sh): the others proxy the chain's as they proxy everything.
wrk_scripts

# cputicks PID: utime and stime of PID and its descendants (nginx's worker is the master's child), "USER SYS".
cputicks() {
	local user=0 sys=0 p
	for p in "$1" $(pgrep -P "$1" 2>/dev/null || true); do
		[ -r "/proc/$p/stat" ] || continue
		# Fields after the ")" of comm: utime and stime are the 12th and 13th.
		read -r u s < <(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12, $13}')
		user=$((user + u)) sys=$((sys + s))
	done
	echo "$user $sys"
}
rsskb() {
	local total=0 p
	for p in "$1" $(pgrep -P "$1" 2>/dev/null || true); do
		[ -r "/proc/$p/status" ] && total=$((total + $(awk '/^VmRSS/{print $2}' "/proc/$p/status")))
	done
	echo "$total"
}
tohz=$(getconf CLK_TCK)

# to_ms converts wrk's latency ("812.00us", "2.81ms", "1.02s") to milliseconds.
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) ; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'; }

results=$tmp/results
served=()
: >"$results"
echo "wrk -t$THREADS -c$CONNS -d$DURATION --latency, $ROUNDS rounds, modes: $MODES; $(nproc) cores" >&2
for mode in $MODES; do
	script=() target=/hello?limit=10
	[ "$mode" = post ] && script=(-s "$tmp/post.lua")
	[ "$mode" = chain ] && script=(-s "$tmp/chain.lua") target=/chain
	for round in $(seq "$ROUNDS"); do
		for i in "${!names[@]}"; do
			name=${names[$i]} url="http://127.0.0.1:${ports[$i]}$target"
			w=$(wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" "${script[@]}" "$url" 2>&1 || true)
			served[$i]=$((${served[$i]:-0} + $(awk '/requests in/{n = $1} END {print n + 0}' <<<"$w")))
			c0=$(cputicks "${tpids[$i]}")
			out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "${script[@]}" "$url" 2>&1) || die "wrk against $name failed: $out"
			c1=$(cputicks "${tpids[$i]}")
			reqs=$(awk '/requests in/{print $1}' <<<"$out")
			served[$i]=$((${served[$i]:-0} + reqs))
			rps=$(awk '/^Requests\/sec/{print $2}' <<<"$out")
			p50=$(to_ms "$(awk '$1=="50%"{print $2}' <<<"$out")")
			p99=$(to_ms "$(awk '$1=="99%"{print $2}' <<<"$out")")
			errs=$(awk '/Non-2xx|Socket errors/{printf "%s ", $0}' <<<"$out")
			# CPU, user and system µs per request.
			read -r cpuus userus sysus < <(awk -v a="$c0" -v b="$c1" -v hz="$tohz" -v n="$reqs" 'BEGIN {
				split(a, x, " "); split(b, y, " "); u = y[1] - x[1]; s = y[2] - x[2]; f = n > 0 ? 1e6 / hz / n : 0
				printf "%.1f %.1f %.1f\n", (u + s) * f, u * f, s * f }')
			rss=$(rsskb "${tpids[$i]}")
			# Answers that are not 2xx/3xx, and socket errors: a target that fails requests is not faster for it.
			bad=$(awk '/Non-2xx or 3xx responses:/{n += $NF} /Socket errors:/{gsub(/,/, ""); n += $4 + $6 + $8 + $10} END {print n + 0}' <<<"$out")
			echo "$mode $name $round $rps $p50 $p99 $cpuus $((rss / 1024)) $bad $userus $sysus" >>"$results"
			printf '%-5s round %d %-14s %9s req/s  p50 %7s ms  p99 %7s ms  %6s µs/req  %s\n' \
				"$mode" "$round" "$name" "$rps" "$p50" "$p99" "$cpuus" "$errs" >&2
		done
	done
done

# Allocations per request served, all modes and warm-ups together, from gwc's admin listener; other targets
# (nginx, a gwc without an admin listener) get "-".
allocs=()
for i in "${!names[@]}"; do
	# gwc reports its allocation totals on its admin listener (go_memstats_* in /metrics), when it has one.
	if m=$(curl -fs "http://127.0.0.1:$((ports[$i] + 500))/metrics" 2>/dev/null); then
		awk '/^go_memstats_mallocs_total /{n = $2} /^go_memstats_alloc_bytes_total /{b = $2} END {if (n) print "mallocs", n, "bytes", b}' \
			<<<"$m" >"$tmp/${names[$i]}.allocs"
	fi
	kill -TERM "${tpids[$i]}" 2>/dev/null || true
	wait "${tpids[$i]}" 2>/dev/null || true
	allocs[$i]=$(cat "$tmp/${names[$i]}.out" "$tmp/${names[$i]}.allocs" 2>/dev/null |
		awk -v n="${served[$i]:-0}" '/^mallocs /{ if (n) printf "%.1f allocs, %.0f B", $2 / n, $4 / n }' || true)
done

# Medians per mode and target, then ratios to nginx.
echo
for mode in $MODES; do
	case $mode in
	post) what="POST 1 KB JSON" ;;
	chain) what="POST /chain: API key + rate limit + 1 KB JSON validated in gwc; a plain proxy elsewhere" ;;
	*) what="GET /hello?limit=10" ;;
	esac
	echo "## $mode ($what), wrk -t$THREADS -c$CONNS -d$DURATION, median of $ROUNDS"
	echo
	echo "| target | req/s | × nginx | × nginx, paired by round | p50 ms | p99 ms | p99 × nginx | CPU µs/req | CPU × nginx | user µs/req | system µs/req | RSS MiB | failed |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
	for name in "${names[@]}"; do
		awk -v m="$mode" -v n="$name" '$1==m && $2==n' "$results" | awk '
			function med(col,   i, j, t, a, k) {
				k = 0; for (i = 1; i <= NR; i++) a[++k] = v[i, col]
				for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
				return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
			}
			{ for (c = 1; c <= NF; c++) v[NR, c] = $c; bad += $9 }
			END { if (NR) print $2, med(4), med(5), med(6), med(7), med(8), bad + 0, med(10), med(11) }'
	done >"$tmp/med.$mode"
	# Paired: each round's req/s over nginx's in the same round (the targets of a round run back to back, so a
	# slow spell of the machine weighs on both), median and range over the rounds.
	awk -v m="$mode" '
		$1 != m { next }
		$2 == "nginx" { ng[$3] = $4; next }
		{ n[$2]++; v[$2, n[$2]] = $4; rd[$2, n[$2]] = $3 }
		END {
			for (t in n) {
				k = 0
				for (i = 1; i <= n[t]; i++) if (ng[rd[t, i]] > 0) a[++k] = v[t, i] / ng[rd[t, i]]
				for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { x = a[i]; a[i] = a[j]; a[j] = x }
				if (k) printf "%s %.2f %.2f–%.2f\n", t, k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2, a[1], a[k]
			}
		}' "$results" >"$tmp/paired.$mode"
	awk '
		FNR == 1 { f++ }
		f == 1 { pr[$1] = $2 " (" $3 ")"; next }
		f == 2 { if ($1 == "nginx") { r = $2; p = $4; c = $5 } ; next }
		{ printf "| %s | %.0f | %.2f | %s | %.2f | %.2f | %.2f | %.1f | %.2f | %.1f | %.1f | %d | %d |\n", $1, $2, r ? $2 / r : 0, $1 == "nginx" ? "1.00" : (pr[$1] ? pr[$1] : "-"), $3, $4, p ? $4 / p : 0, $5, c ? $5 / c : 0, $8, $9, $6, $7 }
	' "$tmp/paired.$mode" "$tmp/med.$mode" "$tmp/med.$mode"
	echo
done
echo "Allocations per request (gwc; GET and POST and warm-ups together; gwc's include its metrics' scrape):"
for i in "${!names[@]}"; do if [ -n "${allocs[$i]}" ]; then echo "- ${names[$i]}: ${allocs[$i]}"; fi; done
echo
echo "upstream: nginx 1 worker, return 200 of ${#body} bytes of JSON; nginx: 1 worker, proxy_http_version 1.1, keepalive 256."
echo "failed: non-2xx/3xx answers and socket errors over all rounds (wrk's counts); a target with failures is not comparable."
echo "CPU × nginx and p99 × nginx are the target's over nginx's (targets: req/s ≥ 1.0×, CPU ≤ 2×, p99 ≤ 1.2×)."
echo "× nginx is of the medians; paired by round, the median (and range) of each round's req/s over nginx's in that round."
