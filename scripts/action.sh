#!/usr/bin/env bash
# The steps of gwc's GitHub Action (action.yml at the repository's root), kept
# here so that cmd/gwc/testdata/script/lint_ci_action.txtar runs them with the
# variables a runner sets. docs/ci.md documents the action.
#
#   scripts/action.sh lint     lint the specs: annotations on stdout, a SARIF
#                              file, a markdown job summary; outputs exit-code,
#                              errors, warnings, notes and sarif. Exits 0 unless
#                              the step itself breaks, so that the SARIF is
#                              uploaded whatever gwc found.
#   scripts/action.sh diff     gwc diff of each spec against the pull request's
#                              base, into the job summary; output exit-code.
#   scripts/action.sh finish   exits with the highest of LINT_CODE and
#                              DIFF_CODE: the action's verdict.
#
# Inputs, from action.yml's: GWC_SPECS (paths or globs, ** included, separated
# by white space), GWC_FAIL_ON, GWC_POLICIES (directories, separated by white
# space), GWC_CONFIG, GWC_ARGS (more gwc lint arguments, split on white
# space), GWC_SARIF, GWC_ANNOTATIONS, GWC_SUMMARY (true or false), GWC_DIFF,
# GWC_BASE_REF. The runner's: GITHUB_WORKSPACE, GITHUB_OUTPUT,
# GITHUB_STEP_SUMMARY, RUNNER_TEMP; each is optional, so that the script also
# runs outside Actions.
set -uo pipefail

cd "${GITHUB_WORKSPACE:-.}" || exit 2

# output NAME VALUE sets a step output.
output() {
	if [[ -n ${GITHUB_OUTPUT:-} ]]; then
		printf '%s=%s\n' "$1" "$2" >>"$GITHUB_OUTPUT"
	fi
}

# summary appends its standard input to the job summary.
summary() {
	if [[ -n ${GITHUB_STEP_SUMMARY:-} ]]; then
		cat >>"$GITHUB_STEP_SUMMARY"
	else
		cat >/dev/null
	fi
}

# fail reports a problem of the step itself as an annotation and in the
# summary; the caller decides the exit code.
fail() {
	printf '::error title=gwc::%s\n' "$(printf '%s' "$1" | sed 's/%/%25/g' | tr '\r\n' '  ')"
	printf '> [!CAUTION]\n> %s\n\n' "$(printf '%s' "$1" | html_escape | tr '\n' ' ')" | summary
}

html_escape() {
	sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g'
}

# quiet prints a file without the runner acting on workflow commands in it:
# gwc's messages to standard error name files from the pull request.
quiet() {
	[[ -s $1 ]] || return 0
	local token
	token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
	printf '::stop-commands::%s\n' "$token"
	cat "$1"
	printf '::%s::\n' "$token"
}

# pre writes a file into the summary as preformatted text.
pre() {
	printf '<pre>\n'
	html_escape <"$1"
	printf '</pre>\n\n'
}

# specs sets the array specs from GWC_SPECS, expanding globs; a glob that
# matches nothing is an error.
specs() {
	local patterns p matches
	read -r -d '' -a patterns <<<"${GWC_SPECS:-}"
	specs=()
	if ((${#patterns[@]} == 0)); then
		fail "gwc: the specs input is empty: name the OpenAPI files to lint"
		return 1
	fi
	shopt -s globstar nullglob
	for p in "${patterns[@]}"; do
		if [[ $p == *[*?[]* ]]; then
			# shellcheck disable=SC2206 # p has no white space left: globbing is the point
			matches=($p)
			if ((${#matches[@]} == 0)); then
				fail "gwc: no file matches the specs pattern '$p' (in $PWD)"
				return 1
			fi
			specs+=("${matches[@]}")
		else
			specs+=("$p")
		fi
	done
	shopt -u globstar nullglob
}

truthy() {
	[[ ${1,,} == true ]]
}

lint_step() {
	local out flags dirs extra dir code rc errors warnings notes
	out=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/gwc.XXXXXX") || return 2
	if ! specs; then
		output exit-code 2
		return 0
	fi
	flags=()
	read -r -d '' -a dirs <<<"${GWC_POLICIES:-}"
	for dir in "${dirs[@]}"; do
		flags+=(--policy "$dir")
	done
	if [[ -n ${GWC_CONFIG:-} ]]; then
		flags+=(--config "$GWC_CONFIG")
	fi
	read -r -d '' -a extra <<<"${GWC_ARGS:-}"
	flags+=("${extra[@]}")

	# One run: the verdict and the annotations on stdout (--fail-on decides
	# the exit code), the SARIF log and the job summary written beside them.
	reports=()
	if truthy "${GWC_SARIF:-true}"; then
		reports+=(--output "sarif=$out/gwc.sarif")
	fi
	if truthy "${GWC_SUMMARY:-true}"; then
		reports+=(--output "markdown=$out/summary.md")
	fi
	gwc lint --format github --fail-on "${GWC_FAIL_ON:-error}" "${reports[@]}" "${flags[@]}" -- "${specs[@]}" \
		>"$out/annotations" 2>"$out/stderr"
	code=$?
	if truthy "${GWC_ANNOTATIONS:-true}"; then
		cat "$out/annotations"
	fi
	quiet "$out/stderr" >&2
	errors=$(grep -c '^::error ' "$out/annotations")
	warnings=$(grep -c '^::warning ' "$out/annotations")
	notes=$(grep -c '^::notice ' "$out/annotations")
	if ((code > 1)); then
		fail "gwc lint could not check every spec (exit code $code): see the log"
	fi

	if truthy "${GWC_SARIF:-true}" && [[ -s $out/gwc.sarif ]]; then
		output sarif "$out/gwc.sarif"
	fi

	if truthy "${GWC_SUMMARY:-true}"; then
		{
			if [[ -s $out/summary.md ]]; then
				cat "$out/summary.md"
				printf '\n'
			fi
			if ((code > 1)) && [[ -s $out/stderr ]]; then
				printf '\ngwc lint exited with %d:\n\n' "$code"
				pre "$out/stderr"
			fi
		} | summary
	fi

	output exit-code "$code"
	output errors "$errors"
	output warnings "$warnings"
	output notes "$notes"
	return 0
}

diff_step() {
	local code=0 rc spec out base=${GWC_BASE_REF:-}
	if ! truthy "${GWC_DIFF:-false}"; then
		output exit-code 0
		return 0
	fi
	if [[ -z $base ]]; then
		fail "gwc diff needs the pull request's base branch: diff-base, by default github.base_ref, which only pull_request events set"
		output exit-code 2
		return 0
	fi
	if ! gwc diff --help >/dev/null 2>&1; then
		fail "this gwc ($(gwc version 2>/dev/null | head -1)) has no diff command: install a version that has it, or set diff: false"
		output exit-code 2
		return 0
	fi
	if ! specs; then
		output exit-code 2
		return 0
	fi
	if ! git rev-parse --verify -q "refs/remotes/origin/$base^{commit}" >/dev/null; then
		if ! git fetch --no-tags --depth=1 origin "+refs/heads/$base:refs/remotes/origin/$base" >&2; then
			fail "gwc diff: cannot fetch the base branch '$base' from origin"
			output exit-code 2
			return 0
		fi
	fi
	out=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/gwc.XXXXXX") || return 2
	for spec in "${specs[@]}"; do
		gwc diff "origin/$base" HEAD -- "$spec" >"$out/diff" 2>&1
		rc=$?
		((rc > code)) && code=$rc
		quiet "$out/diff"
		truthy "${GWC_SUMMARY:-true}" || continue
		{
			printf '<details><summary>gwc diff origin/%s HEAD -- %s: exit code %d</summary>\n\n' \
				"$(html_escape <<<"$base")" "$(html_escape <<<"$spec")" "$rc"
			pre "$out/diff"
			printf '</details>\n\n'
		} | summary
	done
	output exit-code "$code"
}

finish_step() {
	local lint=${LINT_CODE:-} diff=${DIFF_CODE:-0}
	if [[ -z $lint ]]; then
		printf '::error title=gwc::the lint step set no exit code\n'
		exit 2
	fi
	((diff > lint)) && exit "$diff"
	exit "$lint"
}

case ${1:-} in
lint | diff | finish) "$1_step" ;;
*)
	printf 'usage: %s lint|diff|finish\n' "$0" >&2
	exit 2
	;;
esac
