#!/usr/bin/env bash
# The device endpoints through the real API socket (curl): PUT/PATCH /drives,
# /network-interfaces, PUT /vsock, /entropy. Every class of refusal with
# Firecracker's message, "a refused request changes nothing" (checked with GET
# /vm/config), the pre-boot / post-boot rules, the Deprecation header, and the
# devices in GET /vm/config and in --config-file. Network interfaces open real
# taps, so those cases run as root in a network namespace of their own.
. "$(dirname "$0")/lib.sh"

DE='An error occurred when deserializing the json body of a request: '
POST_BOOT='The requested operation is not supported after starting the microVM.'
PRE_BOOT='The requested operation is not supported before starting the microVM.'

# fault METHOD PATH JSON MESSAGE: 400 with exactly {"fault_message": MESSAGE}.
fault() {
	api "$1" "$2" "$3"
	assert_eq 400 "$STATUS" "$1 $2 status"
	assert_eq "{\"fault_message\":\"$(printf '%s' "$4" | sed 's/[\\"]/\\&/g')\"}" "$BODY" "$1 $2 body"
}

vm_config() { api_ok GET /vm/config; printf '%s' "$BODY"; }

boot_halting() {
	api_ok PUT /boot-source \
		"{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 ember.test=halt-forever\"}"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_for grep -q halting "$TMP/out" || fail "guest did not boot: $(cat "$TMP/err")"
}

test_drive_errors() {
	truncate -s 1M "$TMP/a.img"
	truncate -s 1M "$TMP/b.img"
	start_ember || return
	api_ok PUT /drives/root "{\"drive_id\": \"root\", \"path_on_host\": \"$TMP/a.img\", \"is_root_device\": true}"
	local before; before=$(vm_config)
	fault PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$TMP/b.img\", \"is_root_device\": true}" \
		'Drive config error: A root block device already exists!'
	fault PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$TMP/none.img\", \"is_root_device\": false}" \
		"Drive config error: Unable to create the virtio block device: Virtio backend error: Error manipulating the backing file: No such file or directory (os error 2) $TMP/none.img"
	fault PUT /drives/root "{\"drive_id\": \"root\", \"path_on_host\": \"$TMP/none.img\", \"is_root_device\": true}" \
		"Drive config error: Unable to create the virtio block device: Virtio backend error: Error manipulating the backing file: No such file or directory (os error 2) $TMP/none.img"
	fault PUT /drives/data '{"drive_id": "other", "path_on_host": "/x", "is_root_device": false}' \
		'The id from the path does not match the id from the body!'
	fault PUT /drives/da-ta '{"drive_id": "da-ta", "path_on_host": "/x", "is_root_device": false}' \
		'API Resource IDs can only contain alphanumeric characters and underscores.'
	fault PUT /drives '{"drive_id": "", "path_on_host": "/x", "is_root_device": false}' \
		'The ID cannot be empty.'
	# Firecracker 1.16: path_on_host is optional (vhost-user drives have a socket instead).
	fault PUT /drives/data '{"drive_id": "data", "is_root_device": false}' \
		'Drive config error: Unable to create the virtio block device: Invalid block config.'
	fault PUT /drives/data '{"drive_id": "data"}' \
		"${DE}missing field \`is_root_device\` at line 1 column 20."
	fault PUT /drives/data "{\"drive_id\": \"data\", \"is_root_device\": false, \"socket\": \"$TMP/vhost.sock\"}" \
		'Drive config error: Unable to create the virtio block device: Vhost user backend error: Vhost-user error: Failed to connect to UDS Unix stream: No such file or directory (os error 2)'
	fault PUT /drives/data '{"drive_id": "data", "path_on_host": "/x", "is_root_device": false, "is_read_only": 1}' \
		"${DE}invalid type: integer \`1\`, expected a boolean at line 1 column 85."
	fault PUT /drives/data '{"drive_id": "data", "path_on_host": "/x", "is_root_device": false, "cache_type": "None"}' \
		"${DE}unknown variant \`None\`, expected \`Unsafe\` or \`Writeback\` at line 1 column 88."
	fault PUT /drives/data '{"drive_id": "data", "path_on_host": "/x", "is_root_device": false, "rate_limiter": {"ops": {"size": 1}}}' \
		"${DE}missing field \`refill_time\` at line 1 column 103."
	fault PATCH /drives/root "{\"drive_id\": \"root\", \"path_on_host\": \"$TMP/b.img\"}" "$PRE_BOOT"
	fault PATCH /drives/root '{"drive_id": "root"}' "$PRE_BOOT"
	fault PATCH /drives/root '{"drive_id": "root", "path_on_host": "/x", "is_read_only": true}' \
		"${DE}unknown field \`is_read_only\`, expected one of \`drive_id\`, \`path_on_host\`, \`rate_limiter\` at line 1 column 57."
	# Not one of these changed anything.
	assert_eq "$before" "$(vm_config)" "GET /vm/config after the refusals"
	assert_contains "$before" "\"drives\":[{\"drive_id\":\"root\",\"partuuid\":null,\"is_root_device\":true,\"cache_type\":\"Unsafe\",\"is_read_only\":false,\"path_on_host\":\"$TMP/a.img\",\"rate_limiter\":null,\"io_engine\":\"Sync\",\"socket\":null}]" "drives"
}

test_drive_replace_and_post_boot() {
	need_kvm || return
	truncate -s 1M "$TMP/a.img"
	truncate -s 1M "$TMP/b.img"
	start_ember || return
	api_ok PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$TMP/a.img\", \"is_root_device\": false}"
	api_ok PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$TMP/b.img\", \"is_root_device\": false, \"is_read_only\": true, \"cache_type\": \"Writeback\", \"rate_limiter\": {\"bandwidth\": {\"size\": 0, \"refill_time\": 100}, \"ops\": {\"size\": 10, \"one_time_burst\": 0, \"refill_time\": 100}}}"
	api_ok GET /vm/config
	assert_contains "$BODY" "\"drives\":[{\"drive_id\":\"data\",\"partuuid\":null,\"is_root_device\":false,\"cache_type\":\"Writeback\",\"is_read_only\":true,\"path_on_host\":\"$TMP/b.img\",\"rate_limiter\":{\"bandwidth\":null,\"ops\":{\"size\":10,\"one_time_burst\":null,\"refill_time\":100}},\"io_engine\":\"Sync\",\"socket\":null}]" "replaced in place"
	boot_halting
	# Firecracker 1.16 hot-plugs after boot, on PCI only.
	fault PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$TMP/a.img\", \"is_root_device\": false}" 'PCI is not enabled'
	fault PATCH /drives/nope "{\"drive_id\": \"nope\", \"path_on_host\": \"$TMP/a.img\"}" \
		'Drive config error: Unable to patch the block device: Failed perform action on device: Device not found Please verify the request arguments.'
	fault PATCH /drives/data '{"drive_id": "data"}' \
		'Drive config error: Unable to patch the block device: Block: Running method expected different backend. Please verify the request arguments.'
	api_ok PATCH /drives/data '{"drive_id": "data", "rate_limiter": {"bandwidth": {"size": 4096, "refill_time": 10}}}'
	api_ok GET /vm/config
	assert_contains "$BODY" '"rate_limiter":{"bandwidth":{"size":4096,"one_time_burst":null,"refill_time":10},"ops":{"size":10,"one_time_burst":null,"refill_time":100}}' "PATCH of one bucket keeps the other"
	fault PUT /entropy '{}' "$POST_BOOT"
	fault PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$TMP/v.sock\"}" "$POST_BOOT"
	fault PUT /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "tap0"}' 'PCI is not enabled'
	fault PATCH /network-interfaces/eth0 '{"iface_id": "eth0"}' \
		'Network config error: Unable to update the net device: Failed perform action on device: Device not found'
}

test_vsock_errors_and_deprecation() {
	start_ember || return
	fault PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$TMP/no/dir/v.sock\"}" \
		'Vsock config error: Cannot create backend for vsock device: Error binding to the host-side Unix socket: No such file or directory (os error 2)'
	: >"$TMP/taken.sock"
	fault PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$TMP/taken.sock\"}" \
		'Vsock config error: Cannot create backend for vsock device: Error binding to the host-side Unix socket: Address already in use (os error 98)'
	fault PUT /vsock '{"guest_cid": -3, "uds_path": "/v"}' \
		"${DE}invalid value: integer \`-3\`, expected u32 at line 1 column 16."
	fault PUT /vsock '{"uds_path": "/v"}' "${DE}missing field \`guest_cid\` at line 1 column 18."
	api_ok GET /vm/config
	assert_contains "$BODY" '"vsock":null' "refusals change nothing"

	api_ok PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$TMP/v.sock\"}"
	assert_not_contains "$HEADERS" "Deprecation" "headers without vsock_id"
	api_ok PUT /vsock "{\"vsock_id\": \"vsock0\", \"guest_cid\": 52, \"uds_path\": \"$TMP/v.sock\"}"
	assert_contains "$HEADERS" "Deprecation: true" "headers with vsock_id"
	[ -e "$TMP/v.sock" ] && fail "the bind check left $TMP/v.sock behind"
	api_ok GET /vm/config
	assert_contains "$BODY" "\"vsock\":{\"guest_cid\":52,\"uds_path\":\"$TMP/v.sock\"}" "GET /vm/config (no vsock_id)"
	# Issue #8: a replacement that fails leaves no vsock; any guest_cid is taken.
	fault PUT /vsock "{\"guest_cid\": 53, \"uds_path\": \"$TMP/taken.sock\"}" \
		'Vsock config error: Cannot create backend for vsock device: Error binding to the host-side Unix socket: Address already in use (os error 98)'
	api_ok GET /vm/config
	assert_contains "$BODY" '"vsock":null' "no vsock after a failed replacement"
	api_ok PUT /vsock "{\"guest_cid\": 2, \"uds_path\": \"$TMP/v.sock\"}"
	api_ok GET /vm/config
	assert_contains "$BODY" "\"vsock\":{\"guest_cid\":2,\"uds_path\":\"$TMP/v.sock\"}" "guest_cid 2"
}

test_entropy_errors() {
	start_ember || return
	fault PUT /entropy '{"rate_limiter": []}' \
		"${DE}invalid type: sequence, expected struct RateLimiterConfig at line 1 column 17."
	fault PATCH /entropy '{}' 'Invalid request method and/or path: PATCH entropy.'
	api PUT /entropy
	assert_eq 400 "$STATUS" "PUT /entropy without a body"
	api_ok GET /vm/config
	assert_contains "$BODY" '"entropy":null' "refusals change nothing"
	api_ok PUT /entropy '{}'
	api_ok GET /vm/config
	assert_contains "$BODY" '"entropy":{"rate_limiter":null}' "configured"
	# A token bucket skips unknown keys, as Firecracker's TokenBucketConfig does (issue #8).
	api_ok PUT /entropy '{"rate_limiter": {"ops": {"size": 1, "refill_time": 1, "burst": 2}}}'
	api_ok GET /vm/config
	assert_contains "$BODY" '"entropy":{"rate_limiter":{"bandwidth":null,"ops":{"size":1,"one_time_burst":null,"refill_time":1}}}' "unknown bucket key skipped"
}

# ---- network interfaces: real taps in a namespace of our own ----------------

NETNS=""
net_cleanup() { [ -n "$NETNS" ] && ip netns del "$NETNS" 2>/dev/null; NETNS=""; }

# start_ember_in_netns: start_ember, but ember runs in a fresh network namespace.
start_ember_in_netns() {
	need_root || return 1
	command -v ip >/dev/null || { skip "needs ip(8)"; return 1; }
	NETNS=ember-devapi-$$-$RANDOM
	ip netns add "$NETNS" || { skip "cannot create a network namespace"; return 1; }
	SOCK=$TMP/api.sock
	ip netns exec "$NETNS" "$EMBER" --api-sock "$SOCK" >"$TMP/out" 2>"$TMP/err" </dev/null &
	EMBER_PID=$!
	wait_for test -S "$SOCK" || { fail "API socket never appeared: $(cat "$TMP/err")"; return 1; }
}

test_network_interface_rules() {
	start_ember_in_netns || { net_cleanup; return; }
	# A tap that exists (persistent) and one Ember creates for itself.
	ip netns exec "$NETNS" ip tuntap add dev tapx mode tap
	api_ok PUT /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "tapx", "guest_mac": "06:00:AC:10:00:02"}'
	api_ok PUT /network-interfaces/eth1 '{"iface_id": "eth1", "host_dev_name": "tapy", "mtu": 1400}'
	local before; before=$(vm_config)
	fault PUT /network-interfaces/eth2 '{"iface_id": "eth2", "host_dev_name": "tapz", "guest_mac": "06:00:ac:10:00:02"}' \
		'Network config error: The MAC address is already in use: 06:00:ac:10:00:02'
	fault PUT /network-interfaces/eth2 '{"iface_id": "eth2", "host_dev_name": "tapx"}' \
		'Network config error: Could not create the network device: Open tap device failed: Error while creating ifreq structure: Device or resource busy (os error 16). Invalid TUN/TAP Backend provided by tapx. Check our documentation on setting up the network devices.'
	fault PUT /network-interfaces/eth2 '{"iface_id": "eth2", "host_dev_name": "tap_name_too_long0"}' \
		'Network config error: Could not create the network device: Open tap device failed: Invalid interface name'
	# An interface that is not a tap (loopback) cannot be attached.
	fault PUT /network-interfaces/eth2 '{"iface_id": "eth2", "host_dev_name": "lo"}' \
		'Network config error: Could not create the network device: Open tap device failed: Error while creating ifreq structure: Invalid argument (os error 22). Invalid TUN/TAP Backend provided by lo. Check our documentation on setting up the network devices.'
	fault PUT /network-interfaces/eth2 '{"iface_id": "eth2", "host_dev_name": "tapz", "mtu": 67}' \
		'Network config error: Could not create the network device: MTU 67 is out of range [68, 65535]'
	fault PUT /network-interfaces/eth2 '{"iface_id": "eth2", "host_dev_name": "tapz", "guest_mac": "06:00:ac:10:00"}' \
		"${DE}The provided MAC address is invalid. at line 1 column 75."
	fault PUT /network-interfaces/eth2 '{"iface_id": "eth2", "host_dev_name": "tapz", "mtu": 70000}' \
		"${DE}invalid value: integer \`70000\`, expected u16 at line 1 column 58."
	fault PUT /network-interfaces/eth3 '{"iface_id": "eth2", "host_dev_name": "tapz"}' \
		'The id from the path [eth3] does not match the id from the body [eth2]!'
	fault PATCH /network-interfaces/eth0 '{"iface_id": "eth0"}' "$PRE_BOOT"
	assert_eq "$before" "$(vm_config)" "GET /vm/config after the refusals"
	assert_contains "$before" '"network-interfaces":[{"iface_id":"eth0","host_dev_name":"tapx","guest_mac":"06:00:ac:10:00:02","mtu":null,"rx_rate_limiter":null,"tx_rate_limiter":null},{"iface_id":"eth1","host_dev_name":"tapy","guest_mac":null,"mtu":1400,"rx_rate_limiter":null,"tx_rate_limiter":null}]' "network-interfaces"
	# The same interface may move to another tap and MAC; its place stays.
	api_ok PUT /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "tapz", "guest_mac": "06:00:ac:10:00:03"}'
	api_ok GET /vm/config
	assert_contains "$BODY" '"network-interfaces":[{"iface_id":"eth0","host_dev_name":"tapz","guest_mac":"06:00:ac:10:00:03"' "replaced in place"
	stop_ember
	net_cleanup
}

test_network_interface_patch_post_boot() {
	need_kvm || return
	start_ember_in_netns || { net_cleanup; return; }
	api_ok PUT /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "06:00:00:00:00:01"}'
	boot_halting
	assert_contains "$(cat "$TMP/out")" "virtio_mmio.device=4K@0xd0001000:5" "net device on the command line"
	fault PATCH /network-interfaces/eth9 '{"iface_id": "eth9"}' \
		'Network config error: Unable to update the net device: Failed perform action on device: Device not found'
	api_ok PATCH /network-interfaces/eth0 '{"iface_id": "eth0", "tx_rate_limiter": {"bandwidth": {"size": 1000000, "refill_time": 100, "one_time_burst": null}, "ops": null}}'
	api_ok PATCH /network-interfaces/eth0 '{"iface_id": "eth0"}'
	api_ok GET /vm/config
	assert_contains "$BODY" '"network-interfaces":[{"iface_id":"eth0","host_dev_name":"tap0","guest_mac":"06:00:00:00:00:01","mtu":null,"rx_rate_limiter":null,"tx_rate_limiter":{"bandwidth":{"size":1000000,"one_time_burst":null,"refill_time":100},"ops":null}}]' "after PATCH"
	stop_ember
	net_cleanup
}

# Slots in Firecracker's attach order: drives (root first), nets, vsock, entropy.
test_every_device_type_in_slot_order() {
	need_kvm || return
	truncate -s 64K "$TMP/root.img" "$TMP/data.img"
	start_ember_in_netns || { net_cleanup; return; }
	api_ok PUT /entropy '{}'
	api_ok PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$TMP/v.sock\"}"
	api_ok PUT /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "tap0"}'
	api_ok PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$TMP/data.img\", \"is_root_device\": false}"
	api_ok PUT /drives/root "{\"drive_id\": \"root\", \"path_on_host\": \"$TMP/root.img\", \"is_root_device\": true}"
	api_ok PUT /boot-source \
		"{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 reboot=k ember.test=virtio-list\"}"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_exit 30 || fail "guest did not exit"
	assert_eq 0 "$EXIT_CODE" "exit code"
	local out; out=$(cat "$TMP/out")
	assert_contains "$out" "ember.test=virtio-list root=/dev/vda rw virtio_mmio.device=4K@0xd0001000:5 virtio_mmio.device=4K@0xd0002000:6 virtio_mmio.device=4K@0xd0003000:7 virtio_mmio.device=4K@0xd0004000:8 virtio_mmio.device=4K@0xd0005000:9" "command line"
	assert_contains "$out" "virtio-blk at 0xd0001000 irq 5 id 2" "root drive"
	assert_contains "$out" "virtio-blk at 0xd0002000 irq 6 id 2" "data drive"
	assert_contains "$out" "virtio-net at 0xd0003000 irq 7 id 1" "network interface"
	assert_contains "$out" "virtio-vsock at 0xd0004000 irq 8 id 19" "vsock"
	assert_contains "$out" "virtio-rng at 0xd0005000 irq 9 id 4" "entropy device"
	[ -e "$TMP/v.sock" ] && fail "the vsock socket outlived ember"
	net_cleanup
}

test_config_file_with_devices() {
	need_kvm || return
	truncate -s 64K "$TMP/d.img"
	cat >"$TMP/vm.json" <<JSON
{
  "boot-source": {"kernel_image_path": "$GUEST_ELF", "boot_args": "console=ttyS0 ember.test=halt-forever"},
  "drives": [
    {"drive_id": "data", "path_on_host": "$TMP/d.img", "is_root_device": false, "is_read_only": true},
    {"drive_id": "root", "path_on_host": "$TMP/d.img", "is_root_device": true, "is_read_only": true}
  ],
  "entropy": {"rate_limiter": {"ops": {"size": 5, "refill_time": 50}}}
}
JSON
	start_ember --config-file "$TMP/vm.json" || return
	wait_for grep -q halting "$TMP/out" || { fail "guest did not boot from the config file: $(cat "$TMP/err")"; return; }
	assert_contains "$(cat "$TMP/out")" "ember.test=halt-forever root=/dev/vda ro virtio_mmio.device=4K@0xd0001000:5 virtio_mmio.device=4K@0xd0002000:6 virtio_mmio.device=4K@0xd0003000:7" "command line"
	api_ok GET /vm/config
	assert_contains "$BODY" "\"drives\":[{\"drive_id\":\"root\"" "root drive first"
	assert_contains "$BODY" '"entropy":{"rate_limiter":{"bandwidth":null,"ops":{"size":5,"one_time_burst":null,"refill_time":50}}}' "entropy"
	# GET /vm/config is itself a valid config file (without the VM running).
	printf '%s' "$BODY" >"$TMP/again.json"
	stop_ember
	rm -f "$TMP/api.sock"
	start_ember --config-file "$TMP/again.json" || return
	wait_for grep -q halting "$TMP/out" || fail "GET /vm/config output refused as a config file: $(cat "$TMP/err")"
}

test_config_file_device_errors() {
	truncate -s 64K "$TMP/d.img"
	printf '{"boot-source": {"kernel_image_path": "%s"}, "drives": [{"drive_id": "a", "path_on_host": "%s", "is_root_device": true}, {"drive_id": "b", "path_on_host": "%s", "is_root_device": true}]}' \
		"$GUEST_ELF" "$TMP/d.img" "$TMP/d.img" >"$TMP/vm.json"
	# Each run's stderr in its own file: the sanitizer check reads every one.
	"$EMBER" --no-api --config-file "$TMP/vm.json" >"$TMP/out" 2>"$TMP/root.err" </dev/null
	assert_eq 152 "$?" "exit code for a second root drive"
	assert_contains "$(cat "$TMP/root.err")" "Configuration for VMM from one single json failed: Drive config error: A root block device already exists!" "error"
	printf '{"boot-source": {"kernel_image_path": "%s"}, "network-interfaces": {}}' "$GUEST_ELF" >"$TMP/vm.json"
	"$EMBER" --no-api --config-file "$TMP/vm.json" >"$TMP/out" 2>"$TMP/section.err" </dev/null
	assert_eq 152 "$?" "exit code for a malformed section"
	assert_contains "$(cat "$TMP/section.err")" 'Invalid JSON: invalid type: map, expected a sequence at line 1 column' "error"
}

run_tests "$@"
