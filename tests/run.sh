#!/usr/bin/env bash
# Runs every test against one or more build dirs and ends with exactly one line
#   N passed, N failed[, N skipped]
# preceded by each skip's reason and each failure's name; exits non-zero on
# any failure.
#
# Usage: tests/run.sh [--unit-only] BUILD_DIR...          (make test: BUILD_DIR... = build build/asan)
#        tests/run.sh --kvm-part [--integration] [--linux] BUILD_DIR...
#
# On the host:
#   unit tests:   every tests/unit/*/test_*.c must have run as BUILD/tests/unit/test_<name>
#                 (cmocka; each test case counts; a missing binary is a FAIL)
#   layer check:  tests/check_layers.sh, once
#   fuzz replay:  make fuzz-replay (every corpus through its gcc+ASan replayer), once
#   selftest:     tests/selftest/*.sh (the runner's own failure detection), once
#   API schema:   openapi.yaml validated, every recorded API response checked
#   schemathesis: property-based requests from openapi.yaml against the first
#                 build's ember (tests/openapi/schemathesis.sh), once
# The KVM part, where tests/kvm_mode.sh says KVM runs (direct: here; nested:
# inside ONE tests/vmhost/vmhost.sh run; none: each KVM case SKIPs with the reason):
#   integration:  tests/integration/test_*.sh with EMBER_BUILD=BUILD, every build
#   linux suite:  tests/linux/run.sh BUILD (if present), the first build (and the
#                 others when it says it supports them: `tests/linux/run.sh --supports BUILD`)
# --kvm-part runs only the KVM part (what the nested host runs) and ends with
# one "KVM-PART: <passed> <failed> <skipped>" line instead of the summary.
#
# Every reporting child (integration script, layer check, fuzz replay, Linux
# suite, selftest, the nested host) runs under `timeout`; it must print its
# result lines (PASS:/FAIL:/SKIP:), and a "PLAN: <name> <n> <case>..." line
# when it has one: every planned case that does not report exactly once is a
# FAIL, as are a non-zero exit and a timeout.
#
# Environment: EMBER_TEST_KVM=direct|nested|none (override tests/kvm_mode.sh),
# EMBER_TEST_TIMEOUT_SCALE (multiplies every timeout; the nested host uses 6),
# EMBER_UNIT_TIMEOUT (s, default 300), EMBER_SCRIPT_TIMEOUT (s, default 1200),
# EMBER_IT_SCRIPTS (space-separated integration scripts instead of
# tests/integration/test_*.sh; the selftest uses it), EMBER_RESPONSES (the
# API response log; default a file under build/).
set -u
# Counting loops read pipes in this shell: no <(...), which needs /dev/fd
# (absent in the nested host's chroot).
shopt -s lastpipe
cd "$(dirname "$0")/.."
ROOT=$PWD

mode=all
want_it=0 want_linux=0
while [ $# -gt 0 ]; do
	case $1 in
	--unit-only) mode=unit; shift ;;
	--kvm-part) mode=kvm; shift ;;
	--integration) want_it=1; shift ;;
	--linux) want_linux=1; shift ;;
	--) shift; break ;;
	-*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || set -- build
BUILDS=("$@")

SCALE=${EMBER_TEST_TIMEOUT_SCALE:-1}
UNIT_TIMEOUT=$((${EMBER_UNIT_TIMEOUT:-300} * SCALE))
SCRIPT_TIMEOUT=$((${EMBER_SCRIPT_TIMEOUT:-1200} * SCALE))

passed=0 failed=0 skipped=0
skip_reasons=()
fail_names=()
retry_notes=()

# One result, printed in the protocol's form (the nested host's output is
# counted by the outer runner from these lines).
r_pass() { passed=$((passed + 1)); echo "PASS: $1"; }
r_fail() { failed=$((failed + 1)); fail_names+=("$1"); echo "FAIL: $1${2:+: $2}"; }
r_skip() { skipped=$((skipped + 1)); skip_reasons+=("$1: $2"); echo "SKIP: $1: $2"; }

# ---- reporting children ------------------------------------------------------
# run_reporting LABEL TAG TIMEOUT_S CMD...: run CMD (stdout+stderr), count its
# PASS:/FAIL:/SKIP: lines (TAG, e.g. the build dir, is added to each name),
# enforce its PLAN, its exit status and the timeout. Sets RR_RC, RR_OUT (the
# file holding CMD's output, valid until the next call).
RR_OUT=$(mktemp /tmp/ember-run.XXXXXX)
trap 'rm -f "$RR_OUT"' EXIT
run_reporting() {
	local label=$1 tag=$2 to=$3 line name rest key n kind sfx="" words
	shift 3
	[ -n "$tag" ] && sfx=" [$tag]"
	local -A planned=() reported=()
	local plan_seen=0 nres=0 nfail=0
	: >"$RR_OUT"
	{ timeout -k 10 "$to" "$@" 2>&1 </dev/null; } | while IFS= read -r line; do
		printf '%s\n' "$line" >>"$RR_OUT"
		case $line in
		PLAN:\ *)
			plan_seen=1
			read -ra words <<<"${line#PLAN: }"
			for n in "${words[@]:2}"; do planned["${words[0]}/$n"]=1; done
			# Not echoed as "PLAN:": an outer runner counts our lines, not our plans.
			echo "(plan: ${line#PLAN: })"
			continue ;;
		PASS:\ * | FAIL:\ * | SKIP:\ *) ;;
		*) echo "$line"; continue ;;
		esac
		kind=${line%%:*}
		rest=${line#*: }
		name=${rest%%: *}
		key=${name%% *} # the case's name: its first word ("fuzz/net (8 inputs)", "x/y [build]")
		if [ "$name" = "$rest" ]; then rest=""; else rest=${rest#*: }; fi
		reported["$key"]=$((${reported["$key"]:-0} + 1))
		nres=$((nres + 1))
		case $kind in
		PASS) r_pass "$name$sfx" ;;
		FAIL) nfail=$((nfail + 1)); r_fail "$name$sfx" "$rest" ;;
		SKIP) r_skip "$name$sfx" "$rest" ;;
		esac
	done
	RR_RC=${PIPESTATUS[0]}
	for key in "${!planned[@]}"; do
		n=${reported["$key"]:-0}
		[ "$n" = 1 ] && continue
		if [ "$n" = 0 ]; then
			r_fail "$key$sfx" "did not report (its script died or stopped early)"
		else
			r_fail "$key$sfx" "reported $n results for one case"
		fi
	done
	for key in "${!reported[@]}"; do
		[ "$plan_seen" = 0 ] || [ -n "${planned["$key"]+x}" ] ||
			r_fail "$key$sfx" "reported but not in its PLAN"
	done
	[ "${RR_NO_RC_CHECK:-0}" = 1 ] && return 0
	case $RR_RC in
	0) [ "$nres" -gt 0 ] || [ "$plan_seen" = 1 ] || r_fail "$label$sfx" "reported no result" ;;
	124 | 137) r_fail "$label$sfx" "timed out after $to s" ;;
	*)
		# A child that reports its own failures may exit non-zero with them;
		# dying without one (or an integration script dying at all) is a FAIL.
		if [ "$nfail" = 0 ] || [ "${RR_STRICT_RC:-0}" = 1 ]; then
			r_fail "$label$sfx" "exited with status $RR_RC"
		fi ;;
	esac
	return 0
}

# ---- unit tests --------------------------------------------------------------
count_cmocka() { # name logfile exitcode
	local name=$1 log=$2 rc=$3 total ok sk bad f
	total=$(grep -oE '^\[==========\] Running [0-9]+ test' "$log" | grep -oE '[0-9]+' | awk '{s+=$1} END {print s+0}')
	ok=$(grep -cE '^\[       OK \]' "$log")
	sk=$(grep -cE '^\[  SKIPPED \]' "$log")
	bad=$((total - ok - sk))
	[ "$bad" -lt 0 ] && bad=0
	passed=$((passed + ok)); skipped=$((skipped + sk))
	[ "$sk" -gt 0 ] && skip_reasons+=("$name: $sk cmocka test(s) skipped")
	while IFS= read -r f; do
		[ -n "$f" ] && [ "$bad" -gt 0 ] || continue
		failed=$((failed + 1)); bad=$((bad - 1)); fail_names+=("$name: $f")
	done <<<"$(sed -n 's/^\[  FAILED  \] \([^ ]*\)$/\1/p' "$log" | sort -u)"
	# A crash, sanitizer abort or timeout ends the binary before cmocka can
	# count it; a binary that ran no test at all is broken too.
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		failed=$((failed + 1)); fail_names+=("$name: timed out after $UNIT_TIMEOUT s")
	elif [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
		bad=1
	elif [ "$total" -eq 0 ]; then
		bad=1; rc="$rc, ran no test"
	fi
	[ "$bad" -gt 0 ] && { failed=$((failed + bad)); fail_names+=("$name (exit $rc)"); }
	return 0
}

# Every unit test the sources define: tests/unit/<part>/test_<name>.c -> BUILD/tests/unit/test_<name>.
unit_names() { local s; for s in tests/unit/*/test_*.c; do [ -f "$s" ] && basename "$s" .c; done | sort -u; }

run_unit() { # build
	local b=$1 t log rc name
	log=$(mktemp /tmp/ember-unit.XXXXXX)
	for name in $(unit_names); do
		t=$b/tests/unit/$name
		echo "== unit: $t"
		if [ ! -x "$t" ]; then
			failed=$((failed + 1)); fail_names+=("$t: missing (tests/unit/*/$name.c is not built)")
			echo "FAIL: $t: missing"
			continue
		fi
		ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} timeout -k 10 "$UNIT_TIMEOUT" "$t" >"$log" 2>&1 </dev/null
		rc=$?
		cat "$log"
		count_cmocka "$t" "$log" "$rc"
	done
	rm -f "$log"
}

# ---- host parts ------------------------------------------------------------------
run_layers() {
	echo "== layers: tests/check_layers.sh"
	run_reporting check_layers "" $((120 * SCALE)) bash tests/check_layers.sh
}

run_fuzz_replay() {
	echo "== fuzz: make fuzz-replay"
	run_reporting fuzz-replay "" $((1200 * SCALE)) make --no-print-directory -s fuzz-replay
}

run_selftest() {
	local s
	for s in tests/selftest/test_*.sh; do
		[ -f "$s" ] || continue
		echo "== selftest: $s"
		RR_STRICT_RC=1 run_reporting "selftest/$(basename "$s" .sh)" "" $((600 * SCALE)) bash "$s"
	done
}

# The Go SDK client's own logic (tests/sdk/*_test.go), where go is installed.
run_sdk_unit() {
	[ -f tests/sdk/go.mod ] || return 0
	echo "== sdk: go test (tests/sdk)"
	command -v go >/dev/null || { r_skip sdk/go-test "go not installed"; return 0; }
	local out rc name nfail=0
	out=$(timeout -k 10 $((300 * SCALE)) env -C tests/sdk GOFLAGS=-mod=readonly GOTOOLCHAIN=local \
		CGO_ENABLED=0 go test -count=1 -v ./... 2>&1)
	rc=$?
	while read -r name; do r_pass "sdk/$name"; done < <(sed -n 's/^--- PASS: \([^ ]*\).*/\1/p' <<<"$out")
	while read -r name; do
		nfail=$((nfail + 1))
		r_fail "sdk/$name" "$(grep -E '_test\.go:[0-9]+:' <<<"$out" | tr -s ' \n' ' ')"
	done < <(sed -n 's/^--- FAIL: \([^ ]*\).*/\1/p' <<<"$out")
	[ "$rc" = 0 ] || [ "$nfail" -gt 0 ] || r_fail sdk/go-test "exit $rc: $(tail -n 5 <<<"$out" | tr '\n' ' ')"
}

run_openapi() { # responses_log
	local resp=$1 out
	[ -f tests/openapi/package.json ] || return 0
	echo "== openapi: schema and recorded responses"
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		r_skip openapi "node/npm not installed"
		return 0
	fi
	if [ ! -d tests/openapi/node_modules ]; then
		(cd tests/openapi && npm ci --silent --no-audit --no-fund >/dev/null 2>&1) || {
			r_fail openapi "npm ci failed"; return 0; }
	fi
	if out=$(node tests/openapi/validate-spec.js openapi.yaml 2>&1); then
		r_pass openapi/spec-valid
	else
		r_fail openapi/spec-valid "$out"
	fi
	if [ ! -s "$resp" ]; then
		r_skip openapi/responses "no API responses recorded"
	elif out=$(node tests/openapi/check-responses.js "$resp" 2>&1); then
		r_pass "openapi/responses ($(wc -l <"$resp") responses match the schema)"
	else
		r_fail openapi/responses "$out"
	fi
}

# ---- the KVM part -------------------------------------------------------------------
it_scripts() {
	if [ -n "${EMBER_IT_SCRIPTS:-}" ]; then
		echo "$EMBER_IT_SCRIPTS"
	else
		ls tests/integration/test_*.sh 2>/dev/null
	fi
}

run_integration() { # build
	local b=$1 s
	for s in $(it_scripts); do
		echo "== integration: $s ($b)"
		EMBER_BUILD=$b RR_STRICT_RC=1 run_reporting "$(basename "$s" .sh)" "$b" "$SCRIPT_TIMEOUT" bash "$s"
	done
}

LINUX_SUITE=${EMBER_LINUX_SUITE:-tests/linux/run.sh} # (another path, or none: /nonexistent)
# The builds the Linux suite runs on: the first, and each other one it
# declares support for (it documents a --supports option, and
# `tests/linux/run.sh --supports BUILD` exits 0).
linux_builds() {
	local b
	echo "${BUILDS[0]}"
	grep -q -- '--supports' "$LINUX_SUITE" || return 0
	for b in "${BUILDS[@]:1}"; do
		bash "$LINUX_SUITE" --supports "$b" >/dev/null 2>&1 </dev/null && echo "$b"
	done
}

# EMBER_LINUX_ONLY="test_x test_y:test_case ...": only these scripts/cases (a
# retry after a stalled nested host; see run_nested).
run_linux() {
	local b
	[ -f "$LINUX_SUITE" ] || return 0
	for b in $(linux_builds); do
		echo "== linux: $LINUX_SUITE $b${EMBER_LINUX_ONLY:+ (only: $EMBER_LINUX_ONLY)}"
		# shellcheck disable=SC2086 # a word list
		run_reporting linux "$b" $((3600 * SCALE)) bash "$LINUX_SUITE" "$b" ${EMBER_LINUX_ONLY:-}
	done
}

# The Linux scripts/cases a nested run's output (FILE) did not finish, as
# run.sh's SCRIPT[:TEST] words: scripts with no "linux: test_x took" line,
# and for the one that was running, its planned cases with no result line.
linux_unfinished() { # FILE
	local f=$1 s name plan c
	for s in tests/linux/test_*.sh; do
		s=$(basename "$s" .sh)
		grep -q "^linux: $s took " "$f" && continue
		name=linux-${s#test_}
		plan=$(grep "^(plan: $name " "$f" | tail -n 1)
		if [ -z "$plan" ]; then
			echo "$s"
			continue
		fi
		for c in $(echo "${plan%)}" | cut -d' ' -f4-); do
			grep -qE "^(PASS|FAIL|SKIP): $name/$c( |:|\$)" "$f" || echo "$s:test_$c"
		done
	done
}

# The nested host: ONE vmhost run for everything that needs it; its result
# lines are counted here, and it must end with the inner runner's KVM-PART
# line, whose counts must match the lines seen.
#
# A stall (CMD silent for 900 s) with every Linux case's waits bounded by its
# budget means the emulated inner host itself stopped (twice in CI, once in
# linux-balloon and once in linux-go_sdk, each passing in every other run):
# the Linux scripts and cases that did not finish run once more in a new
# nested host, said so in the output and in the summary ("retried:"). A
# second stall fails as before. Only a --linux-only run retries (the
# integration scripts have no per-script completion line to resume from).
run_nested() { # --integration/--linux flags...
	local t0=$SECONDS only
	echo "== nested: tests/vmhost/vmhost.sh run -- tests/run.sh --kvm-part $* ${BUILDS[*]}"
	nested_once "" "$@"
	if [ "$NESTED_STALLED" = 1 ] && [ "$*" = --linux ]; then
		only=$(linux_unfinished "$RR_OUT" | tr '\n' ' ')
		retry_notes+=("vmhost: the nested host stalled; unfinished Linux work run again in a new one: $only")
		echo "== nested: stalled ($(grep '^vmhost: ' "$RR_OUT" | tail -n 1)); once more for: $only"
		nested_once "$only" "$@"
	fi
	[ "$NESTED_STALLED" = 1 ] && r_fail "vmhost" "infrastructure failure (exit 125): $(grep '^vmhost: ' "$RR_OUT" | tail -n 3 | tr '\n' ' ')"
	echo "== nested: $((SECONDS - t0)) s"
}

# One vmhost run; sets NESTED_STALLED=1 (and reports nothing) on a stall.
nested_once() { # ONLY FLAGS...
	local only=$1 inner p f s
	shift
	local p0=$passed f0=$failed s0=$skipped
	NESTED_STALLED=0
	EMBER_LINUX_ONLY=$only EMBER_TEST_KVM=direct EMBER_TEST_TIMEOUT_SCALE=$((SCALE * 6)) \
		EMBER_RESPONSES=$RESP RR_NO_RC_CHECK=1 run_reporting vmhost "" $((4 * 3600 * SCALE)) \
		tests/vmhost/vmhost.sh run --timeout $((4 * 3600 * SCALE - 60)) -- \
		tests/run.sh --kvm-part "$@" "${BUILDS[@]}"
	inner=$(grep '^KVM-PART: ' "$RR_OUT" | tail -n 1)
	if [ "$RR_RC" = 125 ] && grep -q '^vmhost: CMD printed nothing for .* (stall)' "$RR_OUT"; then
		NESTED_STALLED=1
	elif [ "$RR_RC" = 125 ] || [ "$RR_RC" = 124 ] || [ "$RR_RC" = 137 ]; then
		r_fail "vmhost" "infrastructure failure (exit $RR_RC): $(grep '^vmhost: ' "$RR_OUT" | tail -n 3 | tr '\n' ' ')"
	elif [ -z "$inner" ]; then
		r_fail "vmhost" "the inner runner did not finish (exit $RR_RC; no KVM-PART line)"
	else
		read -r _ p f s <<<"$inner"
		[ "$p $f $s" = "$((passed - p0)) $((failed - f0)) $((skipped - s0))" ] ||
			r_fail "vmhost" "inner counts '$p $f $s' differ from the result lines seen"
	fi
}

# ---- main ---------------------------------------------------------------------------
RESP=${EMBER_RESPONSES:-}
own_resp=0
if [ -z "$RESP" ]; then
	# In the shared build dir, not /tmp: the nested host appends to it too.
	mkdir -p "$ROOT/build"
	RESP=$(mktemp "$ROOT/build/.responses.XXXXXX")
	own_resp=1
fi
export EMBER_RESPONSES=$RESP

if [ $mode = kvm ]; then
	export EMBER_TEST_KVM=${EMBER_TEST_KVM:-direct}
	if [ $want_it = 1 ]; then for b in "${BUILDS[@]}"; do run_integration "$b"; done; fi
	[ $want_linux = 1 ] && run_linux
	echo "KVM-PART: $passed $failed $skipped"
	[ "$failed" -eq 0 ]
	exit
fi

for b in "${BUILDS[@]}"; do run_unit "$b"; done
if [ $mode = all ]; then
	run_layers
	run_fuzz_replay
	run_selftest
	run_sdk_unit
	tiny=$(bash tests/kvm_mode.sh --for tiny)
	linux=$(bash tests/kvm_mode.sh --for linux)
	echo "== KVM: test guest: $tiny; Linux: $linux"
	nested=()
	case $tiny in
	direct) for b in "${BUILDS[@]}"; do EMBER_TEST_KVM=direct run_integration "$b"; done ;;
	nested) nested+=(--integration) ;;
	*)
		# No KVM: the scripts still run; each KVM case skips with the reason.
		for b in "${BUILDS[@]}"; do EMBER_TEST_KVM=$tiny run_integration "$b"; done ;;
	esac
	if [ -f "$LINUX_SUITE" ]; then
		case $linux in
		direct) run_linux ;;
		nested) nested+=(--linux) ;;
		*) r_skip "linux" "${linux#none: }" ;;
		esac
	fi
	[ ${#nested[@]} -eq 0 ] || run_nested "${nested[@]}"
	run_openapi "$RESP"
	echo "== schemathesis: property-based requests against openapi.yaml (${BUILDS[0]})"
	run_reporting schemathesis "" $((900 * SCALE)) bash tests/openapi/schemathesis.sh "${BUILDS[0]}"
fi
[ $own_resp = 0 ] || rm -f "$RESP"

echo
for r in "${skip_reasons[@]+"${skip_reasons[@]}"}"; do echo "skipped: $r"; done
for r in "${retry_notes[@]+"${retry_notes[@]}"}"; do echo "retried: $r"; done
for f in "${fail_names[@]+"${fail_names[@]}"}"; do echo "failed: $f"; done
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
