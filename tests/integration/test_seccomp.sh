#!/usr/bin/env bash
# Seccomp filters on a real ember process: every thread filtered, a full guest
# run without a violation, forbidden syscalls end the process with 148 (the
# probe installs ember's real filters), --no-seccomp, --seccomp-filter FILE.
. "$(dirname "$0")/lib.sh"

PROBE=$BUILD/tests/integration/seccomp_probe

need_probe() {
	[ -x "$PROBE" ] || { skip "$PROBE not built"; return 1; }
}

# configure BOOT_ARGS [MACHINE_JSON]
configure() {
	local machine='{"vcpu_count": 1, "mem_size_mib": 64}'
	[ $# -ge 2 ] && machine=$2
	api_ok PUT /machine-config "$machine"
	api_ok PUT /boot-source "{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"$1\"}"
}

# One line per thread of PID: "<Seccomp mode> <thread name>".
thread_modes() {
	local st
	for st in /proc/"$1"/task/*/status; do
		awk -F'\t' '/^Name:/ { name = $2 } /^Seccomp:/ { mode = $2 } END { print mode " " name }' \
			"$st" 2>/dev/null
	done
}

# assert_all_threads MODE MIN_THREADS: every thread of ember reports Seccomp: MODE.
assert_all_threads() {
	local modes nr
	modes=$(thread_modes "$EMBER_PID")
	nr=$(printf '%s\n' "$modes" | grep -c .)
	[ "$nr" -ge "$2" ] || fail "expected at least $2 threads, found $nr: $modes"
	printf '%s\n' "$modes" | grep -qv "^$1 " &&
		fail "not every thread has Seccomp: $1: $(printf '%s' "$modes" | tr '\n' ',')"
	return 0
}

# Boot the echo guest (it waits for serial input forever) and wait until it runs.
boot_echo() {
	configure "console=ttyS0 ember.test=echo" "$@"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_for grep -q "echo: ready" "$TMP/out" || { fail "guest never became ready"; return 1; }
}

test_every_thread_is_filtered() {
	need_kvm || return
	start_ember || return
	boot_echo '{"vcpu_count": 2, "mem_size_mib": 64}' || return
	# After the guest runs, and after a few more API calls on the filtered API thread.
	api_ok GET /machine-config
	api_ok GET /
	# main (VMM), the API thread, two vCPUs.
	assert_all_threads 2 4
	assert_contains "$(thread_modes "$EMBER_PID")" "fc_vcpu 1" "thread names"
	kill -0 "$EMBER_PID" || fail "ember died: $(cat "$TMP/err")"
}

# The VMM thread's work after boot: serial input from a pipe, pause/resume
# (vCPU kicks), metrics, Ctrl+Alt+Del; then the guest's own reset ends the run.
test_full_run_without_violation() {
	need_kvm || return
	mkfifo "$TMP/in"
	: >"$TMP/metrics"
	SOCK=$TMP/api.sock
	"$EMBER" --api-sock "$SOCK" --metrics-path "$TMP/metrics" <"$TMP/in" >"$TMP/out" 2>"$TMP/err" &
	EMBER_PID=$!
	exec 7>"$TMP/in"
	wait_for test -S "$SOCK" || { fail "no API socket"; exec 7>&-; return; }
	configure "console=ttyS0 ember.test=echo" '{"vcpu_count": 2, "mem_size_mib": 64}'
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_for grep -q "echo: ready" "$TMP/out" || fail "guest never became ready"
	assert_all_threads 2 4
	api_ok PATCH /vm '{"state": "Paused"}'
	api_ok PATCH /vm '{"state": "Resumed"}'
	api_ok PUT /actions '{"action_type": "FlushMetrics"}'
	printf 'seccomp ping\n' >&7
	wait_for grep -q "seccomp ping" "$TMP/out" || fail "no echo of the input"
	printf 'quit\n' >&7
	wait_exit 30 || fail "guest did not exit after quit"
	exec 7>&-
	assert_eq 0 "$EXIT_CODE" "exit code"
	assert_contains "$(cat "$TMP/out")" "bye" "serial output"
	assert_not_contains "$(cat "$TMP/err")" "bad syscall" "ember stderr"
	grep -q '"num_faults":0' "$TMP/metrics" || fail "metrics: no seccomp num_faults 0 in $(cat "$TMP/metrics")"
}

test_hello_and_timer_runs_exit_cleanly() {
	need_kvm || return
	local t
	for t in hello count=3 triple-fault; do
		start_ember || return
		configure "console=ttyS0 ember.test=$t"
		api_ok PUT /actions '{"action_type": "InstanceStart"}'
		wait_exit 30 || fail "$t: guest did not exit"
		assert_eq 0 "$EXIT_CODE" "$t: exit code"
		assert_not_contains "$(cat "$TMP/err")" "bad syscall" "$t: ember stderr"
	done
}

# Guest output to a blocking pipe or a terminal: the serial waits for it on the vCPU thread.
run_hello_config() { # writes the config file for a hello run
	printf '{"boot-source": {"kernel_image_path": "%s", "boot_args": "%s"}, %s}\n' \
		"$GUEST_ELF" "console=ttyS0 ember.test=hello" \
		'"machine-config": {"vcpu_count": 1, "mem_size_mib": 64}' >"$TMP/vm.json"
}

test_serial_to_pipe_and_terminal() {
	need_kvm || return
	local code
	run_hello_config
	"$EMBER" --no-api --config-file "$TMP/vm.json" 2>"$TMP/err" </dev/null | cat >"$TMP/out"
	code=${PIPESTATUS[0]}
	assert_eq 0 "$code" "exit code (stdout a pipe)"
	assert_contains "$(cat "$TMP/out")" "hello from ember-test-guest" "serial output (pipe)"
	assert_not_contains "$(cat "$TMP/err")" "bad syscall" "ember stderr (pipe)"
	command -v script >/dev/null || { skip "no script(1) for a terminal"; return; }
	script -qec "$EMBER --no-api --config-file $TMP/vm.json; echo EXIT=\$?" /dev/null \
		</dev/null >"$TMP/tty" 2>&1
	assert_contains "$(tr -d '\r' <"$TMP/tty")" "hello from ember-test-guest" "serial output (tty)"
	assert_contains "$(tr -d '\r' <"$TMP/tty")" "EXIT=0" "exit code (tty)"
	assert_not_contains "$(cat "$TMP/tty")" "bad syscall" "ember output (tty)"
}

test_forbidden_syscall_exits_148() {
	need_probe || return
	local c out code
	for c in vmm api vcpu; do
		out=$("$PROBE" "$c" forbidden 2>&1)
		code=$?
		assert_eq 148 "$code" "$c: probe exit code ($out)"
		assert_contains "$out" "Shutting down VM after intercepting a bad syscall" "$c: probe output"
		assert_contains "$out" "under the $c filter" "$c: probe output"
	done
	assert_contains "$("$PROBE" vmm forbidden 2>&1)" "bad syscall (59)" "vmm: execve"
	assert_contains "$("$PROBE" api forbidden 2>&1)" "[seccomp:fc_api] " "api: thread name"
	assert_contains "$("$PROBE" api forbidden 2>&1)" "bad syscall (41)" "api: socket(AF_INET)"
	assert_contains "$("$PROBE" vcpu forbidden 2>&1)" "bad syscall (16)" "vcpu: KVM_CREATE_VM"
}

test_allowed_syscalls_pass() {
	need_probe || return
	local c out code
	for c in vmm api vcpu; do
		out=$("$PROBE" "$c" allowed 2>&1)
		code=$?
		assert_eq 0 "$code" "$c: probe exit code ($out)"
		assert_eq "allowed $c" "$out" "$c: probe output"
	done
}

test_no_seccomp() {
	need_kvm || return
	start_ember --no-seccomp || return
	boot_echo || return
	assert_all_threads 0 3
}

# The built-in filters as a JSON file behave like the built-in filters;
# the same file without the vCPU's ioctl rules kills ember at the first KVM_RUN.
test_custom_filter_file_is_honoured() {
	need_kvm || return
	need_probe || return
	"$PROBE" dump >"$TMP/full.json" || { fail "probe dump failed"; return; }
	"$PROBE" dump vcpu ioctl >"$TMP/no-ioctl.json" || { fail "probe dump failed"; return; }

	start_ember --seccomp-filter "$TMP/full.json" || return
	boot_echo || return
	assert_all_threads 2 3
	stop_ember
	rm -f "$SOCK"

	start_ember --seccomp-filter "$TMP/no-ioctl.json" || return
	configure "console=ttyS0 ember.test=hello"
	# The first KVM_RUN may end ember before it answers: no status to check.
	api PUT /actions '{"action_type": "InstanceStart"}'
	wait_exit 30 || fail "ember did not die"
	assert_eq 148 "$EXIT_CODE" "exit code"
	assert_contains "$(cat "$TMP/err")" "Shutting down VM after intercepting a bad syscall (16)" \
		"ember stderr"
	assert_contains "$(cat "$TMP/err")" "under the vcpu filter" "ember stderr"
	assert_not_contains "$(cat "$TMP/out")" "hello from ember-test-guest" "serial output"
}

# An allow-everything file (Firecracker's unimplemented.json): filters installed, nothing trapped.
test_permissive_filter_file() {
	need_kvm || return
	local f='{"default_action": "allow", "filter_action": "trap", "filter": []}'
	printf '{"vmm": %s, "api": %s, "vcpu": %s}\n' "$f" "$f" "$f" >"$TMP/allow.json"
	start_ember --seccomp-filter "$TMP/allow.json" || return
	boot_echo || return
	assert_all_threads 2 3
}

test_bad_filter_file_is_a_startup_error() {
	local code
	printf '{"vmm": {"default_action": "trap", "filter_action": "allow", "filter": [' >"$TMP/bad.json"
	printf '{"syscall": "no_such_syscall"}]}, "api": {}, "vcpu": {}}' >>"$TMP/bad.json"
	"$EMBER" --api-sock "$TMP/api.sock" --seccomp-filter "$TMP/bad.json" >"$TMP/out" 2>"$TMP/err" </dev/null
	code=$?
	assert_eq 1 "$code" "exit code (bad file)"
	assert_contains "$(cat "$TMP/err")" 'vmm.filter[0].syscall: unknown syscall "no_such_syscall"' "stderr"
	[ -e "$TMP/api.sock" ] && fail "the API socket was created"

	"$EMBER" --api-sock "$TMP/api.sock" --seccomp-filter "$TMP/missing.json" >"$TMP/out" 2>"$TMP/err" </dev/null
	code=$?
	assert_eq 1 "$code" "exit code (missing file)"
	assert_contains "$(cat "$TMP/err")" "$TMP/missing.json" "stderr"

	"$EMBER" --api-sock "$TMP/api.sock" --seccomp-filter "$TMP/bad.json" --no-seccomp \
		>"$TMP/out" 2>"$TMP/err" </dev/null
	code=$?
	assert_eq 153 "$code" "exit code (--seccomp-filter with --no-seccomp)"
}

run_tests "$@"
