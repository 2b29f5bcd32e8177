#!/usr/bin/env bash
# Runs every check CI runs, in order, stopping at the first failure. CI calls
# it through .ci/run on a clean clone with ../shared beside it; tests that need
# ../shared skip where it is absent.
#
# A check is one `step NAME COMMAND...` line at the bottom; put anything longer
# than a line in a function above it.
set -euo pipefail
cd "$(dirname "$0")/.."
# The tests build without the binaries' CPU profile (cmd/*/default.pgo): a
# main package's tests would otherwise compile every dependency a second time,
# with it, for no difference in what they check.
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-pgo=off"

# step runs one check, announcing it and how long it took. A failing command
# inside the check ends the script (set -e), and the EXIT trap names the step.
step() {
	current_step=$1
	step_start=$SECONDS
	shift
	printf '==> %s\n' "$current_step"
	"$@"
	printf 'ok   %s (%ds)\n' "$current_step" $((SECONDS - step_start))
	current_step=
}
current_step=
trap 'if [[ -n $current_step ]]; then printf "FAIL %s (%ds)\n" "$current_step" $((SECONDS - step_start)) >&2; fi' EXIT

# gofmt_check fails listing the Go files gofmt would change (testdata holds
# inputs, which need not be formatted).
gofmt_check() {
	local files
	files=$(find . -name '*.go' -not -path './.git/*' -not -path './.tools/*' \
		-not -path './dist/*' -not -path '*/testdata/*' -print0 | xargs -0 gofmt -l)
	if [[ -n $files ]]; then
		printf 'not gofmt-ed (run gofmt -w):\n%s\n' "$files" >&2
		return 1
	fi
}

# runtime_imports enforces DESIGN §1: the runtime ships alone, so nothing under
# runtime/ may depend on the compiler, lint, policies, OPA or kin-openapi.
# It prints each import edge that crosses the line.
runtime_imports() {
	local bad
	bad=$(go list -deps -f '{{.ImportPath}}{{range .Imports}} {{.}}{{end}}' ./runtime/... | awk '
		{
			for (i = 2; i <= NF; i++) {
				if ($i ~ /^github\.com\/gwcdev\/gwc\/(compiler|lint|policies)(\/|$)/ ||
				    $i ~ /^github\.com\/open-policy-agent\/opa(\/|$)/ ||
				    $i ~ /^github\.com\/getkin\/kin-openapi(\/|$)/)
					print "  " $1 " imports " $i
			}
		}')
	if [[ -n $bad ]]; then
		printf 'runtime/... must not depend on compiler, lint, policies, OPA or kin-openapi:\n%s\n' "$bad" >&2
		return 1
	fi
}

# stdio_rule enforces STYLE §2.8: only programs (cmd/, and the package main
# tools under bench/) touch the process's standard streams; every library
# writes to the io.Writer it is given.
stdio_rule() {
	local bad
	bad=$(grep -rlE --include='*.go' --exclude='*_test.go' 'os\.(Stdout|Stderr|Stdin)\b' . \
		--exclude-dir=.git --exclude-dir=.tools --exclude-dir=dist --exclude-dir=testdata | grep -v '^\./cmd/' |
		xargs -r grep -L '^package main$' || true)
	if [[ -n $bad ]]; then
		printf 'only cmd/ may use os.Stdout, os.Stderr or os.Stdin; found in:\n%s\n' "$bad" >&2
		return 1
	fi
}

# go_test runs every package's tests. runtime/... also runs under the race
# detector: it is the concurrent code (engines, server, reload, limits) and,
# without OPA and kin-openapi in its dependencies, cheap to build with -race.
# The rest runs without it, which keeps a clean 2-core CI run short.
# runtime/server's tests, the attack suite among them, run on both engines.
go_test() {
	local pkgs
	pkgs=$(go list ./... | grep -v '^github\.com/gwcdev/gwc/runtime\(/\|$\)')
	go test -timeout 10m $pkgs
	go test -timeout 10m -race ./runtime/...
	# The server's tests once more, on the goroutine engine (gwc serve
	# --engine goroutine; the loop engine is the default).
	GWC_TEST_ENGINE=goroutine go test -timeout 10m -race ./runtime/server/
}

# ensure_redis_server installs Debian's redis-server when it is missing: the
# runtime's rate-limit tests start real Redis servers on loopback (each its
# own, on a free port; none is left running).
ensure_redis_server() {
	command -v redis-server >/dev/null && return 0
	if [[ $(id -u) != 0 ]]; then
		printf 'redis-server is missing: apt-get install redis-server (or run this script as root)\n' >&2
		return 1
	fi
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null 2>&1; then
		apt-get update -qq >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null
	fi
	redis-server --version
}

# The checks, in order.
step "redis-server" ensure_redis_server
step "gofmt" gofmt_check
step "go vet" go vet ./...
step "runtime import rule" runtime_imports
step "stdio rule" stdio_rule
if scripts/fetch-schemas.sh >/dev/null; then export GWC_REQUIRE_SCHEMAS=1; fi # published report schemas, docs/ci.md
step "go test" go_test
step "policy tests" go run ./cmd/gwc policy test policies/
