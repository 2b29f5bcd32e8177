#!/usr/bin/env bash
# Fetches the published schemas of the report formats gwc writes into a cache
# outside the repository, for lint/format's schema tests (docs/ci.md). Each is
# pinned by package version and by the sha256 of the package and of the file;
# a file already in the cache with the right sha256 is not fetched again.
#
#   scripts/fetch-schemas.sh        # prints the cache directory
#
# The cache is $GWC_SCHEMA_DIR, else $XDG_CACHE_HOME/gwc/schemas, else
# ~/.cache/gwc/schemas: the directory the tests read (os.UserCacheDir).
# Exits non-zero, saying why, when a schema cannot be had; scripts/test.sh
# then runs the tests without them, and they skip.
#
# What comes from where:
#   sarif-2.1.0.json  SARIF 2.1.0, as Microsoft's SARIF SDK ships it (JSON
#                     Schema 2020-12), in the npm package
#                     @microsoft/sarif-multitool-linux (MIT): a 44 MB
#                     package (the multitool's binary), of which only this
#                     file is kept. The npm packages with a smaller copy
#                     (@microsoft/jest-sarif) have a draft of 2.1.0.
# No package in the registries this project's machines reach (Go module
# proxy, npm, Debian) ships GitLab's code quality schema or a JUnit XSD
# (Jenkins', Ant's): the tests check those two formats' structure instead.
set -euo pipefail

dir=${GWC_SCHEMA_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gwc/schemas}
mkdir -p "$dir"

# fetch_npm FILE PACKAGE@VERSION TARBALL_SHA256 PATH_IN_TARBALL FILE_SHA256
fetch_npm() {
	local file=$1 pkg=$2 tgz_sum=$3 member=$4 sum=$5
	if [[ -f $dir/$file ]] && sha256sum --status -c <<<"$sum  $dir/$file"; then
		return 0
	fi
	command -v npm >/dev/null || {
		printf 'fetch-schemas: npm is not installed: cannot fetch %s from %s\n' "$file" "$pkg" >&2
		return 1
	}
	local tmp
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' RETURN
	if ! (cd "$tmp" && npm pack --silent "$pkg" >/dev/null); then
		printf 'fetch-schemas: npm pack %s failed\n' "$pkg" >&2
		return 1
	fi
	local tgz=("$tmp"/*.tgz)
	if ! sha256sum --status -c <<<"$tgz_sum  ${tgz[0]}"; then
		printf 'fetch-schemas: %s is not the package pinned (sha256 %s)\n' "$pkg" "$tgz_sum" >&2
		return 1
	fi
	tar -xzf "${tgz[0]}" -C "$tmp" "$member"
	if ! sha256sum --status -c <<<"$sum  $tmp/$member"; then
		printf 'fetch-schemas: %s in %s is not the file pinned (sha256 %s)\n' "$member" "$pkg" "$sum" >&2
		return 1
	fi
	mv "$tmp/$member" "$dir/$file"
}

fetch_npm sarif-2.1.0.json @microsoft/sarif-multitool-linux@5.7.0 \
	27d8e3e96dde578a23b7c45035b8d741fece5731e2700aa068015b8c44d1514e \
	package/sarif-2.1.0.json \
	1c49a0f2b60444c71bb14878e21e0d882198eff4c539861b133093ad89ed798c

printf '%s\n' "$dir"
