#!/usr/bin/env bash
# Checks the release setup without publishing anything: validates
# .goreleaser.yaml, builds a snapshot of every target into dist/, and checks
# that the host's binary reports the version goreleaser gave the snapshot.
# goreleaser itself is installed into .tools/bin (git-ignored) on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

# The pinned goreleaser. v2.17.0+ pulls go.digitalxero.dev/go-msix (through
# nfpm v2.47), which the Go module proxy does not serve here; v2.18+ also needs
# Go 1.27. Change it here only.
GORELEASER_VERSION=v2.16.0
TOOLS_BIN=$PWD/.tools/bin
GORELEASER=$TOOLS_BIN/goreleaser
# The platforms .goreleaser.yaml builds, as GOOS_GOARCH.
TARGETS="darwin_amd64 darwin_arm64 linux_amd64 linux_arm64 windows_amd64 windows_arm64"

# timed runs a command and prints how long it took.
timed() {
	local name=$1 start=$SECONDS
	shift
	printf '==> %s\n' "$name"
	"$@"
	printf 'ok   %s (%ds)\n' "$name" $((SECONDS - start))
}

# installed_version prints the module version of the goreleaser in .tools/bin,
# or nothing when there is none.
installed_version() {
	[[ -x $GORELEASER ]] || return 0
	go version -m "$GORELEASER" 2>/dev/null | awk '$1 == "mod" { print $3 }'
}

if [[ $(installed_version) != "$GORELEASER_VERSION" ]]; then
	timed "install goreleaser $GORELEASER_VERSION" \
		env GOBIN="$TOOLS_BIN" go install "github.com/goreleaser/goreleaser/v2@$GORELEASER_VERSION"
else
	printf 'goreleaser %s already in %s\n' "$GORELEASER_VERSION" "$TOOLS_BIN"
fi

timed "goreleaser check" "$GORELEASER" check
timed "goreleaser build --snapshot" "$GORELEASER" build --snapshot --clean

# The version goreleaser assigned, from dist/metadata.json ({"version":"..."}).
snapshot=$(grep -o '"version": *"[^"]*"' dist/metadata.json | head -n1 | sed 's/.*"\([^"]*\)"$/\1/')
if [[ -z $snapshot ]]; then
	echo "no version in dist/metadata.json" >&2
	exit 1
fi

if [[ $snapshot == *-none ]]; then
	# goreleaser falls back to commit "none" when it cannot read the git
	# state, such as in a clone without a remote; a CI clone has one.
	echo "warning: goreleaser could not read the commit (no git remote?); binaries report commit \"none\"" >&2
fi

host=$(go env GOOS)_$(go env GOARCH)
# internal/version spells versions with a leading v.
want="gwc v${snapshot#v} ("
for name in gwc gwc-serve; do
	exe=$name
	[[ $(go env GOOS) == windows ]] && exe=$name.exe
	# amd64 build directories carry the microarchitecture level, gwc_linux_amd64_v1.
	bin=$(find dist -type f -path "dist/${name}_${host}*/$exe" | head -n1)
	if [[ -z $bin ]]; then
		echo "no $exe for $host under dist/" >&2
		exit 1
	fi
	if [[ $name == gwc ]]; then
		got=$("$bin" version)
	else
		got=$("$bin" --version)
	fi
	if [[ $got != "$want"* ]]; then
		printf '%s version = %q, want it to start with %q\n' "$bin" "$got" "$want" >&2
		exit 1
	fi
	printf '%s version: %s\n' "$bin" "$got"
done

echo "targets built:"
missing=0
for name in gwc gwc-serve; do
	for t in $TARGETS; do
		exe=$name
		[[ $t == windows_* ]] && exe=$name.exe
		f=$(find dist -type f -path "dist/${name}_${t}*/$exe" | head -n1)
		if [[ -z $f ]]; then
			printf '  %s %s: missing\n' "$name" "$t" >&2
			missing=1
		else
			printf '  %-10s %-14s %s (%s bytes)\n' "$name" "$t" "$f" "$(wc -c <"$f" | tr -d ' ')"
		fi
	done
done
exit $missing
