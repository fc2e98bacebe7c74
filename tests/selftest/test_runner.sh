#!/usr/bin/env bash
# Self-test of tests/run.sh and tests/integration/lib.sh: feeds the runner
# fake integration scripts and unit builds that fail in the ways a runner can
# hide, and checks each is counted as a FAIL. Prints the PLAN/PASS/FAIL
# protocol (tests/run.sh runs and counts this script).
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
W=$(mktemp -d /tmp/ember-selftest.XXXXXX)
trap 'rm -rf "$W"' EXIT

CASES="dies_midway skip_after_fail reports_nothing timeout nonzero_exit double_report
unplanned_result result_with_details sanitizer_in_any_err kvm_none_skips missing_unit_binary summary_line empty_fuzz_corpus linux_case_stops_waiting linux_api_call_within_budget
nested_retry_runs_only_unfinished"
echo "PLAN: selftest $(echo $CASES | wc -w) $(echo $CASES)"

ok() { echo "PASS: selftest/$1"; }
bad() { echo "FAIL: selftest/$1: $2"; }

# fake NAME BODY: an integration script sourcing the real lib.sh.
fake() {
	printf '#!/usr/bin/env bash\n. %q\n%s\nrun_tests "$@"\n' "$ROOT/tests/integration/lib.sh" "$2" >"$W/$1.sh"
}

# run_kvm_part SCRIPT... : the runner's KVM part on the fake scripts; output in $W/out.
run_kvm_part() {
	local s=() f
	for f in "$@"; do s+=("$W/$f.sh"); done
	EMBER_IT_SCRIPTS="${s[*]}" EMBER_RESPONSES=$W/resp EMBER_TEST_KVM=${KVM:-direct} \
		bash tests/run.sh --kvm-part --integration "$W/build" >"$W/out" 2>&1
	echo $? >"$W/rc"
}
counts() { sed -n 's/^KVM-PART: //p' "$W/out"; } # "passed failed skipped"
has() { grep -qF -- "$1" "$W/out"; }
why() { tr '\n' '|' <"$W/out" | tail -c 600; }

fake f_dies 'test_1_a() { :; }
test_2_b() { echo "$unset_variable"; }
test_3_c() { :; }'
run_kvm_part f_dies
if [ "$(counts)" = "1 3 0" ] && has "FAIL: f_dies/3_c [$W/build]: did not report" &&
	has "FAIL: f_dies/2_b [$W/build]: did not report" && has "FAIL: f_dies [$W/build]: exited with status"; then
	ok dies_midway; else bad dies_midway "counts '$(counts)': $(why)"; fi

fake f_skipfail 'test_x() { fail "assertion failed"; skip "then skipped"; }'
run_kvm_part f_skipfail
if [ "$(counts)" = "0 1 0" ] && has "assertion failed (then skipped: then skipped)"; then
	ok skip_after_fail; else bad skip_after_fail "counts '$(counts)': $(why)"; fi

printf 'echo nothing to see\n' >"$W/f_silent.sh"
run_kvm_part f_silent
if [ "$(counts)" = "0 1 0" ] && has "FAIL: f_silent [$W/build]: reported no result"; then
	ok reports_nothing; else bad reports_nothing "counts '$(counts)': $(why)"; fi

fake f_hang 'test_hang() { sleep 60; }'
EMBER_SCRIPT_TIMEOUT=2 run_kvm_part f_hang
if [ "$(counts)" = "0 2 0" ] && has "FAIL: f_hang [$W/build]: timed out after 2 s"; then
	ok timeout; else bad timeout "counts '$(counts)': $(why)"; fi

fake f_exit 'test_a() { :; }
trap "exit 3" EXIT'
run_kvm_part f_exit
if [ "$(counts)" = "1 1 0" ] && has "exited with status 3"; then
	ok nonzero_exit; else bad nonzero_exit "counts '$(counts)': $(why)"; fi

printf 'echo "PLAN: f_double 1 a"\necho "PASS: f_double/a"\necho "PASS: f_double/a"\n' >"$W/f_double.sh"
run_kvm_part f_double
if [ "$(counts)" = "2 1 0" ] && has "reported 2 results for one case"; then
	ok double_report; else bad double_report "counts '$(counts)': $(why)"; fi

printf 'echo "PLAN: f_extra 1 a"\necho "PASS: f_extra/a"\necho "PASS: f_extra/b"\n' >"$W/f_extra.sh"
run_kvm_part f_extra
if [ "$(counts)" = "2 1 0" ] && has "not in its PLAN"; then
	ok unplanned_result; else bad unplanned_result "counts '$(counts)': $(why)"; fi

# A result line may say more after the case's name: still that case.
printf 'echo "PLAN: f_more 1 a"\necho "PASS: f_more/a (3 inputs)"\n' >"$W/f_more.sh"
run_kvm_part f_more
if [ "$(counts)" = "1 0 0" ]; then
	ok result_with_details; else bad result_with_details "counts '$(counts)': $(why)"; fi

fake f_san 'test_a() { echo "==1==ERROR: AddressSanitizer: heap-use-after-free" >"$TMP/other.err"; }'
run_kvm_part f_san
if [ "$(counts)" = "0 1 0" ] && has "sanitizer report in other.err"; then
	ok sanitizer_in_any_err; else bad sanitizer_in_any_err "counts '$(counts)': $(why)"; fi

fake f_kvm 'test_a() { need_kvm || return; fail "ran without KVM"; }'
KVM="none: no /dev/kvm here" run_kvm_part f_kvm
if [ "$(counts)" = "0 0 1" ] && has "SKIP: f_kvm/a [$W/build]: no KVM: no /dev/kvm here"; then
	ok kvm_none_skips; else bad kvm_none_skips "counts '$(counts)': $(why)"; fi

# A build dir with no unit binaries: every tests/unit/*/test_*.c is a FAIL,
# and the run ends with the one summary line and a non-zero status.
mkdir -p "$W/nobuild"
n=$(ls tests/unit/*/test_*.c | wc -l)
bash tests/run.sh --unit-only "$W/nobuild" >"$W/out" 2>&1
rc=$?
last=$(tail -n 1 "$W/out")
if [ "$last" = "0 passed, $n failed" ] && [ "$(grep -c "^failed: $W/nobuild/tests/unit/test_.*: missing" "$W/out")" = "$n" ]; then
	ok missing_unit_binary; else bad missing_unit_binary "want '0 passed, $n failed', got '$last'"; fi
if [ "$rc" != 0 ] && [ "$(grep -cE '^[0-9]+ passed, [0-9]+ failed' "$W/out")" = 1 ]; then
	ok summary_line; else bad summary_line "exit $rc, summary lines: $(grep -cE '^[0-9]+ passed' "$W/out")"; fi

mkdir -p "$W/corpus/virtq"
make --no-print-directory -s fuzz-replay FUZZ_CORPUS="$W/corpus" >"$W/out" 2>&1
rc=$?
if [ "$rc" != 0 ] && has "FAIL: fuzz/virtq: empty or missing corpus" && ! grep -q '^PASS:' "$W/out"; then
	ok empty_fuzz_corpus; else bad empty_fuzz_corpus "exit $rc: $(why)"; fi
# A Linux-suite case stops waiting at its first failure, and no case waits
# beyond its budget: a guest that stopped answering once made every later
# step of its case wait its full timeout, the suite printed nothing for more
# than the nested host's 900 s stall limit, and that ended the whole run.
mkdir -p "$W/lnx/vm"
: >"$W/lnx/vm/out"
printf '#!/usr/bin/env bash\n. %q\n%s\nrun_tests "$@"\n' "$ROOT/tests/linux/lib.sh" '
test_after_failure() { VM=$W/lnx/vm; fail "first step failed"; wait_guest "never" 100; guest_cmd c1 "true" 100; }
test_budget() { VM=$W/lnx/vm; wait_guest "never" 100; }' >"$W/lnx/f_lnx.sh"
t0=$SECONDS
W=$W EMBER_LINUX_CASE_BUDGET=2 timeout 60 bash "$W/lnx/f_lnx.sh" >"$W/out" 2>&1
took=$((SECONDS - t0))
if [ "$took" -lt 30 ] && has "FAIL: linux-f_lnx/after_failure: first step failed" &&
	has "FAIL: linux-f_lnx/budget: no 'never' from the guest within 2 s"; then
	ok linux_case_stops_waiting; else bad linux_case_stops_waiting "took $took s: $(why)"; fi
# An API call in a Linux case is bounded by what is left of the case's
# budget: a VMM that accepts but never answers once kept a case silent past
# the nested host's stall limit (curl's own limit was 300 s a call).
python3 -c 'import socket,sys,time
s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8); time.sleep(120)' "$W/lnx/mute.sock" &
mute=$!
for i in $(seq 1 100); do [ -S "$W/lnx/mute.sock" ] && break; sleep 0.05; done
printf '#!/usr/bin/env bash\n. %q\n%s\nrun_tests "$@"\n' "$ROOT/tests/linux/lib.sh" '
test_mute_vmm() { SOCK=$W/lnx/mute.sock; sleep 100 & EMBER_PID=$!; api GET /; api_ok GET /again; }' >"$W/lnx/g_lnx.sh"
t0=$SECONDS
W=$W EMBER_LINUX_CASE_BUDGET=3 timeout 60 bash "$W/lnx/g_lnx.sh" >"$W/out" 2>&1
took=$((SECONDS - t0))
kill "$mute" 2>/dev/null
if [ "$took" -lt 20 ] && has "FAIL: linux-g_lnx/mute_vmm: GET /: no answer within 4 s; ember threads:"; then
	ok linux_api_call_within_budget; else bad linux_api_call_within_budget "took $took s: $(why)"; fi
# After a stalled nested host, only what did not finish runs again: scripts
# with no "took" line, and of the one that was running, its cases with no
# result line.
cat >"$W/out" <<'EOF2'
(plan: linux-balloon 2 deflate_on_oom_lets_allocation_succeed inflate_deflate_memory_and_stats)
PASS: linux-balloon/deflate_on_oom_lets_allocation_succeed [build]
FAIL: linux-balloon/inflate_deflate_memory_and_stats [build]: something
linux: test_balloon took 71 s
(plan: linux-boot 3 boot_1_vcpu_reboot_f_exits_0 boot_2_vcpus boot_4_vcpus)
PASS: linux-boot/boot_1_vcpu_reboot_f_exits_0 [build]
SKIP: linux-boot/boot_4_vcpus [build]: why
vmhost: CMD printed nothing for 900 s (stall); the inner host did not answer within 60 s (frozen) the task dump
EOF2
got=" $(eval "$(sed -n '/^linux_unfinished()/,/^}/p' tests/run.sh)"; linux_unfinished "$W/out" | tr '\n' ' ')"
want=$(($(ls tests/linux/test_*.sh | wc -l) - 2 + 1))
if [ "$(echo $got | wc -w)" = "$want" ] && [[ $got == *" test_boot:test_boot_2_vcpus "* ]] &&
	[[ $got == *" test_snapshot "* ]] && [[ $got != *test_balloon* ]] && [[ $got != *"test_boot "* ]] &&
	[[ $got != *boot_1_vcpu* ]] && [[ $got != *boot_4_vcpus* ]]; then
	ok nested_retry_runs_only_unfinished; else bad nested_retry_runs_only_unfinished "got:$got (want $want words)"; fi
exit 0
