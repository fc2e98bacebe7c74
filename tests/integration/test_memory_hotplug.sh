#!/usr/bin/env bash
# PUT/PATCH/GET /hotplug/memory through the real API socket: Firecracker
# 1.16's serde errors and MemoryHotplugConfig::validate() texts (plus Ember's
# 1 TiB bound), the pre-/post-boot rules, GET /vm/config and --config-file's
# "memory-hotplug". Ember has no virtio-mem device yet: InstanceStart with a
# region configured is refused (API and --config-file), and after a boot
# without one PATCH and GET answer Firecracker's "Device not found".
. "$(dirname "$0")/lib.sh"

DE='An error occurred when deserializing the json body of a request: '
CFG='Memory hotplug config error: '
PRE_BOOT='The requested operation is not supported before starting the microVM.'
POST_BOOT='The requested operation is not supported after starting the microVM.'
NO_DEVICE='Start microvm error: Ember does not implement the virtio-mem device yet: remove memory-hotplug to start.'

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
	# The configured region keeps the VM from starting, and a snapshot load too.
	api_ok PUT /boot-source "{\"kernel_image_path\": \"$GUEST_ELF\"}"
	fault PUT /actions '{"action_type": "InstanceStart"}' "$NO_DEVICE"
	api GET /
	assert_contains "$BODY" '"state":"Not started"' "still not started"
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

test_config_file() {
	cat >"$TMP/vm.json" <<JSON
{"boot-source": {"kernel_image_path": "$GUEST_ELF", "boot_args": "console=ttyS0 reboot=k"},
 "memory-hotplug": {"total_size_mib": 3}}
JSON
	"$EMBER" --no-api --config-file "$TMP/vm.json" >"$TMP/out" 2>>"$TMP/err" </dev/null
	assert_eq 152 "$?" "invalid config exit code"
	assert_contains "$(cat "$TMP/err")" "${CFG}Total size must not be lower than slot size (128 MiB)" "refusal"
	cat >"$TMP/vm.json" <<JSON
{"boot-source": {"kernel_image_path": "$GUEST_ELF", "boot_args": "console=ttyS0 reboot=k"},
 "memory-hotplug": {"total_size_mib": 256, "slot_size_mib": 256}}
JSON
	"$EMBER" --no-api --config-file "$TMP/vm.json" >"$TMP/out" 2>>"$TMP/err" </dev/null
	assert_eq 152 "$?" "start refused exit code"
	assert_contains "$(cat "$TMP/err")" "$NO_DEVICE" "start refused"
}

run_tests "$@"
