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

# sum_reads: blk_read_count over every flushed line (each a delta).
sum_reads() { sum_since 0 blk_read_count; }
# sum_since LINES NAME: NAME summed over the flushed lines after the first LINES.
sum_since() {
	tail -n +$(($1 + 1)) "$TMP/metrics" | grep -o "\"$2\":[0-9]*" | cut -d: -f2 | awk '{s += $1} END {print s + 0}'
}
reads_at_least() { flush_metrics && [ "$(sum_reads)" -ge "$1" ]; }
no_reads_since_last_flush() { flush_metrics && [ "$(last blk_read_count)" = 0 ]; }
# resumed_window_done MARK RESUME_MS: a read after MARK, and >= 300 ms since RESUME_MS.
resumed_window_done() {
	flush_metrics && [ "$(sum_since "$1" blk_read_count)" -ge 1 ] && [ $(($(now_ms) - $2)) -ge 300 ]
}

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
	# The frame is on the tap now; a running VMM delivers it within
	# milliseconds and the polling guest prints it at once: 0.5 s with no
	# "net: received" is a paused VM holding it back.
	holds_for 0.5 lacks "$TMP/out" "net: received" || fail "the guest received the frame while paused"
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
	# Let it run into throttling (the first 10 go at once, then 25/s): wait
	# for reads past the bucket, i.e. at least one refill was needed.
	wait_until 10 reads_at_least 15 || { fail "never throttled past the bucket: $(sum_reads) reads"; stop_ember; return; }
	set_state Paused
	flush_metrics
	# The pause must last a whole refill time (400 ms) for banked tokens to
	# show; flushing through it also checks that no read happens meanwhile.
	local paused_ms; paused_ms=$(now_ms)
	holds_for 0.4 no_reads_since_last_flush || fail "reads while paused: $(last blk_read_count)"
	[ $(($(now_ms) - paused_ms)) -ge 400 ] || fail "pause window shorter than 400 ms"
	resume_ms=$(now_ms)
	local mark; mark=$(wc -l <"$TMP/metrics")
	set_state Resumed
	# The window after resume: until the first read has happened and at least
	# 300 ms passed (a banked bucket would have been spent at once, inside it).
	wait_until 5 resumed_window_done "$mark" "$resume_ms" || true
	got=$(sum_since "$mark" blk_read_count)
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

# Open sockets of ember.
sock_fds() { ls -l "/proc/$EMBER_PID/fd" 2>/dev/null | grep -c 'socket:'; }
sock_fds_above() { [ "$(sock_fds)" -gt "$1" ]; }

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
	local socks; socks=$(sock_fds)
	"$peer" connect "$TMP/v.sock" 1234 "while paused" >"$TMP/peer" 2>&1 &
	# The VMM accepted the host connection (one more socket open).
	wait_until 10 sock_fds_above "$socks" || fail "ember never accepted the host connection"
	t0=$(awk '{print $14 + $15}' "/proc/$EMBER_PID/stat")
	# The connection must wait longer than vsock's 2 s connect timeout: a
	# 3 s window (bounded, measured) in which the guest must not accept.
	holds_for 3 lacks "$TMP/out" "vsock: accepted" || fail "the guest accepted while paused"
	t1=$(awk '{print $14 + $15}' "/proc/$EMBER_PID/stat")
	# Clock ticks (10 ms) of CPU over 3 s: a spinning loop would use ~300.
	[ $((t1 - t0)) -le 20 ] || fail "ember used $((t1 - t0)) ticks of CPU while paused"
	api_ok PATCH /vm '{"state": "Resumed"}'
	wait_exit 60 || fail "guest did not finish"
	assert_contains "$(cat "$TMP/peer")" "echo: while paused" "host client output"
	assert_contains "$(cat "$TMP/out")" 'vsock: echoed "while paused"' "guest output"
}

run_tests "$@"
