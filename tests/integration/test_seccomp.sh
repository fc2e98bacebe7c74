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
	# The last metrics line (written last, covering the whole run) must say no
	# seccomp fault happened; an earlier line saying 0 proves nothing.
	local last_metrics; last_metrics=$(grep num_faults "$TMP/metrics" | tail -n 1)
	assert_contains "$last_metrics" '"num_faults":0' "last metrics line"
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
	"$EMBER" --api-sock "$TMP/api.sock" --seccomp-filter "$TMP/bad.json" >"$TMP/out" 2>"$TMP/bad.err" </dev/null
	code=$?
	assert_eq 1 "$code" "exit code (bad file)"
	assert_contains "$(cat "$TMP/bad.err")" 'vmm.filter[0].syscall: unknown syscall "no_such_syscall"' "stderr"
	[ -e "$TMP/api.sock" ] && fail "the API socket was created"

	"$EMBER" --api-sock "$TMP/api.sock" --seccomp-filter "$TMP/missing.json" >"$TMP/out" 2>"$TMP/missing.err" </dev/null
	code=$?
	assert_eq 1 "$code" "exit code (missing file)"
	assert_contains "$(cat "$TMP/missing.err")" "$TMP/missing.json" "stderr"

	"$EMBER" --api-sock "$TMP/api.sock" --seccomp-filter "$TMP/bad.json" --no-seccomp \
		>"$TMP/out" 2>"$TMP/err" </dev/null
	code=$?
	assert_eq 153 "$code" "exit code (--seccomp-filter with --no-seccomp)"
}

# ---- every device at once -----------------------------------------------------
# A drive, a net interface on a tap in a private network namespace (as
# test_net.sh does), vsock and entropy all attached under the default filters;
# each device's guest scenario in turn, one ember per scenario, with the host
# peers of test_net.sh (net_peer) and test_vsock.sh (vsock_peer).

# all_devices_run NS SCENARIO: one ember inside NS with every device; the guest runs SCENARIO.
all_devices_run() {
	local ns=$1 scenario=$2 net_pid="" vsock_pid="" out
	rm -f "$TMP/v.sock" "$TMP/v.sock_52"
	: >"$TMP/metrics"
	start_ember --metrics-path "$TMP/metrics" || return 1
	configure "console=ttyS0 reboot=k panic=1 ember.test=$scenario" \
		'{"vcpu_count": 1, "mem_size_mib": 128}'
	api_ok PUT /drives/rootfs "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$TMP/disk.img\", \"is_root_device\": true}"
	api_ok PUT /network-interfaces/eth0 \
		'{"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "06:00:ac:10:00:02"}'
	api_ok PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$TMP/v.sock\"}"
	api_ok PUT /entropy '{}'
	case $scenario in
	net)
		ip netns exec "$ns" "$BUILD/tests/integration/net_peer" tap0 ember-guest-frame \
			ember-host-frame 60 >"$TMP/net-peer" 2>&1 &
		net_pid=$!
		wait_for grep -q "peer: ready" "$TMP/net-peer" || fail "$scenario: net_peer not ready"
		;;
	vsock)
		"$BUILD/tests/integration/vsock_peer" listen "$TMP/v.sock_52" "hello from the host" \
			>"$TMP/vsock-peer" 2>&1 &
		vsock_pid=$!
		wait_for grep -q listening "$TMP/vsock-peer" || fail "$scenario: vsock_peer not listening"
		;;
	esac
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	# A metrics flush on the filtered VMM thread. The quick scenarios can end
	# the guest, and ember with it, before this request connects (ember logs
	# its exit, then removes the socket; the exit flushes the metrics too):
	# no answer is then no failure, and the exit code is checked below.
	api PUT /actions '{"action_type": "FlushMetrics"}'
	if [ "$STATUS" != 204 ] && ! { [ "$STATUS" = 000 ] && grep -q "Ember exiting" "$TMP/err"; }; then
		fail "$scenario: PUT /actions FlushMetrics: expected 204, got $STATUS $BODY"
	fi
	if [ "$scenario" = vsock ]; then
		local i
		for i in $(seq 1 600); do
			grep -q "vsock: listening on port 1234" "$TMP/out" && break
			sleep 0.1
		done
		"$BUILD/tests/integration/vsock_peer" connect "$TMP/v.sock" 1234 "echo me, guest" \
			>"$TMP/vsock-peer-1234" 2>&1 || fail "$scenario: host connect: $(cat "$TMP/vsock-peer-1234")"
	fi
	wait_exit 120 || fail "$scenario: guest did not exit: $(tail -3 "$TMP/out")"
	[ -z "$net_pid" ] || { kill "$net_pid" 2>/dev/null; wait "$net_pid" 2>/dev/null; }
	[ -z "$vsock_pid" ] || { kill "$vsock_pid" 2>/dev/null; wait "$vsock_pid" 2>/dev/null; }
	out=$(cat "$TMP/out")
	assert_eq 0 "$EXIT_CODE" "$scenario: exit code"
	assert_not_contains "$(cat "$TMP/err")" "bad syscall" "$scenario: ember stderr"
	grep -qE 'Sanitizer|runtime error:' "$TMP/err" && fail "$scenario: sanitizer report"
	# Proof the scenario really drove its device (the device tests check the details).
	case $scenario in
	virtio-list)
		assert_contains "$out" "virtio-blk at " "$scenario: device list"
		assert_contains "$out" "virtio-net at " "$scenario: device list"
		assert_contains "$out" "virtio-vsock at " "$scenario: device list"
		assert_contains "$out" "virtio-rng at " "$scenario: device list"
		;;
	blk)
		assert_contains "$out" 'blk: read "hello-from-host!"' "$scenario: serial output"
		assert_contains "$out" "blk: write status 0" "$scenario: serial output"
		assert_contains "$out" "blk: flush status 0" "$scenario: serial output"
		;;
	rng) assert_contains "$out" "rng: ok" "$scenario: serial output" ;;
	net)
		assert_contains "$out" "net: sent 31 bytes" "$scenario: serial output"
		assert_contains "$out" 'type 0x88b5 num_buffers 1: "ember-host-frame"' "$scenario: serial output"
		assert_contains "$(cat "$TMP/net-peer")" "peer: sent" "$scenario: net_peer"
		;;
	vsock)
		assert_contains "$out" 'vsock: host replied "hello from the host"' "$scenario: serial output"
		assert_contains "$out" 'vsock: echoed "echo me, guest"' "$scenario: serial output"
		assert_contains "$out" "vsock: done" "$scenario: serial output"
		;;
	esac
	# Flushed by the API call and at exit.
	if grep -q '"num_faults"' "$TMP/metrics"; then
		grep -q '"num_faults":[1-9]' "$TMP/metrics" && fail "$scenario: seccomp num_faults not 0"
		grep -q '"num_faults":0' "$TMP/metrics" || fail "$scenario: no num_faults 0 in the metrics"
	fi
	return 0
}

test_every_device_under_seccomp() {
	need_root || return
	need_kvm || return
	command -v ip >/dev/null || { skip "needs iproute2 (ip)"; return; }
	[ -c /dev/net/tun ] || { skip "no /dev/net/tun"; return; }
	local p ns scenario
	for p in net_peer vsock_peer; do
		[ -x "$BUILD/tests/integration/$p" ] || { skip "$p not built"; return; }
	done
	ns=ember-sc-$$-$RANDOM
	ip netns add "$ns" || { fail "ip netns add failed"; return; }
	ip netns exec "$ns" sh -c 'echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6;
		echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6' 2>/dev/null
	if ip -n "$ns" tuntap add dev tap0 mode tap && ip -n "$ns" link set tap0 up; then
		# start_ember runs "$EMBER": make that ember inside the namespace.
		printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$ns" "$BUILD/ember" >"$TMP/ember-in-ns"
		chmod +x "$TMP/ember-in-ns"
		EMBER=$TMP/ember-in-ns
		{ printf 'hello-from-host!'; head -c $((2048 * 512 - 16)) /dev/zero; } >"$TMP/disk.img"
		for scenario in virtio-list blk rng net vsock; do
			all_devices_run "$ns" "$scenario" || break
			stop_ember
		done
		stop_ember
		EMBER=$BUILD/ember
	else
		fail "cannot create tap0 in $ns"
	fi
	ip netns del "$ns" 2>/dev/null
}

run_tests "$@"
