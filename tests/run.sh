#!/usr/bin/env bash
# Runs every test against one or more build dirs and ends with one line:
#   N passed, N failed[, N skipped]
# Usage: tests/run.sh [--unit-only] BUILD_DIR...
#   unit tests:        BUILD/tests/unit/test_*   (cmocka; each test case counts)
#   integration tests: tests/integration/test_*.sh run with EMBER_BUILD=BUILD
#   API schema:        openapi.yaml validated, every recorded API response checked
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
unit_only=0
[ "${1-}" = --unit-only ] && { unit_only=1; shift; }
[ $# -ge 1 ] || set -- build

passed=0 failed=0 skipped=0
skip_reasons=()
fail_names=()

count_cmocka() { # name logfile exitcode
	local name=$1 log=$2 rc=$3 total ok sk bad
	total=$(grep -oE '^\[==========\] Running [0-9]+ test' "$log" | grep -oE '[0-9]+' | awk '{s+=$1} END {print s+0}')
	ok=$(grep -cE '^\[       OK \]' "$log")
	sk=$(grep -cE '^\[  SKIPPED \]' "$log")
	bad=$((total - ok - sk))
	[ "$bad" -lt 0 ] && bad=0
	# A crash or sanitizer abort ends the binary before cmocka can count it.
	if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
	passed=$((passed + ok)); failed=$((failed + bad)); skipped=$((skipped + sk))
	[ "$sk" -gt 0 ] && skip_reasons+=("$name: $sk cmocka test(s) skipped")
	[ "$bad" -gt 0 ] && fail_names+=("$name (exit $rc)")
}

run_unit() { # build
	local b=$1 t log rc
	for t in "$b"/tests/unit/test_*; do
		[ -x "$t" ] || continue
		log=$(mktemp)
		echo "== unit: $t"
		ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} "$t" >"$log" 2>&1 </dev/null
		rc=$?
		cat "$log"
		count_cmocka "$t" "$log" "$rc"
		rm -f "$log"
	done
}

run_integration() { # build responses_log
	local b=$1 resp=$2 s line
	for s in tests/integration/test_*.sh; do
		[ -f "$s" ] || continue
		echo "== integration: $s ($b)"
		while IFS= read -r line; do
			echo "$line"
			case $line in
			PASS:*) passed=$((passed + 1)) ;;
			FAIL:*) failed=$((failed + 1)); fail_names+=("${line#FAIL: } [$b]") ;;
			SKIP:*) skipped=$((skipped + 1)); skip_reasons+=("${line#SKIP: } [$b]") ;;
			esac
		done < <(EMBER_BUILD=$b EMBER_RESPONSES=$resp bash "$s" 2>&1)
	done
}

run_openapi() { # responses_log
	local resp=$1 out
	[ -f tests/openapi/package.json ] || return 0
	echo "== openapi: schema and recorded responses"
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		skipped=$((skipped + 2)); skip_reasons+=("openapi: node/npm not installed")
		return 0
	fi
	if [ ! -d tests/openapi/node_modules ]; then
		(cd tests/openapi && npm ci --silent --no-audit --no-fund >/dev/null 2>&1) || {
			failed=$((failed + 1)); fail_names+=("openapi: npm ci failed"); return 0; }
	fi
	if out=$(node tests/openapi/validate-spec.js openapi.yaml 2>&1); then
		passed=$((passed + 1)); echo "PASS: openapi/spec-valid"
	else
		failed=$((failed + 1)); fail_names+=("openapi/spec-valid"); echo "FAIL: openapi/spec-valid: $out"
	fi
	if [ ! -s "$resp" ]; then
		skipped=$((skipped + 1)); skip_reasons+=("openapi/responses: no API responses recorded")
	elif out=$(node tests/openapi/check-responses.js "$resp" 2>&1); then
		passed=$((passed + 1)); echo "PASS: openapi/responses ($(wc -l <"$resp") responses match the schema)"
	else
		failed=$((failed + 1)); fail_names+=("openapi/responses"); echo "FAIL: openapi/responses: $out"
	fi
}

resp_log=$(mktemp /tmp/ember-responses.XXXXXX)
for b in "$@"; do
	run_unit "$b"
	[ $unit_only = 1 ] || run_integration "$b" "$resp_log"
done
[ $unit_only = 1 ] || run_openapi "$resp_log"
rm -f "$resp_log"

echo
for r in "${skip_reasons[@]+"${skip_reasons[@]}"}"; do echo "skipped: $r"; done
for f in "${fail_names[@]+"${fail_names[@]}"}"; do echo "failed: $f"; done
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
