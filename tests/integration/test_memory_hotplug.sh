#!/usr/bin/env bash
# PUT/PATCH/GET /hotplug/memory through the real API socket: Firecracker
# 1.16's serde errors and MemoryHotplugConfig::validate() texts (plus Ember's
# 1 TiB bound), the pre-/post-boot rules, GET /vm/config and --config-file's
# "memory-hotplug"; after a boot without the device PATCH and GET answer
# Firecracker's "Device not found". Then the virtio-mem device on real KVM
# with the test guest (`mem` scenario): config space, PATCH requested_size
# (config interrupt), the guest's refused and accepted PLUG, a write and read
# of the plugged block, GET's plugged_size_mib, UNPLUG after PATCH to 0.
. "$(dirname "$0")/lib.sh"

DE='An error occurred when deserializing the json body of a request: '
CFG='Memory hotplug config error: '
PRE_BOOT='The requested operation is not supported before starting the microVM.'
POST_BOOT='The requested operation is not supported after starting the microVM.'

fault() {
	api "$1" "$2" "$3"
	assert_eq 400 "$STATUS" "$1 $2 $3 status"
	assert_eq "{\"fault_message\":\"$(printf '%s' "$4" | sed 's/[\\"]/\\&/g')\"}" "$BODY" "$1 $2 $3 body"
}

vm_config() { api_ok GET /vm/config; printf '%s' "$BODY"; }

test_api_errors() {
	start_ember || return
	fault PUT /hotplug/memory '{}' "${DE}missing field \`total_size_mib\` at line 1 column 2."
	fault PUT /hotplug/memory '{"total_size_mib": "bar"}' \
		"${DE}invalid type: string \"bar\", expected usize at line 1 column 24."
	fault PUT /hotplug/memory '{"total_size_mib": 1024, "bogus": 1}' \
		"${DE}unknown field \`bogus\`, expected one of \`total_size_mib\`, \`block_size_mib\`, \`slot_size_mib\` at line 1 column 32."
	fault PUT /hotplug/memory '{"total_size_mib": 1024, "block_size_mib": 1}' "${CFG}Block size must not be lower than 2 MiB"
	fault PUT /hotplug/memory '{"total_size_mib": 1024, "block_size_mib": 6}' "${CFG}Block size must be a power of 2"
	fault PUT /hotplug/memory '{"total_size_mib": 1024, "slot_size_mib": 64}' "${CFG}Slot size must not be lower than 128 MiB"
	fault PUT /hotplug/memory '{"total_size_mib": 1024, "block_size_mib": 4, "slot_size_mib": 130}' \
		"${CFG}Slot size must be a multiple of block size (4 MiB)"
	fault PUT /hotplug/memory '{"total_size_mib": 64}' "${CFG}Total size must not be lower than slot size (128 MiB)"
	fault PUT /hotplug/memory '{"total_size_mib": 1000}' "${CFG}Total size must be a multiple of slot size (128 MiB)"
	fault PUT /hotplug/memory '{"total_size_mib": 18446744073709551488}' \
		"${CFG}Total size must not be greater than 1048576 MiB"
	assert_contains "$(vm_config)" '"memory-hotplug":null' "nothing stored by a refusal"
	fault PATCH /hotplug/memory '{"requested_size_mib": 128}' "$PRE_BOOT"
	fault PATCH /hotplug/memory '{"requested_size": 128}' \
		"${DE}unknown field \`requested_size\`, expected \`requested_size_mib\` at line 1 column 17."
	fault GET /hotplug/memory '' "$PRE_BOOT"
	api_ok PUT /hotplug/memory '{"total_size_mib": 1024}'
	assert_contains "$(vm_config)" '"memory-hotplug":{"total_size_mib":1024,"block_size_mib":2,"slot_size_mib":128}' "defaults"
	api_ok PUT /hotplug/memory '{"total_size_mib": 2048, "block_size_mib": 64, "slot_size_mib": 256}'
	assert_contains "$(vm_config)" '"memory-hotplug":{"total_size_mib":2048,"block_size_mib":64,"slot_size_mib":256}' "replaced"
	fault PUT /hotplug/memory '{"total_size_mib": 2048, "block_size_mib": 3}' "${CFG}Block size must be a power of 2"
	assert_contains "$(vm_config)" '"memory-hotplug":{"total_size_mib":2048,"block_size_mib":64,"slot_size_mib":256}' "kept after a refusal"
	# A configured region is a boot-specific resource: no snapshot load.
	fault PUT /snapshot/load "{\"snapshot_path\": \"$TMP/s\", \"mem_file_path\": \"$TMP/m\"}" \
		'Load snapshot error: Loading a microVM snapshot not allowed after configuring boot-specific resources.'
}

test_post_boot() {
	need_kvm || return
	start_ember || return
	api_ok PUT /boot-source \
		"{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 ember.test=halt-forever\"}"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_for grep -q halting "$TMP/out" || { fail "guest did not boot: $(cat "$TMP/err")"; return; }
	fault PUT /hotplug/memory '{"total_size_mib": 1024}' "$POST_BOOT"
	fault PATCH /hotplug/memory '{"requested_size_mib": 128}' \
		'Memory hotplug update error: Failed perform action on device: Device not found'
	fault GET /hotplug/memory '' 'Internal VMM error: Failed perform action on device: Device not found'
	assert_contains "$(vm_config)" '"memory-hotplug":null' "GET /vm/config"
}

# The guest plugs and unplugs a block as the host sets requested_size.
test_guest_plug() {
	need_kvm || return
	start_ember || return
	api_ok PUT /hotplug/memory '{"total_size_mib": 256}'
	api_ok PUT /boot-source \
		"{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 reboot=k ember.test=mem\"}"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_for grep -q "waiting for requested_size" "$TMP/out" || { fail "guest did not wait: $(cat "$TMP/out")"; return; }
	api_ok GET /hotplug/memory
	assert_eq '{"block_size_mib":2,"total_size_mib":256,"slot_size_mib":128,"plugged_size_mib":0,"requested_size_mib":0}' "$BODY" "GET before"
	fault PATCH /hotplug/memory '{"requested_size_mib": 3}' \
		'Memory hotplug update error: Failed to create memory hotplug device: Size 3145728 is invalid: it must be a multiple of block size and less than the total size'
	fault PATCH /hotplug/memory '{"requested_size_mib": 258}' \
		'Memory hotplug update error: Failed to create memory hotplug device: Size 270532608 is invalid: it must be a multiple of block size and less than the total size'
	api_ok PATCH /hotplug/memory '{"requested_size_mib": 2}'
	wait_for grep -q "waiting for 0" "$TMP/out" || { fail "guest did not plug: $(cat "$TMP/out")"; return; }
	api_ok GET /hotplug/memory
	assert_eq '{"block_size_mib":2,"total_size_mib":256,"slot_size_mib":128,"plugged_size_mib":2,"requested_size_mib":2}' "$BODY" "GET plugged"
	api_ok PATCH /hotplug/memory '{"requested_size_mib": 0}'
	wait_exit 30 || fail "guest did not exit: $(cat "$TMP/out")"
	local out; out=$(cat "$TMP/out")
	assert_contains "$out" "mem: block 0x200000 addr 0x100000000 region 0x10000000 usable 0x0 plugged 0x0 requested 0x0" "config space"
	assert_contains "$out" "mem: requested 0x200000" "requested_size"
	assert_contains "$out" "mem: plug outside resp 3 state 0 len 10" "outside the usable region"
	assert_contains "$out" "mem: plug unaligned resp 3 state 0 len 10" "unaligned"
	assert_contains "$out" "mem: plug too much resp 1 state 0 len 10" "past requested_size"
	assert_contains "$out" "mem: plug resp 0 state 0 len 10" "plug"
	assert_contains "$out" "mem: plug again resp 3 state 0 len 10" "already plugged"
	assert_contains "$out" "mem: data ok" "data"
	assert_contains "$out" "mem: unplug resp 0 state 0 len 10" "unplug"
	assert_contains "$out" "mem: state resp 0 state 1 len 10" "unplugged state"
	assert_contains "$out" "mem: unplug again resp 3 state 0 len 10" "unplug again"
	assert_contains "$out" "mem: short resp 61166 state 61166 len 0" "malformed"
	assert_contains "$out" "mem: plugged 0x0" "plugged_size at the end"
}

# Snapshots do not keep virtio-mem's blocks yet: refused rather than lost.
test_snapshot_refused() {
	need_kvm || return
	start_ember || return
	api_ok PUT /hotplug/memory '{"total_size_mib": 128}'
	api_ok PUT /boot-source \
		"{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 ember.test=halt-forever\"}"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_for grep -q halting "$TMP/out" || { fail "guest did not boot: $(cat "$TMP/err")"; return; }
	fault PATCH /hotplug/memory '{"requested_size_mib": 2}' \
		'Memory hotplug update error: Failed to create memory hotplug device: Device is not active'
	api_ok GET /hotplug/memory
	assert_eq '{"block_size_mib":2,"total_size_mib":128,"slot_size_mib":128,"plugged_size_mib":0,"requested_size_mib":0}' "$BODY" "GET"
	api_ok PATCH /vm '{"state": "Paused"}'
	fault PUT /snapshot/create "{\"snapshot_path\": \"$TMP/snap\", \"mem_file_path\": \"$TMP/mem\"}" \
		'Create snapshot error: Ember cannot snapshot a microVM with memory-hotplug (virtio-mem) yet.'
}

test_config_file() {
	cat >"$TMP/vm.json" <<JSON
{"boot-source": {"kernel_image_path": "$GUEST_ELF", "boot_args": "console=ttyS0 reboot=k"},
 "memory-hotplug": {"total_size_mib": 3}}
JSON
	"$EMBER" --no-api --config-file "$TMP/vm.json" >"$TMP/out" 2>>"$TMP/err" </dev/null
	assert_eq 152 "$?" "invalid config exit code"
	assert_contains "$(cat "$TMP/err")" "${CFG}Total size must not be lower than slot size (128 MiB)" "refusal"
	need_kvm || return
	cat >"$TMP/vm.json" <<JSON
{"boot-source": {"kernel_image_path": "$GUEST_ELF", "boot_args": "console=ttyS0 reboot=k ember.test=virtio-list"},
 "memory-hotplug": {"total_size_mib": 256, "slot_size_mib": 256}}
JSON
	"$EMBER" --no-api --config-file "$TMP/vm.json" >"$TMP/out" 2>>"$TMP/err" </dev/null
	assert_eq 0 "$?" "exit code"
	assert_contains "$(cat "$TMP/out")" "virtio-mem at 0xd0001000 irq 5 id 24" "the device is listed"
	assert_contains "$(cat "$TMP/out")" "e820: 3 entries" "the region is not RAM in the e820 map"
}

run_tests "$@"
