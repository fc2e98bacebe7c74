#!/usr/bin/env bash
# Boot the test guest on real KVM through the real API socket (curl) and the
# config file, and check serial output, exit codes and VM lifecycle.
. "$(dirname "$0")/lib.sh"

# configure KERNEL BOOT_ARGS [MACHINE_JSON]
configure() {
	local machine='{"vcpu_count": 1, "mem_size_mib": 128}'
	[ $# -ge 3 ] && machine=$3
	api_ok PUT /machine-config "$machine"
	api_ok PUT /boot-source "{\"kernel_image_path\": \"$1\", \"boot_args\": \"$2\"}"
}

boot_hello() { # KERNEL
	need_kvm || return
	start_ember || return
	configure "$1" "console=ttyS0 reboot=k panic=1 ember.test=hello"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_exit 30 || fail "guest did not exit"
	assert_eq 0 "$EXIT_CODE" "exit code"
	local out; out=$(cat "$TMP/out")
	assert_contains "$out" "ember-test-guest: booted" "serial output"
	assert_contains "$out" "cmdline: console=ttyS0 reboot=k panic=1 ember.test=hello" "serial output"
	assert_contains "$out" "hello from ember-test-guest" "serial output"
	assert_contains "$out" "mem: 128 MiB" "serial output"
	assert_contains "$out" "cpus: 1" "serial output"
}

test_boot_elf_hello() { boot_hello "$GUEST_ELF"; }
test_boot_bzimage_hello() { boot_hello "$GUEST_BZ"; }

test_vcpus_and_memory_reach_the_guest() {
	need_kvm || return
	start_ember || return
	configure "$GUEST_ELF" "console=ttyS0 ember.test=hello" '{"vcpu_count": 4, "mem_size_mib": 300}'
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_exit 30 || fail "guest did not exit"
	assert_eq 0 "$EXIT_CODE" "exit code"
	assert_contains "$(cat "$TMP/out")" "cpus: 4" "serial output (MP table)"
	assert_contains "$(cat "$TMP/out")" "mem: 300 MiB" "serial output (e820)"
}

test_memory_above_the_mmio_hole() {
	need_kvm || return
	start_ember || return
	# 3.5 GiB: RAM continues above 4 GiB; memfd pages the guest never touches cost nothing.
	configure "$GUEST_ELF" "console=ttyS0 ember.test=hello" '{"vcpu_count": 1, "mem_size_mib": 3584}'
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_exit 30 || fail "guest did not exit"
	assert_eq 0 "$EXIT_CODE" "exit code"
	assert_contains "$(cat "$TMP/out")" "mem: 3584 MiB" "serial output (e820)"
}

test_huge_pages_back_guest_memory() {
	need_kvm || return
	need_root || return
	local saved; saved=$(cat /proc/sys/vm/nr_hugepages)
	echo $((saved + 40)) >/proc/sys/vm/nr_hugepages
	start_ember || { echo "$saved" >/proc/sys/vm/nr_hugepages; return; }
	configure "$GUEST_ELF" "console=ttyS0 ember.test=halt-forever" \
		'{"vcpu_count": 1, "mem_size_mib": 64, "huge_pages": "2M"}'
	# Available = free minus reserved-but-not-yet-faulted pages.
	local avail='/HugePages_Free/ {f = $2} /HugePages_Rsvd/ {r = $2} END {print f - r}'
	local free_before; free_before=$(awk "$avail" /proc/meminfo)
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_for grep -q halting "$TMP/out" || fail "guest did not boot on huge pages"
	assert_contains "$(cat "$TMP/out")" "mem: 64 MiB" "serial output"
	# All 32 pages are reserved for the guest when its memory is mapped.
	local free_after; free_after=$(awk "$avail" /proc/meminfo)
	assert_eq $((free_before - 32)) "$free_after" "available 2 MiB huge pages"
	stop_ember
	echo "$saved" >/proc/sys/vm/nr_hugepages
}

test_huge_pages_unavailable_is_a_clear_error() {
	need_kvm || return
	need_root || return
	local saved; saved=$(cat /proc/sys/vm/nr_hugepages)
	echo 0 >/proc/sys/vm/nr_hugepages
	start_ember || { echo "$saved" >/proc/sys/vm/nr_hugepages; return; }
	configure "$GUEST_ELF" "console=ttyS0 ember.test=hello" \
		'{"vcpu_count": 1, "mem_size_mib": 64, "huge_pages": "2M"}'
	api PUT /actions '{"action_type": "InstanceStart"}'
	assert_eq 400 "$STATUS" "InstanceStart without huge pages"
	assert_contains "$BODY" "2M huge pages" "fault_message"
	api GET /
	assert_contains "$BODY" '"state":"Not started"' "state"
	echo "$saved" >/proc/sys/vm/nr_hugepages
}

test_default_cmdline_is_firecrackers() {
	need_kvm || return
	start_ember || return
	api_ok PUT /boot-source "{\"kernel_image_path\": \"$GUEST_ELF\"}"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_exit 30 || fail "guest did not exit"
	assert_contains "$(cat "$TMP/out")" \
		"cmdline: reboot=k panic=1 pci=off nomodule 8250.nr_uarts=0 i8042.noaux i8042.nomux i8042.dumbkbd swiotlb=noforce" \
		"serial output"
}

test_echo_serial_input_from_pipe() {
	need_kvm || return
	mkfifo "$TMP/in"
	SOCK=$TMP/api.sock
	"$EMBER" --api-sock "$SOCK" <"$TMP/in" >"$TMP/out" 2>"$TMP/err" &
	EMBER_PID=$!
	exec 7>"$TMP/in"
	wait_for test -S "$SOCK" || { fail "no API socket"; exec 7>&-; return; }
	configure "$GUEST_ELF" "console=ttyS0 ember.test=echo"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_for grep -q "echo: ready" "$TMP/out" || fail "guest never became ready"
	printf 'ping ember\n' >&7
	wait_for grep -q "ping ember" "$TMP/out" || fail "no echo of the input"
	printf 'quit\n' >&7
	wait_exit 30 || fail "guest did not exit after quit"
	exec 7>&-
	assert_eq 0 "$EXIT_CODE" "exit code"
	assert_contains "$(cat "$TMP/out")" "bye" "serial output"
}

test_count_scenario_runs_to_the_end() {
	need_kvm || return
	start_ember || return
	configure "$GUEST_ELF" "console=ttyS0 ember.test=count=5"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_exit 30 || fail "guest did not exit"
	assert_eq 0 "$EXIT_CODE" "exit code"
	local out; out=$(cat "$TMP/out")
	for i in 1 2 3 4 5; do assert_contains "$out" "count: $i" "serial output"; done
	assert_contains "$out" "count: done" "serial output"
}

test_triple_fault_ends_the_vm() {
	need_kvm || return
	start_ember || return
	configure "$GUEST_ELF" "console=ttyS0 ember.test=triple-fault"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_exit 30 || fail "VM did not end on a triple fault"
	# Like Firecracker: KVM_EXIT_SHUTDOWN (how reboot=t reboots) is a clean stop.
	assert_eq 0 "$EXIT_CODE" "exit code"
	assert_contains "$(cat "$TMP/err")" "KVM_EXIT_SHUTDOWN" "ember log"
}

test_pause_resume_and_state() {
	need_kvm || return
	start_ember || return
	configure "$GUEST_ELF" "console=ttyS0 ember.test=halt-forever" '{"vcpu_count": 2, "mem_size_mib": 128}'
	api GET /
	assert_contains "$BODY" '"state":"Not started"' "GET / before boot"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_for grep -q halting "$TMP/out" || fail "guest did not reach halt"
	api GET /
	assert_contains "$BODY" '"state":"Running"' "GET / after boot"
	api_ok PATCH /vm '{"state": "Paused"}'
	api GET /
	assert_contains "$BODY" '"state":"Paused"' "GET / after pause"
	api_ok PATCH /vm '{"state": "Resumed"}'
	api GET /
	assert_contains "$BODY" '"state":"Running"' "GET / after resume"
	kill -0 "$EMBER_PID" || fail "ember died"
}

test_pause_really_stops_the_guest() {
	need_kvm || return
	start_ember || return
	configure "$GUEST_ELF" "console=ttyS0 ember.test=count=150"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_for grep -q "count: 10$" "$TMP/out" || { fail "count never reached 10"; return; }
	api_ok PATCH /vm '{"state": "Paused"}'
	local before after
	before=$(wc -c <"$TMP/out")
	# Running, the guest prints a line every 10 ms: 0.5 s without one byte
	# (a window of ~50 lines) is a stopped guest.
	holds_for 0.5 size_is "$TMP/out" "$before" ||
		fail "serial output grew while paused: $before -> $(wc -c <"$TMP/out") bytes"
	assert_not_contains "$(cat "$TMP/out")" "count: done" "output before resume"
	api_ok PATCH /vm '{"state": "Resumed"}'
	wait_exit 30 || fail "guest did not finish after resume"
	assert_eq 0 "$EXIT_CODE" "exit code"
	# Every line exactly once and in order: nothing lost or repeated across the pause.
	local expected; expected=$(seq 1 150 | sed 's/^/count: /')
	assert_eq "$expected" "$(grep -E '^count: [0-9]+$' "$TMP/out")" "count lines"
}

test_send_ctrl_alt_del_reaches_the_guest() {
	need_kvm || return
	start_ember || return
	configure "$GUEST_ELF" "console=ttyS0 ember.test=ctrl-alt-del"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_for grep -q "ctrl-alt-del: ready" "$TMP/out" || { fail "guest never became ready"; return; }
	api_ok PUT /actions '{"action_type": "SendCtrlAltDel"}'
	wait_exit 30 || fail "guest did not reset after Ctrl+Alt+Del"
	assert_eq 0 "$EXIT_CODE" "exit code"
	assert_contains "$(cat "$TMP/out")" "ctrl-alt-del: received" "serial output"
}

test_serial_out_path_and_log_file() {
	need_kvm || return
	start_ember || return
	api_ok PUT /logger "{\"log_path\": \"$TMP/ember.log\", \"level\": \"Info\"}"
	api_ok PUT /serial "{\"serial_out_path\": \"$TMP/console\"}"
	configure "$GUEST_ELF" "console=ttyS0 ember.test=hello"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_exit 30 || fail "guest did not exit"
	assert_contains "$(cat "$TMP/console" 2>/dev/null)" "hello from ember-test-guest" "serial_out_path file"
	assert_not_contains "$(cat "$TMP/out")" "hello from ember-test-guest" "stdout"
	assert_contains "$(cat "$TMP/ember.log" 2>/dev/null)" "i8042" "log file"
}

# With logging quiet, the first thing to need the time zone is libmicrohttpd on
# the seccomp-filtered API thread: it must already be loaded.
test_api_under_seccomp_with_quiet_logging() {
	need_kvm || return
	start_ember --level Error || return
	configure "$GUEST_ELF" "console=ttyS0 ember.test=hello"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_exit 30 || fail "guest did not exit"
	assert_eq 0 "$EXIT_CODE" "exit code"
}

test_boot_timer_logs_boot_time() {
	need_kvm || return
	start_ember --boot-timer || return
	configure "$GUEST_ELF" "console=ttyS0 ember.boottimer ember.test=hello"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_exit 30 || fail "guest did not exit"
	assert_contains "$(cat "$TMP/err")" "Guest-boot-time =" "ember log"
}

test_config_file_no_api() {
	need_kvm || return
	cat >"$TMP/vm.json" <<JSON
{
  "boot-source": {"kernel_image_path": "$GUEST_BZ", "boot_args": "console=ttyS0 ember.test=hello"},
  "machine-config": {"vcpu_count": 2, "mem_size_mib": 64}
}
JSON
	timeout 30 "$EMBER" --no-api --config-file "$TMP/vm.json" >"$TMP/out" 2>"$TMP/err" </dev/null
	assert_eq 0 "$?" "exit code"
	assert_contains "$(cat "$TMP/out")" "hello from ember-test-guest" "serial output"
	assert_contains "$(cat "$TMP/out")" "cpus: 2" "serial output"
	assert_contains "$(cat "$TMP/out")" "mem: 64 MiB" "serial output"
}

test_config_file_errors_exit_152() {
	echo '{"machine-config": {"vcpu_count": 0, "mem_size_mib": 64}}' >"$TMP/bad.json"
	# Each run's stderr in its own file: the sanitizer check reads every one.
	"$EMBER" --no-api --config-file "$TMP/bad.json" >"$TMP/out" 2>"$TMP/bad.err" </dev/null
	assert_eq 152 "$?" "exit code for an invalid config"
	echo '{"boot-source": {"kernel_image_path": "/nonexistent"}}' >"$TMP/bad2.json"
	"$EMBER" --no-api --config-file "$TMP/bad2.json" >"$TMP/out" 2>"$TMP/bad2.err" </dev/null
	assert_eq 152 "$?" "exit code for a missing kernel"
	echo '{not json' >"$TMP/bad3.json"
	"$EMBER" --no-api --config-file "$TMP/bad3.json" >"$TMP/out" 2>"$TMP/bad3.err" </dev/null
	assert_eq 152 "$?" "exit code for malformed JSON"
}

test_bad_arguments_exit_153() {
	"$EMBER" --no-such-flag >"$TMP/out" 2>"$TMP/flag.err"
	assert_eq 153 "$?" "unknown flag"
	"$EMBER" --id '../x' --api-sock "$TMP/s" >"$TMP/out" 2>"$TMP/id.err"
	assert_eq 153 "$?" "bad --id"
	"$EMBER" --no-api >"$TMP/out" 2>"$TMP/noapi.err"
	assert_eq 153 "$?" "--no-api without --config-file"
	"$EMBER" --version >"$TMP/out" 2>"$TMP/version.err"
	assert_eq 0 "$?" "--version"
	assert_contains "$(cat "$TMP/out")" "Ember v" "--version output"
}

test_bad_kernel_is_refused_and_vm_stays_configurable() {
	need_kvm || return
	start_ember || return
	head -c 4096 /dev/urandom >"$TMP/garbage"
	api_ok PUT /boot-source "{\"kernel_image_path\": \"$TMP/garbage\"}"
	api PUT /actions '{"action_type": "InstanceStart"}'
	assert_eq 400 "$STATUS" "InstanceStart with a garbage kernel"
	api GET /
	assert_contains "$BODY" '"state":"Not started"' "state after a failed start"
	# The same process can still boot once given a real kernel.
	configure "$GUEST_ELF" "console=ttyS0 ember.test=hello"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_exit 30 || fail "guest did not exit"
	assert_eq 0 "$EXIT_CODE" "exit code"
}

run_tests "$@"
