#!/usr/bin/env bash
# lint.sh: gwc lint against Spectral, Redocly and (where it builds) vacuum on the same specs, in one run: wall
# time (process start included) and peak RSS of each, median of RUNS, with ratios to the fastest anchor.
#
#   bench/lint.sh                 # the corpus specs of ../shared/corpus: OpenAI, Twilio v2010, DigitalOcean, a small one
#   RUNS=5 bench/lint.sh
#   TOOLS="gwc redocly" bench/lint.sh
#
# Spectral (@stoplight/spectral-cli, ruleset `extends: ["spectral:oas"]`) and Redocly (@redocly/cli, `recommended`)
# are installed from the npm registry into a temporary folder; vacuum is built from source with `go build` in a
# scratch module (its npm package downloads a binary from the internet, which fails here). Every tool runs with
# its default rules; gwc with all its rules. Exit codes are ignored: linters exit non-zero on findings.
# Settings: RUNS=3, TOOLS="gwc spectral redocly vacuum", SPECTRAL_VERSION, REDOCLY_VERSION, VACUUM_VERSION, KEEP=0.
set -euo pipefail

RUNS=${RUNS:-3}
TOOLS=${TOOLS:-gwc spectral redocly vacuum}
SPECTRAL_VERSION=${SPECTRAL_VERSION:-6.16.3}
REDOCLY_VERSION=${REDOCLY_VERSION:-2.77.0}
VACUUM_VERSION=${VACUUM_VERSION:-v0.30.3}
KEEP=${KEEP:-0}

repo=$(cd "$(dirname "$0")/.." && pwd)
corpus=${GWC_CORPUS:-$repo/../shared/corpus}
die() { echo "lint.sh: $*" >&2; exit 1; }
[ -d "$corpus" ] || die "the spec corpus is not at $corpus (set GWC_CORPUS)"
[ -x /usr/bin/time ] || die "GNU time (/usr/bin/time) is needed for peak RSS: apt-get install time"

tmp=$(mktemp -d /tmp/gwc-lintbench.XXXXXX)
cleanup() { if [ "$KEEP" = 1 ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi; }
trap cleanup EXIT

# The specs, unpacked once.
mkdir -p "$tmp/specs"
gunzip -c "$corpus/openai-3.1.yaml.gz" >"$tmp/specs/openai.yaml"
gunzip -c "$corpus/twilio-api-v2010-3.0.yaml.gz" >"$tmp/specs/twilio.yaml"
tar -xzf "$corpus/digitalocean-multifile-3.0.tar.gz" -C "$tmp/specs"
cp "$corpus/oai-petstore-expanded-3.0.yaml" "$tmp/specs/petstore.yaml"
specs=(
	"openai=$tmp/specs/openai.yaml"
	"twilio=$tmp/specs/twilio.yaml"
	"digitalocean=$tmp/specs/digitalocean/specification/DigitalOcean-public.v2.yaml"
	"small=$tmp/specs/petstore.yaml"
)

# The tools.
declare -A cmd
(cd "$repo" && go build -o "$tmp/gwc" ./cmd/gwc) || die "building gwc failed"
cmd[gwc]="$tmp/gwc lint --no-config --fail-on none"
for t in $TOOLS; do
	case $t in
	gwc) ;;
	spectral | redocly)
		if [ ! -d "$tmp/npm/node_modules" ]; then
			echo "installing @stoplight/spectral-cli@$SPECTRAL_VERSION and @redocly/cli@$REDOCLY_VERSION from npm..." >&2
			mkdir -p "$tmp/npm"
			(cd "$tmp/npm" && npm install --silent --no-audit --no-fund "@stoplight/spectral-cli@$SPECTRAL_VERSION" \
				"@redocly/cli@$REDOCLY_VERSION" >/dev/null 2>&1) || die "npm install failed"
		fi
		if [ "$t" = spectral ]; then
			echo 'extends: ["spectral:oas"]' >"$tmp/spectral.yaml"
			cmd[spectral]="$tmp/npm/node_modules/.bin/spectral lint --quiet -r $tmp/spectral.yaml"
		else
			cmd[redocly]="$tmp/npm/node_modules/.bin/redocly lint --extends=recommended --max-problems=100000"
		fi
		;;
	vacuum)
		echo "building vacuum $VACUUM_VERSION from source..." >&2
		mkdir -p "$tmp/vacuum"
		if (cd "$tmp/vacuum" && go mod init vacuumbuild >/dev/null 2>&1 && go get "github.com/daveshanley/vacuum@$VACUUM_VERSION" >/dev/null 2>&1 &&
			go build -o "$tmp/vacuum-bin" github.com/daveshanley/vacuum >/dev/null 2>&1); then
			cmd[vacuum]="$tmp/vacuum-bin lint"
		else
			echo "vacuum did not build; left out" >&2
		fi
		;;
	*) die "unknown tool $t" ;;
	esac
done

# measure TOOL SPEC: RUNS runs, median wall seconds and median peak RSS in MiB.
measure() {
	local tool=$1 spec=$2 times=() rss=() i out
	for i in $(seq "$RUNS"); do
		/usr/bin/time -o "$tmp/time.out" -f "%e %M" ${cmd[$tool]} "$spec" >/dev/null 2>&1 || true
		out=$(tail -n1 "$tmp/time.out")
		times+=("${out% *}")
		rss+=("${out#* }")
	done
	printf '%s %s\n' "$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')" \
		"$(printf '%s\n' "${rss[@]}" | sort -n | awk '{a[NR] = $1} END {printf "%.0f", a[int((NR + 1) / 2)] / 1024}')"
}

echo "median of $RUNS runs, wall time with process start, peak RSS; $(nproc) cores" >&2
echo "| spec | tool | time s | peak RSS MiB | time ÷ fastest other | RSS ÷ smallest other |"
echo "| --- | --- | --- | --- | --- | --- |"
for s in "${specs[@]}"; do
	name=${s%%=*} path=${s#*=}
	declare -A T=() M=()
	for t in $TOOLS; do
		[ -n "${cmd[$t]:-}" ] || continue
		read -r T[$t] M[$t] < <(measure "$t" "$path")
		echo "  $name $t: ${T[$t]} s, ${M[$t]} MiB" >&2
	done
	best_t="" best_m=""
	for t in "${!T[@]}"; do
		[ "$t" = gwc ] && continue
		if [ -z "$best_t" ] || awk -v a="${T[$t]}" -v b="$best_t" 'BEGIN {exit !(a < b)}'; then best_t=${T[$t]}; fi
		if [ -z "$best_m" ] || [ "${M[$t]}" -lt "$best_m" ]; then best_m=${M[$t]}; fi
	done
	for t in $TOOLS; do
		[ -n "${T[$t]:-}" ] || continue
		rt="-" rm="-"
		if [ "$t" = gwc ] && [ -n "$best_t" ]; then
			rt=$(awk -v a="${T[$t]}" -v b="$best_t" 'BEGIN {printf "%.3f", (b > 0 ? a / b : 0)}')
			rm=$(awk -v a="${M[$t]}" -v b="$best_m" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
		fi
		echo "| $name | $t | ${T[$t]} | ${M[$t]} | $rt | $rm |"
	done
	unset T M
done
echo
echo "targets (DESIGN §7): gwc ≤ 1/8 of the fastest anchor's time and below all of their peak RSS on OpenAI and"
echo "DigitalOcean; a small spec in ≤ 1/10 of Redocly's time and ≤ 50 ms, process start included."
