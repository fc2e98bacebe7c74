#!/usr/bin/env bash
# MMDS from a Linux guest, as Firecracker's users reach it: eth0 on a tap in a
# network namespace is named in PUT /mmds/config, the guest routes
# 169.254.169.254 through it and fetches with busybox wget (and nc for what
# wget cannot send: a PUT). V1: a value, the JSON and IMDS forms, a nested
# path, a missing key (404), a PATCH /mmds from the host seen at once, and
# the time of 20 requests. V2: PUT /latest/api/token, a GET with the token,
# without it (401) and with a forged one (401).
. "$(dirname "$0")/lib.sh"

GUEST_MAC=06:00:ac:10:00:02
GUEST_IP=172.16.0.2
HOST_IP=172.16.0.1
NS=""
URL=http://169.254.169.254
STORE='{"latest": {"meta-data": {"ami-id": "ami-12345678", "placement": {"availability-zone": "us-east-1a"}}}}'

drop_ns() { [ -n "$NS" ] && ip netns del "$NS" 2>/dev/null; NS=""; EMBER_WRAP=(); }
trap drop_ns EXIT
make_ns() {
	NS=ember-mmds-$$-$RANDOM
	ip netns add "$NS" && ip -n "$NS" link set lo up &&
		ip -n "$NS" tuntap add dev tap0 mode tap &&
		ip -n "$NS" addr add "$HOST_IP/24" dev tap0 && ip -n "$NS" link set tap0 up ||
		{ fail "netns/tap setup failed"; return 1; }
	EMBER_WRAP=(ip netns exec "$NS")
}

# mmds_vm VERSION: a command-server VM (initramfs only) with eth0 attached to
# MMDS VERSION and the store set, started, its network up with the route.
mmds_vm() {
	need_linux || return 1
	need_root || return 1
	make_ns || return 1
	vm_spawn "$TMP/a" || return 1
	linux_config cmd 1 128 ""
	api_ok PUT /network-interfaces/eth0 "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", \"guest_mac\": \"$GUEST_MAC\"}"
	api_ok PUT /mmds/config "{\"version\": \"$1\", \"network_interfaces\": [\"eth0\"]}"
	api_ok PUT /mmds "$STORE"
	vm_start
	wait_guest "cmd=ready" || return 1
	guest_ok n1 "net_up $GUEST_IP/24 && ip route add 169.254.169.254 dev eth0"
}

test_mmds_v1_from_wget() {
	if mmds_vm V1; then
		guest_ok g1 "say ami=\$(wget -q -O - $URL/latest/meta-data/ami-id)"
		assert_eq ami-12345678 "$(gval ami)" "GET /latest/meta-data/ami-id"
		guest_ok g2 "say json=\$(wget -q -O - --header 'Accept: application/json' $URL/latest/meta-data/placement | tr -d ' ')"
		assert_eq '{"availability-zone":"us-east-1a"}' "$(gval json)" "JSON form of a dictionary"
		guest_ok g3 "say imds=\$(wget -q -O - $URL/latest/meta-data | tr '\n' ,)"
		assert_contains "$(gval imds)" "ami-id,placement/" "IMDS form of a dictionary"
		guest_ok g4 "say zone=\$(wget -q -O - $URL/latest/meta-data/placement/availability-zone)"
		assert_eq us-east-1a "$(gval zone)" "a nested path"
		guest_ok g5 "say miss=\$(wget -q -O - $URL/latest/meta-data/nope 2>&1 | grep -o 404 | head -1)"
		assert_eq 404 "$(gval miss)" "a missing key"
		api_ok PATCH /mmds '{"latest": {"meta-data": {"ami-id": "ami-patched"}}}'
		guest_ok g6 "say patched=\$(wget -q -O - $URL/latest/meta-data/ami-id)"
		assert_eq ami-patched "$(gval patched)" "the value after PATCH /mmds"
		# 20 requests, each its own connection (ARP cached): /proc/uptime's centiseconds.
		guest_ok l1 "read a _ </proc/uptime; i=0; while [ \$i -lt 20 ]; do
			wget -q -O /dev/null $URL/latest/meta-data/ami-id || exit 1; i=\$((i + 1)); done;
			read b _ </proc/uptime; say wget20_cs=\$(echo \"\$a \$b\" | tr -d . | awk '{print \$2 - \$1}')"
		echo "INFO: test_mmds: 20 wget requests took $(gval wget20_cs)0 ms in the emulated nested guest"
		guest_ok z1 true && still_running
	fi
	stop_all
	drop_ns
}

test_mmds_v2_tokens() {
	local put="PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: 60\r\nConnection: close\r\n\r\n"
	if mmds_vm V2; then
		guest_ok t1 "printf '$put' | nc 169.254.169.254 80 >/tmp/put; say put=\$(head -1 /tmp/put | tr -d '\r' | tr ' ' _);
			tail -1 /tmp/put >/tmp/token; say token_len=\$(wc -c </tmp/token)"
		assert_eq "HTTP/1.1_200_" "$(gval put)" "PUT /latest/api/token"
		[ "$(gval token_len)" -gt 20 ] 2>/dev/null || fail "token length $(gval token_len)"
		guest_ok t2 "say ami=\$(wget -q -O - --header \"X-metadata-token: \$(cat /tmp/token)\" $URL/latest/meta-data/ami-id)"
		assert_eq ami-12345678 "$(gval ami)" "GET with the token"
		guest_ok t3 "say none=\$(wget -q -O - $URL/latest/meta-data/ami-id 2>&1 | grep -o 401 | head -1)"
		assert_eq 401 "$(gval none)" "GET without a token"
		guest_ok t4 "say forged=\$(wget -q -O - --header 'X-metadata-token: Zm9yZ2Vk' $URL/latest/meta-data/ami-id 2>&1 | grep -o 401 | head -1)"
		assert_eq 401 "$(gval forged)" "GET with a forged token"
		guest_ok z1 true && still_running
	fi
	stop_all
	drop_ns
}

run_linux_tests "$@"
