#!/usr/bin/env bash
# MMDS through the real API socket (curl): GET/PUT/PATCH /mmds (RFC 7396
# merge, Firecracker's "{}" for an empty store, the not-initialized and
# size-limit errors with the store unchanged, --mmds-size-limit and its
# default), PUT /mmds/config (every refusal with Firecracker's message, the
# V1 Deprecation header, pre-boot only), "mmds-config" in GET /vm/config and
# in --config-file, and the data store after boot. Configurations name
# network interfaces, which open real taps: those cases run as root in a
# network namespace of their own.
. "$(dirname "$0")/lib.sh"

DE='An error occurred when deserializing the json body of a request: '
POST_BOOT='The requested operation is not supported after starting the microVM.'
CFG='MMMDS config error: '
LIMIT='MMDS limit exceeded error: The MMDS patch request doesn'"'"'t fit.'

# fault_status STATUS METHOD PATH JSON MESSAGE: STATUS with exactly {"fault_message": MESSAGE}.
fault_status() {
	api "$2" "$3" "$4"
	assert_eq "$1" "$STATUS" "$2 $3 status"
	assert_eq "{\"fault_message\":\"$(printf '%s' "$5" | sed 's/[\\"]/\\&/g')\"}" "$BODY" "$2 $3 body"
}
fault() { fault_status 400 "$@"; }

mmds_is() { # JSON: GET /mmds answers exactly JSON
	api_ok GET /mmds
	assert_eq "$1" "$BODY" "GET /mmds"
}

test_data_store() {
	start_ember || return
	mmds_is '{}'
	fault PATCH /mmds '{"a": 1}' 'MMDS error: The MMDS data store is not initialized.'
	mmds_is '{}'
	api_ok PUT /mmds '{"latest": {"meta-data": {"ami-id": "ami-1", "tags": ["a", "b"]}}, "age": 43.50, "z": null}'
	mmds_is '{"age":43.5,"latest":{"meta-data":{"ami-id":"ami-1","tags":["a","b"]}},"z":null}'
	# RFC 7396: null removes, objects merge, anything else replaces.
	api_ok PATCH /mmds '{"z": null, "age": {"years": 43}, "latest": {"meta-data": {"tags": "none", "new": true}}}'
	mmds_is '{"age":{"years":43},"latest":{"meta-data":{"ami-id":"ami-1","new":true,"tags":"none"}}}'
	# PUT replaces the whole store; any JSON value is a store.
	api_ok PUT /mmds '["x"]'
	mmds_is '["x"]'
	api_ok PATCH /mmds '{"k": "v"}'
	mmds_is '{"k":"v"}'
	fault PUT /mmds '{' "${DE}EOF while parsing an object at line 1 column 1."
	fault PATCH /mmds '{"a": }' "${DE}expected value at line 1 column 7."
	fault PUT /mmds/foo '{}' 'Unrecognized PUT request path `foo`.'
	mmds_is '{"k":"v"}'
	fault PUT /mmds '' 'Empty PUT request.'
	fault PATCH /mmds '' 'Empty PATCH request.'
	fault GET /mmds '{}' 'GET request cannot have a body.'
	fault DELETE /mmds '' 'Invalid request method and/or path: DELETE mmds.'
}

test_size_limit() {
	start_ember --mmds-size-limit 30 || return
	api_ok PUT /mmds '{"a": "0123456789"}'
	fault_status 413 PUT /mmds '{"a": "0123456789012345678901234"}' "$LIMIT"
	mmds_is '{"a":"0123456789"}'
	fault_status 413 PATCH /mmds '{"b": "0123456789"}' "$LIMIT"
	mmds_is '{"a":"0123456789"}'
	# Measured on the serialized store, not on the request: blanks do not count.
	api_ok PATCH /mmds '{"b"   :   "01"}'
	mmds_is '{"a":"0123456789","b":"01"}'
	stop_ember
	rm -f "$TMP/api.sock"
	# Without --mmds-size-limit the limit is --http-api-max-payload-size (Firecracker).
	start_ember --http-api-max-payload-size 60 || return
	api_ok PUT /mmds '{"a": "01234567890123456789"}'
	fault_status 413 PATCH /mmds '{"b": "01234567890123456789012345"}' "$LIMIT"
	mmds_is '{"a":"01234567890123456789"}'
	stop_ember
	rm -f "$TMP/api.sock"
	"$EMBER" --mmds-size-limit x >/dev/null 2>"$TMP/arg.err"
	assert_eq 153 "$?" "exit code for a bad --mmds-size-limit"
	assert_contains "$(cat "$TMP/arg.err")" "invalid value for --mmds-size-limit: 'x'" "error"
}

# ---- configuration: interfaces are real taps in a namespace of our own ------

NETNS=""
net_cleanup() { [ -n "$NETNS" ] && ip netns del "$NETNS" 2>/dev/null; NETNS=""; }

start_ember_in_netns() {
	need_root || return 1
	command -v ip >/dev/null || { skip "needs ip(8)"; return 1; }
	NETNS=ember-mmds-$$-$RANDOM
	ip netns add "$NETNS" || { skip "cannot create a network namespace"; return 1; }
	SOCK=$TMP/api.sock
	ip netns exec "$NETNS" "$EMBER" --api-sock "$SOCK" "$@" >"$TMP/out" 2>>"$TMP/err" </dev/null &
	EMBER_PID=$!
	wait_for test -S "$SOCK" || { fail "API socket never appeared: $(cat "$TMP/err")"; return 1; }
}

vm_config() { api_ok GET /vm/config; printf '%s' "$BODY"; }

test_config_rules() {
	start_ember_in_netns || { net_cleanup; return; }
	fault PUT /mmds/config '{"network_interfaces": ["eth0"]}' \
		"${CFG}The list of network interface IDs provided contains at least one ID that does not correspond to any existing network interface."
	api_ok PUT /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "tap0"}'
	api_ok PUT /network-interfaces/eth1 '{"iface_id": "eth1", "host_dev_name": "tap1"}'
	local before; before=$(vm_config)
	assert_contains "$before" '"mmds-config":null' "no MMDS config yet"
	fault PUT /mmds/config '{"network_interfaces": []}' \
		"${CFG}The list of network interface IDs that allow forwarding MMDS requests is empty."
	fault PUT /mmds/config '{"network_interfaces": ["eth0", "eth9"]}' \
		"${CFG}The list of network interface IDs provided contains at least one ID that does not correspond to any existing network interface."
	# The address is checked first.
	fault PUT /mmds/config '{"network_interfaces": [], "ipv4_address": "10.0.0.1"}' \
		"${CFG}The MMDS IPv4 address is not link local."
	fault PUT /mmds/config '{"network_interfaces": ["eth0"], "ipv4_address": "169.254.1"}' \
		"${DE}invalid IPv4 address syntax at line 1 column 60."
	fault PUT /mmds/config '{"network_interfaces": ["eth0"], "version": "V3"}' \
		"${DE}unknown variant \`V3\`, expected \`V1\` or \`V2\` at line 1 column 48."
	fault PUT /mmds/config '{"network_interfaces": "eth0"}' \
		"${DE}invalid type: string \"eth0\", expected a sequence at line 1 column 29."
	fault PUT /mmds/config '{"network_interfaces": [1]}' \
		"${DE}invalid type: integer \`1\`, expected a string at line 1 column 25."
	fault PUT /mmds/config '{"version": "V2"}' "${DE}missing field \`network_interfaces\` at line 1 column 17."
	fault PUT /mmds/config '{"network_interfaces": ["eth0"], "imds": true}' \
		"${DE}unknown field \`imds\`, expected one of \`version\`, \`network_interfaces\`, \`ipv4_address\`, \`imds_compat\` at line 1 column 39."
	fault PUT /mmds/config '{"network_interfaces": ["eth0"], "imds_compat": 1}' \
		"${DE}invalid type: integer \`1\`, expected a boolean at line 1 column 49."
	assert_eq "$before" "$(vm_config)" "GET /vm/config after the refusals"

	# V2, the interfaces shown in device order, the address given.
	api_ok PUT /mmds/config '{"network_interfaces": ["eth1", "eth0"], "version": "V2", "ipv4_address": "169.254.170.2", "imds_compat": true}'
	assert_not_contains "$HEADERS" "Deprecation" "V2 is not deprecated"
	assert_contains "$(vm_config)" '"mmds-config":{"version":"V2","network_interfaces":["eth0","eth1"],"ipv4_address":"169.254.170.2","imds_compat":true},"network-interfaces"' "mmds-config V2"
	# V1 (also when left out) is deprecated; the default address is shown.
	api_ok PUT /mmds/config '{"network_interfaces": ["eth1"]}'
	assert_contains "$HEADERS" "Deprecation: true" "V1 deprecated"
	assert_contains "$(vm_config)" '"mmds-config":{"version":"V1","network_interfaces":["eth1"],"ipv4_address":"169.254.169.254","imds_compat":false}' "mmds-config V1"
	stop_ember
	net_cleanup
}

test_after_boot() {
	need_kvm || return
	start_ember_in_netns || { net_cleanup; return; }
	api_ok PUT /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "06:00:00:00:00:01"}'
	api_ok PUT /mmds/config '{"network_interfaces": ["eth0"], "version": "V2"}'
	api_ok PUT /mmds '{"a": 1}'
	api_ok PUT /boot-source \
		"{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 ember.test=halt-forever\"}"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_for grep -q halting "$TMP/out" || { fail "guest did not boot: $(cat "$TMP/err")"; net_cleanup; return; }
	fault PUT /mmds/config '{"network_interfaces": ["eth0"]}' "$POST_BOOT"
	# The data store stays available while the VM runs.
	mmds_is '{"a":1}'
	api_ok PATCH /mmds '{"b": [true]}'
	mmds_is '{"a":1,"b":[true]}'
	api_ok PUT /mmds '{"c": "d"}'
	mmds_is '{"c":"d"}'
	# 200 keys: their sort (1.6 KiB of pointers) ran glibc's qsort(), whose
	# sysinfo() the VMM thread's seccomp filter killed the VM for.
	api_ok PUT /mmds "$(python3 -c 'import json; print(json.dumps({"k%03d" % (199 - i): i for i in range(200)}))')"
	api_ok GET /mmds
	assert_contains "$BODY" '{"k000":199,"k001":198,' "GET /mmds of 200 keys (serde's order)"
	api_ok PUT /mmds '{"c": "d"}'
	assert_contains "$(vm_config)" '"mmds-config":{"version":"V2","network_interfaces":["eth0"],"ipv4_address":"169.254.169.254","imds_compat":false}' "mmds-config after boot"
	stop_ember
	net_cleanup
}

# The MMDS configuration is part of a snapshot (Firecracker restores its
# version, imds_compat and network stacks); the data store is not.
test_snapshot_keeps_config() {
	need_kvm || return
	start_ember_in_netns || { net_cleanup; return; }
	api_ok PUT /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "tap0"}'
	api_ok PUT /network-interfaces/eth1 '{"iface_id": "eth1", "host_dev_name": "tap1"}'
	api_ok PUT /mmds/config '{"network_interfaces": ["eth1"], "version": "V2", "ipv4_address": "169.254.7.7", "imds_compat": true}'
	api_ok PUT /mmds '{"a": 1}'
	api_ok PUT /boot-source \
		"{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 ember.test=halt-forever\"}"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_for grep -q halting "$TMP/out" || { fail "guest did not boot: $(cat "$TMP/err")"; net_cleanup; return; }
	api_ok PATCH /vm '{"state": "Paused"}'
	api_ok PUT /snapshot/create "{\"snapshot_path\": \"$TMP/vm.snap\", \"mem_file_path\": \"$TMP/vm.mem\"}"
	stop_ember
	rm -f "$SOCK"
	# A fresh ember in the same namespace (the taps come back with it).
	SOCK=$TMP/api.sock
	ip netns exec "$NETNS" "$EMBER" --api-sock "$SOCK" >"$TMP/out2" 2>>"$TMP/err" </dev/null &
	EMBER_PID=$!
	wait_for test -S "$SOCK" || { fail "API socket never appeared: $(cat "$TMP/err")"; net_cleanup; return; }
	api_ok PUT /snapshot/load "{\"snapshot_path\": \"$TMP/vm.snap\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$TMP/vm.mem\"}}"
	assert_contains "$(vm_config)" '"mmds-config":{"version":"V2","network_interfaces":["eth1"],"ipv4_address":"169.254.7.7","imds_compat":true}' "mmds-config restored"
	mmds_is '{}'
	fault PUT /mmds/config '{"network_interfaces": ["eth0"]}' "$POST_BOOT"
	stop_ember
	net_cleanup
}

test_config_file() {
	need_kvm || return
	cat >"$TMP/vm.json" <<JSON
{
  "boot-source": {"kernel_image_path": "$GUEST_ELF", "boot_args": "console=ttyS0 ember.test=halt-forever"},
  "network-interfaces": [{"iface_id": "net1", "host_dev_name": "tap7"}],
  "mmds-config": {"version": "V2", "network_interfaces": ["net1"], "ipv4_address": "169.254.1.2"}
}
JSON
	start_ember_in_netns --config-file "$TMP/vm.json" || { net_cleanup; return; }
	wait_for grep -q halting "$TMP/out" || { fail "guest did not boot from the config file: $(cat "$TMP/err")"; net_cleanup; return; }
	assert_contains "$(vm_config)" '"mmds-config":{"version":"V2","network_interfaces":["net1"],"ipv4_address":"169.254.1.2","imds_compat":false}' "mmds-config from the file"
	stop_ember
	net_cleanup
	# A refused section ends ember like any other.
	printf '{"boot-source": {"kernel_image_path": "%s"}, "mmds-config": {"network_interfaces": ["none"]}}' \
		"$GUEST_ELF" >"$TMP/bad.json"
	"$EMBER" --no-api --config-file "$TMP/bad.json" >"$TMP/out2" 2>"$TMP/bad.err" </dev/null
	assert_eq 152 "$?" "exit code for an MMDS config naming no interface"
	assert_contains "$(cat "$TMP/bad.err")" "${CFG}The list of network interface IDs provided contains at least one ID" "error"
}

run_tests "$@"
