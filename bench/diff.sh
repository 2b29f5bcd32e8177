#!/usr/bin/env bash
# diff.sh: gwc diff against oasdiff breaking on two real versions of the OpenAI 3.1 spec (the corpus's
# openai-3.1-2026-05.yaml.gz, three months older, and openai-3.1.yaml.gz), timed by hyperfine: wall time of the
# whole process, both specs loaded, compared and the report printed.
#
#   bench/diff.sh
#   RUNS=20 OASDIFF_VERSION=v1.39.0 bench/diff.sh
#
# oasdiff is built from the Go module proxy into a temporary GOBIN (go install ...@OASDIFF_VERSION), never
# committed. Exit codes are ignored: both tools may exit non-zero on breaking changes. gwc runs with --fail-on
# none and its default text output; oasdiff with its default text output. Also prints how many breaking changes
# each reports. Settings: RUNS=10, WARMUP=2, OASDIFF_VERSION=v1.39.0, KEEP=0. Needs hyperfine (Debian package;
# installed when missing, as root).
set -euo pipefail
RUNS=${RUNS:-10}
WARMUP=${WARMUP:-2}
OASDIFF_VERSION=${OASDIFF_VERSION:-v1.39.0}
KEEP=${KEEP:-0}
repo=$(cd "$(dirname "$0")/.." && pwd)
corpus=${GWC_CORPUS:-$repo/../shared/corpus}
die() { echo "diff.sh: $*" >&2; exit 1; }
[ -f "$corpus/openai-3.1.yaml.gz" ] && [ -f "$corpus/openai-3.1-2026-05.yaml.gz" ] ||
	die "the two OpenAI versions are not in $corpus (set GWC_CORPUS)"

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
need_debian hyperfine:hyperfine

tmp=$(mktemp -d /tmp/gwc-diffbench.XXXXXX)
cleanup() { if [ "$KEEP" = 1 ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi; }
trap cleanup EXIT

gunzip -c "$corpus/openai-3.1-2026-05.yaml.gz" >"$tmp/old.yaml"
gunzip -c "$corpus/openai-3.1.yaml.gz" >"$tmp/new.yaml"
(cd "$repo" && go build -o "$tmp/gwc" ./cmd/gwc) || die "building gwc failed"
echo "building oasdiff $OASDIFF_VERSION from the Go module proxy..." >&2
(cd "$tmp" && GOBIN="$tmp" GOFLAGS=-mod=mod go install "github.com/oasdiff/oasdiff@$OASDIFF_VERSION") ||
	die "go install github.com/oasdiff/oasdiff@$OASDIFF_VERSION failed"

cd "$tmp"
./gwc diff --fail-on none old.yaml new.yaml >gwc.txt || true
./oasdiff breaking old.yaml new.yaml >oasdiff.txt || true
gwc_breaking=$(tail -n 1 gwc.txt)
oas_breaking=$(sed -n 1p oasdiff.txt)
echo "gwc diff:         $gwc_breaking"
echo "oasdiff breaking: $oas_breaking"
hyperfine --runs "$RUNS" --warmup "$WARMUP" -i --export-markdown "$tmp/result.md" \
	-n "gwc diff" "./gwc diff --fail-on none old.yaml new.yaml" \
	-n "oasdiff breaking" "./oasdiff breaking old.yaml new.yaml"
cat "$tmp/result.md"
