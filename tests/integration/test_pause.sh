#!/usr/bin/env bash
# PATCH /vm Paused quiesces the devices and freezes the rate limiters, on
# real KVM: host data that arrives while paused is not delivered to the
# guest (metrics and serial say so) until resume, and a paused interval
# banks no tokens.
. "$(dirname "$0")/lib.sh"

NS=""
GUEST_MAC=06:00:ac:10:00:02
HOST_MAC=02:00:00:00:00:fe
HOST_TEXT=ember-host-frame-while-paused
ETHERTYPE=88b5

now_ms() { date +%s%3N; }

flush_metrics() {
	kill -0 "$EMBER_PID" 2>/dev/null || return 1
	curl -s -o /dev/null --unix-socket "$SOCK" -X PUT -H 'Content-Type: application/json' \
		--data-binary '{"action_type": "FlushMetrics"}' http://localhost/actions
}

# last NAME: NAME's value in the latest flushed line (a delta since the flush before).
last() {
	tail -n 1 "$TMP/metrics" | grep -o "\"$1\":[0-9]*" | head -1 | cut -d: -f2
}

last_ts() { tail -n 1 "$TMP/metrics" | grep -o '"utc_timestamp_ms":[0-9]*' | cut -d: -f2; }

set_state() { api_ok PATCH /vm "{\"state\": \"$1\"}"; }

drop_ns() {
	EMBER=$BUILD/ember
	[ -n "$NS" ] && ip netns del "$NS" 2>/dev/null
	NS=""
}

make_ns() {
	NS=ember-pause-$$-$RANDOM
	ip netns add "$NS" || { fail "ip netns add failed"; return 1; }
	ip netns exec "$NS" sh -c 'echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6;
		echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6' 2>/dev/null
	ip -n "$NS" tuntap add dev tap0 mode tap || { fail "cannot create tap0"; return 1; }
	ip -n "$NS" link set tap0 up || { fail "cannot bring tap0 up"; return 1; }
	printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$NS" "$BUILD/ember" >"$TMP/ember-in-ns"
	chmod +x "$TMP/ember-in-ns"
	EMBER=$TMP/ember-in-ns
}

# One Ethernet frame from HOST_MAC to the guest, written to the tap's wire.
send_frame() {
	ip netns exec "$NS" python3 - "$GUEST_MAC" "$HOST_MAC" "$ETHERTYPE" "$HOST_TEXT" <<'EOF'
import socket, sys
dst, src, etype, text = sys.argv[1:5]
frame = (bytes.fromhex(dst.replace(':', '')) + bytes.fromhex(src.replace(':', '')) +
         bytes.fromhex(etype) + text.encode())
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(('tap0', 0))
s.send(frame)
EOF
}

# net: the guest waits for a frame; the frame arrives while paused.
test_net_frame_waits_for_resume() {
	need_root || return
	need_kvm || return
	command -v ip >/dev/null || { skip "needs iproute2 (ip)"; return; }
	command -v python3 >/dev/null || { skip "needs python3"; return; }
	[ -c /dev/net/tun ] || { skip "no /dev/net/tun"; return; }
	make_ns || { drop_ns; return; }
	start_ember || { drop_ns; return; }
	: >"$TMP/metrics"
	api_ok PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}'
	api_ok PUT /boot-source \
		"{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 reboot=k panic=1 ember.test=net\"}"
	api_ok PUT /network-interfaces/eth0 \
		"{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", \"guest_mac\": \"$GUEST_MAC\"}"
	api_ok PUT /metrics "{\"metrics_path\": \"$TMP/metrics\"}"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	# The guest has sent its frame and now polls its rx ring (for up to 20 s).
	wait_for grep -q "net: sent" "$TMP/out" || { fail "guest never sent: $(cat "$TMP/out")"; stop_ember; drop_ns; return; }
	set_state Paused
	flush_metrics
	send_frame || fail "cannot send the frame"
	sleep 0.5
	flush_metrics
	assert_eq 0 "$(last rx_packets_count)" "rx packets while paused"
	assert_eq 0 "$(last rx_bytes_count)" "rx bytes while paused"
	assert_not_contains "$(cat "$TMP/out")" "net: received" "serial while paused"
	set_state Resumed
	wait_exit 30 || fail "guest did not exit after resume"
	assert_eq 0 "$EXIT_CODE" "exit code"
	assert_contains "$(cat "$TMP/out")" \
		"net: received $((14 + ${#HOST_TEXT})) bytes from $HOST_MAC to $GUEST_MAC type 0x$ETHERTYPE num_buffers 1: \"$HOST_TEXT\""  \
		"serial after resume"
	stop_ember
	drop_ns
}

# rate limiter: 10 ops per 400 ms; after 400 ms paused (a whole refill
# time), the first 300 ms after resume get only what their own running time
# earns (+ slack), not a banked bucket (which would allow >= 10 at once).
# The pause stays short because the test guest gives up on a request after
# 2^31 TSC cycles (~0.8 s here), and its TSC runs on while paused.
test_paused_limiter_banks_no_tokens() {
	local resume_ms got dt bound
	need_kvm || return
	truncate -s 1M "$TMP/disk.img"
	: >"$TMP/metrics"
	start_ember || return
	api_ok PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}'
	api_ok PUT /boot-source "{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 reboot=k panic=1 ember.test=blk-bench=120\"}"
	api_ok PUT /drives/disk "{\"drive_id\": \"disk\", \"path_on_host\": \"$TMP/disk.img\", \"is_root_device\": false, \"rate_limiter\": {\"ops\": {\"size\": 10, \"refill_time\": 400}}}"
	api_ok PUT /metrics "{\"metrics_path\": \"$TMP/metrics\"}"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	[ -z "$_fail_msg" ] || { stop_ember; return; }
	# Let it run into throttling (the first 10 go at once, then 25/s).
	sleep 1.5
	set_state Paused
	flush_metrics
	sleep 0.4
	flush_metrics
	assert_eq 0 "$(last blk_read_count)" "reads while paused"
	resume_ms=$(now_ms)
	set_state Resumed
	sleep 0.3
	flush_metrics
	got=$(last blk_read_count)
	dt=$(( $(last_ts) - resume_ms ))
	# Earned in dt ms at 25/s. Tokens banked over the 400 ms pause would add a
	# whole bucket (10) on top; allow half of that for timing jitter (the window
	# is measured from the shell: a partial token, the read in flight, the flush).
	bound=$(( dt * 25 / 1000 + 5 ))
	[ "${got:-99}" -le "$bound" ] ||
		fail "$got reads in the $dt ms after resume (max $bound): tokens were banked while paused"
	[ "${got:-0}" -ge 1 ] || fail "no reads after resume: the limiter stayed stuck: $(cat "$TMP/metrics" | grep -o "\"blk_read_count\":[0-9]*" | tr "\n" " ") $(cat "$TMP/out")"
	wait_exit 30 || fail "guest did not finish"
	assert_contains "$(cat "$TMP/out")" "blk-bench: 120 requests" "guest output"
	stop_ember
}

trap drop_ns EXIT
# A host connection made while the VM is paused, for longer than vsock's 2 s
# connect timeout, is answered once the VM resumes; the paused VMM does not spin.
test_vsock_connect_during_pause() {
	need_kvm || return
	local peer=$BUILD/tests/integration/vsock_peer lpid t0 t1
	[ -x "$peer" ] || { skip "$peer not built"; return; }
	"$peer" listen "$TMP/v.sock_52" "hello" >"$TMP/p52" 2>&1 &
	lpid=$!
	wait_for grep -q listening "$TMP/p52" || { fail "host listener: $(cat "$TMP/p52")"; return; }
	start_ember || return
	api_ok PUT /boot-source "{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 ember.test=vsock\"}"
	api_ok PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$TMP/v.sock\"}"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	local i
	for i in $(seq 1 300); do grep -q "vsock: listening on port 1234" "$TMP/out" && break; sleep 0.1; done
	grep -q "vsock: listening on port 1234" "$TMP/out" || { fail "guest never listened"; return; }
	wait $lpid
	api_ok PATCH /vm '{"state": "Paused"}'
	"$peer" connect "$TMP/v.sock" 1234 "while paused" >"$TMP/peer" 2>&1 &
	sleep 0.3
	t0=$(awk '{print $14 + $15}' "/proc/$EMBER_PID/stat")
	sleep 3
	t1=$(awk '{print $14 + $15}' "/proc/$EMBER_PID/stat")
	# Clock ticks (10 ms) of CPU over 3 s: a spinning loop would use ~300.
	[ $((t1 - t0)) -le 20 ] || fail "ember used $((t1 - t0)) ticks of CPU while paused"
	assert_not_contains "$(cat "$TMP/out")" "vsock: accepted" "guest output while paused"
	api_ok PATCH /vm '{"state": "Resumed"}'
	wait_exit 60 || fail "guest did not finish"
	assert_contains "$(cat "$TMP/peer")" "echo: while paused" "host client output"
	assert_contains "$(cat "$TMP/out")" 'vsock: echoed "while paused"' "guest output"
}

run_tests "$@"
