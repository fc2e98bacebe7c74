#!/usr/bin/env bash
# virtio-vsock on real KVM with the test guest's `vsock` scenario and real
# Unix sockets (Firecracker's hybrid design), under the default seccomp
# filters:
#   guest-initiated: the guest connects to host port 52, i.e. the Unix socket
#     "<uds_path>_52" where vsock_peer listens, sends a line, prints the reply;
#   host-initiated: vsock_peer connects to uds_path, sends "CONNECT 1234\n",
#     gets "OK <host port>\n", and the guest echoes its line back.
. "$(dirname "$0")/lib.sh"

PEER=$BUILD/tests/integration/vsock_peer
GUEST_CID=3
FIRST_HOST_PORT=1073741824 # 2^30: the first local port of a host-initiated connection

need_peer() {
	[ -x "$PEER" ] || { skip "$PEER not built"; return 1; }
}

# wait_long CMD...: like wait_for, but for the emulated guest (~60 s).
wait_long() {
	local i
	for i in $(seq 1 600); do "$@" && return 0; sleep 0.1; done
	return 1
}

# boot_vsock: configure the test guest's vsock scenario with uds_path $TMP/v.sock and start it.
boot_vsock() {
	api_ok PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 128}'
	api_ok PUT /boot-source "{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 reboot=k panic=1 ember.test=vsock\"}"
	api_ok PUT /vsock "{\"guest_cid\": $GUEST_CID, \"uds_path\": \"$TMP/v.sock\"}"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
}

test_vsock_guest_and_host_initiated() {
	need_kvm || return
	need_peer || return
	local lpid out
	"$PEER" listen "$TMP/v.sock_52" "hello from the host" >"$TMP/peer52" 2>&1 &
	lpid=$!
	wait_for grep -q listening "$TMP/peer52" || { fail "host listener: $(cat "$TMP/peer52")"; kill $lpid; return; }
	start_ember || { kill $lpid; return; }
	boot_vsock
	if ! wait_long grep -q "vsock: listening on port 1234" "$TMP/out"; then
		fail "guest never listened: $(tail -5 "$TMP/out")"
		kill $lpid 2>/dev/null
		return
	fi
	# The guest-initiated connection is over: the host saw the line and the end of the stream.
	wait $lpid || fail "host listener failed: $(cat "$TMP/peer52")"
	assert_eq "listening
got: hello from the guest
eof" "$(cat "$TMP/peer52")" "host listener output"

	"$PEER" connect "$TMP/v.sock" 1234 "echo me, guest" >"$TMP/peer1234" 2>&1 ||
		fail "host connect failed: $(cat "$TMP/peer1234")"
	assert_eq "OK $FIRST_HOST_PORT
echo: echo me, guest" "$(cat "$TMP/peer1234")" "host client output"

	wait_exit 60 || fail "guest did not finish: $(tail -5 "$TMP/out")"
	assert_eq 0 "$EXIT_CODE" "exit code"
	out=$(cat "$TMP/out")
	assert_contains "$out" "virtio-vsock at 0xd0001000 irq 5 id 19" "device list"
	assert_contains "$out" "vsock: cid $GUEST_CID" "serial output"
	assert_contains "$out" "vsock: connected to host port 52" "serial output"
	assert_contains "$out" 'vsock: host replied "hello from the host"' "serial output"
	assert_contains "$out" "vsock: port 52 closed" "serial output"
	assert_contains "$out" "vsock: accepted host port $FIRST_HOST_PORT" "serial output"
	assert_contains "$out" 'vsock: echoed "echo me, guest"' "serial output"
	assert_contains "$out" "vsock: done" "serial output"
	# The device's socket is gone with the VM.
	[ ! -e "$TMP/v.sock" ] || fail "$TMP/v.sock left behind"
}

test_vsock_guest_connect_refused() {
	need_kvm || return
	# Nothing listens on $TMP/v.sock_52: the guest's connection request gets an RST.
	start_ember || return
	boot_vsock
	wait_exit 60 || fail "guest did not finish: $(tail -5 "$TMP/out")"
	assert_eq 0 "$EXIT_CODE" "exit code"
	assert_contains "$(cat "$TMP/out")" "vsock: connection to host port 52 refused" "serial output"
}

test_vsock_bad_connect_line_keeps_vm_serving() {
	need_kvm || return
	need_peer || return
	local lpid
	"$PEER" listen "$TMP/v.sock_52" "still here" >"$TMP/peer52" 2>&1 &
	lpid=$!
	wait_for grep -q listening "$TMP/peer52" || { fail "host listener: $(cat "$TMP/peer52")"; kill $lpid; return; }
	start_ember || { kill $lpid; return; }
	boot_vsock
	wait_long grep -q "vsock: listening on port 1234" "$TMP/out" || fail "guest never listened"
	wait $lpid
	# A client with a bad command is dropped (no "OK"); the next one is served.
	"$PEER" connect "$TMP/v.sock" "not-a-port" "x" >"$TMP/bad" 2>&1 && fail "bad CONNECT was answered: $(cat "$TMP/bad")"
	assert_not_contains "$(cat "$TMP/bad")" "OK" "bad client output"
	"$PEER" connect "$TMP/v.sock" 1234 "after a bad client" >"$TMP/peer1234" 2>&1 ||
		fail "host connect failed: $(cat "$TMP/peer1234")"
	assert_contains "$(cat "$TMP/peer1234")" "echo: after a bad client" "host client output"
	wait_exit 60 || fail "guest did not finish"
	assert_eq 0 "$EXIT_CODE" "exit code"
	assert_contains "$(cat "$TMP/out")" 'vsock: host replied "still here"' "serial output"
}

run_tests "$@"
