#!/usr/bin/env bash
# MMDS through virtio-net on real KVM with a real TAP: the test guest's `mmds`
# scenario sends raw frames (an ARP request for 169.254.169.254, a TCP
# connection carrying an HTTP GET, a close), then an ARP request for another
# address and one frame of its own ethertype. The guest must get MMDS's
# answers (ARP from 06:01:23:45:67:01, the store's value over HTTP), and the
# host end of the tap (net_peer, an AF_PACKET socket) must see only the last
# two frames: nothing addressed to MMDS leaves through the tap.
. "$(dirname "$0")/lib.sh"

PEER=$BUILD/tests/integration/net_peer
NS=""
GUEST_MAC=06:00:ac:10:00:02
MMDS_MAC=06:01:23:45:67:01

need_net() {
	need_root || return 1
	need_kvm || return 1
	command -v ip >/dev/null || { skip "needs iproute2 (ip)"; return 1; }
	[ -c /dev/net/tun ] || { skip "no /dev/net/tun"; return 1; }
	[ -x "$PEER" ] || { skip "net_peer not built ($PEER)"; return 1; }
}

# A namespace with IPv6 off (no kernel chatter on the tap) and tap0 up; ember runs inside.
make_ns() {
	NS=ember-mmds-$$-$RANDOM
	ip netns add "$NS" || { fail "ip netns add failed"; return 1; }
	ip netns exec "$NS" sh -c 'echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6;
		echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6' 2>/dev/null
	ip -n "$NS" tuntap add dev tap0 mode tap || { fail "cannot create tap0"; return 1; }
	ip -n "$NS" link set tap0 up || { fail "cannot bring tap0 up"; return 1; }
	printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$NS" "$BUILD/ember" >"$TMP/ember-in-ns"
	chmod +x "$TMP/ember-in-ns"
	EMBER=$TMP/ember-in-ns
}

drop_ns() {
	EMBER=$BUILD/ember
	[ -n "$NS" ] && ip netns del "$NS" 2>/dev/null
	NS=""
}

# configure [extra boot args]: one vCPU, eth0 on tap0, the mmds scenario.
configure() {
	api_ok PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}'
	api_ok PUT /boot-source \
		"{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 reboot=k panic=1 ember.test=mmds ${1-}\"}"
	api_ok PUT /network-interfaces/eth0 \
		"{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", \"guest_mac\": \"$GUEST_MAC\"}"
}

# run_guest: boot with net_peer on the tap until the guest's own frame arrives.
run_guest() {
	ip netns exec "$NS" "$PEER" tap0 ember-guest-frame ember-host-frame 60 >"$TMP/peer" 2>&1 &
	local peer_pid=$!
	wait_for grep -q "peer: ready" "$TMP/peer" || { fail "net_peer not ready: $(cat "$TMP/peer")"; kill $peer_pid 2>/dev/null; return 1; }
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_exit 90 || fail "guest did not exit"
	wait_for sh -c "! kill -0 $peer_pid 2>/dev/null"
	kill $peer_pid 2>/dev/null
	wait $peer_pid 2>/dev/null
	OUT=$(cat "$TMP/out")
	PEER_OUT=$(cat "$TMP/peer")
	assert_eq 0 "$EXIT_CODE" "exit code"
}

# The only frame besides the guest's own that reaches the tap: its ARP for 169.254.169.253.
check_tap_saw_only_the_rest() {
	local others want_arp
	want_arp="ffffffffffff$(printf %s "$GUEST_MAC" | tr -d :)08060001080006040001$(printf %s "$GUEST_MAC" | tr -d :)0a000002000000000000a9fea9fd"
	others=$(printf '%s\n' "$PEER_OUT" | grep -c '^peer: other ')
	assert_contains "$PEER_OUT" "peer: other $want_arp" "tap (the non-MMDS ARP request)"
	assert_eq 1 "$others" "frames other than the guest's own on the tap: $PEER_OUT"
	assert_not_contains "$PEER_OUT" "a9fea9fe" "tap"
	assert_contains "$PEER_OUT" "peer: frame ffffffffffff" "tap (the guest's own frame)"
}

test_arp_and_http_answered_by_mmds() {
	need_net || return
	make_ns || { drop_ns; return; }
	start_ember || { drop_ns; return; }
	configure
	api_ok PUT /mmds/config '{"network_interfaces": ["eth0"]}'
	api_ok PUT /mmds '{"latest": {"meta-data": {"ami-id": "ami-12345678"}}}'
	if [ -z "$_fail_msg" ] && run_guest; then
		assert_contains "$OUT" "mmds: arp reply from $MMDS_MAC for 169.254.169.254" "serial output"
		assert_contains "$OUT" "mmds: synack mss 1460" "serial output"
		assert_contains "$OUT" 'mmds: http "HTTP/1.1 200' "serial output"
		assert_contains "$OUT" '" body "ami-12345678"' "serial output"
		assert_contains "$OUT" "mmds: closed" "serial output: $OUT"
		assert_contains "$OUT" "mmds: sent tap frames" "serial output"
		check_tap_saw_only_the_rest
	fi
	stop_ember
	drop_ns
}

test_missing_key_is_404() {
	need_net || return
	make_ns || { drop_ns; return; }
	start_ember || { drop_ns; return; }
	configure "ember.mmds_path=/latest/nope"
	api_ok PUT /mmds/config '{"network_interfaces": ["eth0"]}'
	api_ok PUT /mmds '{"latest": {"meta-data": {"ami-id": "ami-12345678"}}}'
	if [ -z "$_fail_msg" ] && run_guest; then
		assert_contains "$OUT" 'mmds: http "HTTP/1.1 404' "serial output"
		assert_contains "$OUT" "mmds: closed" "serial output: $OUT"
		check_tap_saw_only_the_rest
	fi
	stop_ember
	drop_ns
}

# An object of 200 keys, listed for the guest in byte order (IMDS form: one
# key per line), whatever order they were PUT in.
test_large_object_listed() {
	need_net || return
	local keys
	make_ns || { drop_ns; return; }
	start_ember || { drop_ns; return; }
	configure "ember.mmds_path=/latest/meta-data/"
	keys=$(python3 -c 'import json; print(json.dumps({"k%03d" % (199 - i): "v" for i in range(200)}))')
	api_ok PUT /mmds/config '{"network_interfaces": ["eth0"]}'
	api_ok PUT /mmds "{\"latest\": {\"meta-data\": $keys}}"
	if [ -z "$_fail_msg" ] && run_guest; then
		assert_contains "$OUT" 'mmds: http "HTTP/1.1 200' "serial output: $OUT"
		assert_contains "$OUT" '" body "k000' "serial output (the first key first)"
		assert_contains "$OUT" "mmds: closed" "serial output"
	fi
	stop_ember
	drop_ns
}

# 200 more GETs on the connection, each sent with the ACK of the last
# response: every one answered, then the connection closes cleanly. (The
# guest prints TSC cycles per request; timing belongs to make bench, not here.)
test_keepalive_requests() {
	need_net || return
	make_ns || { drop_ns; return; }
	start_ember || { drop_ns; return; }
	configure "ember.mmds_repeat=200"
	api_ok PUT /mmds/config '{"network_interfaces": ["eth0"]}'
	api_ok PUT /mmds '{"latest": {"meta-data": {"ami-id": "ami-12345678"}}}'
	if [ -z "$_fail_msg" ] && run_guest; then
		assert_contains "$OUT" "mmds: 200 requests, " "serial output: $OUT"
		assert_contains "$OUT" "mmds: closed" "serial output"
		check_tap_saw_only_the_rest
	fi
	stop_ember
	drop_ns
}

# Without PUT /mmds/config naming eth0 the device is not MMDS's: the ARP goes to the tap.
test_not_attached_frames_reach_tap() {
	need_net || return
	make_ns || { drop_ns; return; }
	start_ember || { drop_ns; return; }
	configure
	if [ -z "$_fail_msg" ] && run_guest; then
		assert_contains "$OUT" "mmds: no arp reply" "serial output"
		assert_contains "$PEER_OUT" "a9fea9fe" "tap (the ARP request for MMDS)"
	fi
	stop_ember
	drop_ns
}

trap drop_ns EXIT
run_tests "$@"
