#!/usr/bin/env bash
# virtio-net on real KVM with a real TAP interface, in a network namespace the
# test creates (and deletes): ember runs inside it, the test guest's `net`
# scenario sends one Ethernet frame and prints the one it gets back, and the
# host end of the wire is an AF_PACKET socket on the tap (net_peer).
. "$(dirname "$0")/lib.sh"

PEER=$BUILD/tests/integration/net_peer
NS=""
GUEST_MAC=06:00:ac:10:00:02
HOST_MAC=02:00:00:00:00:fe
GUEST_TEXT=ember-guest-frame
HOST_TEXT=ember-host-frame
ETHERTYPE_HEX=88b5

# need_net [nokvm]: what a tap case needs; KVM too unless it boots no VM.
need_net() {
	need_root || return 1
	[ "${1-}" = nokvm ] || need_kvm || return 1
	command -v ip >/dev/null || { skip "needs iproute2 (ip)"; return 1; }
	[ -c /dev/net/tun ] || { skip "no /dev/net/tun"; return 1; }
	[ -x "$PEER" ] || { skip "net_peer not built ($PEER)"; return 1; }
}

# A fresh namespace with IPv6 off (no kernel chatter on the tap) and the taps
# named in "$@", persistent and up. Ember then runs inside it.
make_ns() {
	NS=ember-net-$$-$RANDOM
	ip netns add "$NS" || { fail "ip netns add failed"; return 1; }
	ip netns exec "$NS" sh -c 'echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6;
		echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6' 2>/dev/null
	local tap
	for tap in "$@"; do
		ip -n "$NS" tuntap add dev "$tap" mode tap || { fail "cannot create $tap"; return 1; }
		ip -n "$NS" link set "$tap" up || { fail "cannot bring $tap up"; return 1; }
	done
	# start_ember runs "$EMBER": make that ember inside the namespace.
	printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$NS" "$BUILD/ember" >"$TMP/ember-in-ns"
	chmod +x "$TMP/ember-in-ns"
	EMBER=$TMP/ember-in-ns
}

drop_ns() {
	EMBER=$BUILD/ember
	[ -n "$NS" ] && ip netns del "$NS" 2>/dev/null
	NS=""
}

configure_guest() { # scenario
	api_ok PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}'
	api_ok PUT /boot-source \
		"{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 reboot=k panic=1 ember.test=$1\"}"
}

# put_net ID TAP [MAC]
put_net() {
	local mac=""
	[ -n "${3-}" ] && mac=", \"guest_mac\": \"$3\""
	api PUT "/network-interfaces/$1" "{\"iface_id\": \"$1\", \"host_dev_name\": \"$2\"$mac}"
}

need_endpoint() {
	put_net eth0 tap0 "$GUEST_MAC"
	case $STATUS in
	204) return 0 ;;
	400) case $BODY in *"Invalid request method"*)
		skip "no PUT /network-interfaces in this build"; return 1 ;; esac ;;
	esac
	fail "PUT /network-interfaces/eth0: $STATUS $BODY"
	return 1
}

# The MAC as the hex the peer prints (no colons).
mac_hex() { printf '%s' "$1" | tr -d ':'; }
text_hex() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }

# run_exchange MAC: boot the net scenario against net_peer; checks both
# directions. MAC "generated": whatever the guest reports, which must be
# Ember's generated form 06:xx:xx:xx:<slot 00:00>.
run_exchange() {
	local mac=$1 out peer_out want
	ip netns exec "$NS" "$PEER" tap0 "$GUEST_TEXT" "$HOST_TEXT" 60 >"$TMP/peer" 2>&1 &
	local peer_pid=$!
	wait_for grep -q "peer: ready" "$TMP/peer" || { fail "net_peer not ready: $(cat "$TMP/peer")"; kill $peer_pid 2>/dev/null; return; }
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_exit 90 || fail "guest did not exit"
	# The peer is done once the guest has its answer; never leave it behind.
	wait_for sh -c "! kill -0 $peer_pid 2>/dev/null"
	kill $peer_pid 2>/dev/null
	wait $peer_pid 2>/dev/null
	out=$(cat "$TMP/out")
	peer_out=$(cat "$TMP/peer")
	assert_eq 0 "$EXIT_CODE" "exit code"
	if [ "$mac" = generated ]; then
		mac=$(printf '%s\n' "$out" | sed -n 's/^net: mac \(06:[0-9a-f:]*:00:00\)$/\1/p' | head -1)
		[ -n "$mac" ] || { fail "no generated MAC (06:xx:xx:xx:00:00) in the serial output"; return; }
	fi
	assert_contains "$out" "virtio-net at 0xd0001000 irq 5 id 1" "serial output"
	assert_contains "$out" "net: mac $mac" "serial output"
	assert_contains "$out" "net: sent 31 bytes" "serial output"
	# Guest -> host: the whole frame, byte for byte: broadcast, from the guest's MAC.
	want="ffffffffffff$(mac_hex "$mac")$ETHERTYPE_HEX$(text_hex "$GUEST_TEXT")"
	assert_contains "$peer_out" "peer: frame $want" "frame on the tap"
	assert_contains "$peer_out" "peer: sent 30 bytes" "net_peer"
	# Host -> guest: our reply, whole, in one buffer.
	assert_contains "$out" \
		"net: received 30 bytes from $HOST_MAC to $mac type 0x$ETHERTYPE_HEX num_buffers 1: \"$HOST_TEXT\"" \
		"serial output"
}

test_frames_both_ways() {
	need_net || return
	make_ns tap0 || { drop_ns; return; }
	start_ember || { drop_ns; return; }
	configure_guest net
	if need_endpoint; then
		run_exchange "$GUEST_MAC"
	fi
	stop_ember
	drop_ns
}

test_generated_mac_is_used_on_the_wire() {
	need_net || return
	make_ns tap0 || { drop_ns; return; }
	start_ember || { drop_ns; return; }
	configure_guest net
	put_net eth0 tap0
	if [ "$STATUS" = 204 ]; then
		run_exchange generated
	else
		fail "PUT /network-interfaces/eth0 without guest_mac: $STATUS $BODY"
	fi
	stop_ember
	drop_ns
}

test_duplicate_mac_and_tap_refused() {
	need_net nokvm || return
	make_ns tap0 tap1 || { drop_ns; return; }
	start_ember || { drop_ns; return; }
	if need_endpoint; then
		api_err PUT /network-interfaces/eth1 \
			"{\"iface_id\": \"eth1\", \"host_dev_name\": \"tap1\", \"guest_mac\": \"$GUEST_MAC\"}" \
			"The MAC address is already in use: $GUEST_MAC"
		api_err PUT /network-interfaces/eth1 \
			'{"iface_id": "eth1", "host_dev_name": "tap0", "guest_mac": "06:00:ac:10:00:03"}' \
			"Invalid TUN/TAP Backend provided by tap0"
		# A name the kernel refuses, and one too long for an interface.
		api_err PUT /network-interfaces/eth1 \
			'{"iface_id": "eth1", "host_dev_name": "0123456789abcdef"}' \
			"Open tap device failed: Invalid interface name"
		# Only eth0 was kept; a different tap and MAC are fine.
		put_net eth1 tap1 06:00:ac:10:00:03
		assert_eq 204 "$STATUS" "PUT eth1 on tap1"
		api_ok GET /vm/config
		assert_contains "$BODY" '"host_dev_name":"tap0"' "GET /vm/config"
		assert_contains "$BODY" '"host_dev_name":"tap1"' "GET /vm/config"
	fi
	stop_ember
	drop_ns
}

test_tap_held_elsewhere_fails_instance_start_cleanly() {
	need_net || return
	make_ns tap0 || { drop_ns; return; }
	start_ember || { drop_ns; return; }
	configure_guest net
	if need_endpoint; then
		# Someone else takes the tap between PUT and InstanceStart.
		ip netns exec "$NS" "$PEER" --hold tap0 >"$TMP/holder" 2>&1 &
		local holder=$!
		# The holder says when it has the tap; if it exits instead, that is a
		# broken test tool (a regression), not a reason to skip.
		if wait_until 10 grep -q "peer: holding tap0" "$TMP/holder" && kill -0 $holder 2>/dev/null; then
			api PUT /actions '{"action_type": "InstanceStart"}'
			assert_eq 400 "$STATUS" "InstanceStart with the tap busy"
			assert_contains "$BODY" "Device or resource busy" "InstanceStart error"
			kill $holder 2>/dev/null
			wait $holder 2>/dev/null
			kill -0 "$EMBER_PID" 2>/dev/null || fail "ember exited after a failed InstanceStart"
		else
			fail "net_peer --hold did not hold tap0: $(cat "$TMP/holder")"
			kill $holder 2>/dev/null
			wait $holder 2>/dev/null
		fi
	fi
	stop_ember
	drop_ns
}

# A case that dies half-way (set -u) must not leave its namespace behind.
trap drop_ns EXIT
run_tests "$@"
