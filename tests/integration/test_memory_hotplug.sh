#!/usr/bin/env bash
# PUT/PATCH/GET /hotplug/memory through the real API socket: Firecracker
# 1.16's serde errors and MemoryHotplugConfig::validate() texts (plus Ember's
# 1 TiB bound), the pre-/post-boot rules, GET /vm/config and --config-file's
# "memory-hotplug"; after a boot without the device PATCH and GET answer
# Firecracker's "Device not found". Then the virtio-mem device on real KVM
# with the test guest (`mem` scenario): config space, PATCH requested_size
# (config interrupt), the guest's refused and accepted PLUG, a write and read
# of the plugged block, GET's plugged_size_mib, UNPLUG after PATCH to 0;
# snapshots (Full, and Diff over a base) restored in a new ember with the
# plugged blocks and their bytes, through the File backend and (Full)
# through the Uffd backend with tests/integration's page-fault handler, told
# about the hotplug region as one more mapping after RAM.
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

# Snapshots keep the plugged blocks and their bytes (after RAM in the memory
# file): a Full snapshot, and a Diff merged onto a base taken before the
# plug, each loaded into a new ember; the guest reads its pattern back, GET
# shows the same plugged size, and the guest plugs and unplugs afterwards.
SNAPTOOL=$BUILD/tests/integration/snapshot_tool
HOTPLUG_4='{"block_size_mib":2,"total_size_mib":256,"slot_size_mib":128,"plugged_size_mib":4,"requested_size_mib":4}'

create() { # SNAP MEM [Full|Diff]
	api_ok PUT /snapshot/create \
		"{\"snapshot_path\": \"$1\", \"mem_file_path\": \"$2\", \"snapshot_type\": \"${3:-Full}\"}"
}

load_file() { # SNAP MEM
	api PUT /snapshot/load \
		"{\"snapshot_path\": \"$1\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$2\"}, \"resume_vm\": true}"
}

# In the running (restored) ember: the guest's go, then its checks.
finish_restored() { # WHAT
	api_ok GET /hotplug/memory
	assert_eq "$HOTPLUG_4" "$BODY" "$1: GET after the load" || return
	api_ok PATCH /hotplug/memory '{"requested_size_mib": 6}'
	wait_exit 30 || { fail "$1: the guest did not finish: $(cat "$TMP/out")"; return; }
	assert_eq 0 "$EXIT_CODE" "$1: exit code"
	local out; out=$(cat "$TMP/out")
	assert_contains "$out" "mem-snap: data ok" "$1: the pattern after the restore"
	assert_contains "$out" "mem: state resp 0 state 0 len 10" "$1: blocks still plugged"
	assert_contains "$out" "mem: plug more resp 0 state 0 len 10" "$1: plug after the restore"
	assert_contains "$out" "mem: unplug resp 0 state 0 len 10" "$1: unplug after the restore"
	assert_contains "$out" "mem: replug resp 0 state 0 len 10" "$1: plug again"
	assert_contains "$out" "mem-snap: zero after replug" "$1: an unplugged block was given back"
	assert_contains "$out" "mem: unplug replugged resp 0 state 0 len 10" "$1: unplug again"
	assert_contains "$out" "mem-snap: plugged 0x0" "$1: plugged_size at the end"
}

# The snapshots of one guest: base (nothing plugged), then Diff and Full with 4 MiB plugged.
take_snapshots() {
	start_ember || return
	api_ok PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 128, "track_dirty_pages": true}'
	api_ok PUT /hotplug/memory '{"total_size_mib": 256}'
	api_ok PUT /boot-source \
		"{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 reboot=k ember.test=mem-snap\"}"
	api_ok PUT /actions '{"action_type": "InstanceStart"}' || return
	wait_for grep -q "mem-snap: waiting for requested_size" "$TMP/out" ||
		{ fail "guest did not wait: $(cat "$TMP/out")"; return; }
	api_ok PATCH /vm '{"state": "Paused"}'
	create "$TMP/base.snap" "$TMP/base.mem" || return
	api_ok PATCH /vm '{"state": "Resumed"}'
	api_ok PATCH /hotplug/memory '{"requested_size_mib": 4}'
	wait_for grep -q "mem-snap: written 0x400000" "$TMP/out" ||
		{ fail "guest did not write: $(cat "$TMP/out")"; return; }
	api_ok PATCH /vm '{"state": "Paused"}'
	api_ok GET /hotplug/memory
	assert_eq "$HOTPLUG_4" "$BODY" "GET before the snapshot" || return
	create "$TMP/diff.snap" "$TMP/diff.mem" Diff || return
	create "$TMP/full.snap" "$TMP/full.mem" || return
	stop_ember
	rm -f "$SOCK"
}

test_snapshot_restore() {
	need_kvm || return
	take_snapshots || return
	# RAM, then the whole hotplug region (sparse).
	assert_eq $(((128 + 256) << 20)) "$(stat -c %s "$TMP/full.mem")" "size of the Full memory file"
	assert_eq $(((128 + 256) << 20)) "$(stat -c %s "$TMP/diff.mem")" "size of the Diff memory file"
	local diff_kib; diff_kib=$(du -k "$TMP/diff.mem" | cut -f1)
	[ "$diff_kib" -ge 4096 ] && [ "$diff_kib" -lt 6144 ] ||
		fail "the Diff should hold the two plugged blocks and a few pages, it holds $diff_kib KiB"
	cp --sparse=always "$TMP/base.mem" "$TMP/merged.mem"
	"$SNAPTOOL" merge "$TMP/merged.mem" "$TMP/diff.mem" >/dev/null || { fail "merge failed"; return; }
	cmp -s "$TMP/merged.mem" "$TMP/full.mem" || fail "base + Diff differs from a Full snapshot of the same moment"
	local desc; desc=$("$EMBER" --describe-snapshot "$TMP/full.snap")
	assert_contains "$desc" "memory hotplug: 256 MiB, blocks of 2 MiB, slots of 128 MiB" "describe: configuration"
	assert_contains "$desc" "virtio-mem at " "describe: device"

	start_ember || return
	# A refused load leaves the process fresh: a memory file without the region.
	head -c $((129 << 20)) "$TMP/full.mem" >"$TMP/short.mem"
	load_file "$TMP/full.snap" "$TMP/short.mem"
	assert_eq 400 "$STATUS" "short memory file status"
	assert_contains "$BODY" "the snapshot's hotplug region needs $(((128 + 256) << 20))" "short memory file refused"
	load_file "$TMP/full.snap" "$TMP/full.mem"
	assert_eq 204 "$STATUS" "Full load: $BODY" || return
	finish_restored Full || return

	rm -f "$SOCK"
	start_ember || return
	load_file "$TMP/diff.snap" "$TMP/merged.mem"
	assert_eq 204 "$STATUS" "Diff load: $BODY" || return
	finish_restored Diff
}

# The Full snapshot through the Uffd backend: the handler gets RAM's
# mappings and the hotplug region's (offset: RAM's size) and serves the
# plugged blocks' pages from the memory file on fault, zeros after an unplug.
HANDLER=$BUILD/tests/integration/uffd_handler

test_snapshot_restore_uffd() {
	need_kvm || return
	take_snapshots || return
	"$HANDLER" "$TMP/uffd.sock" "$TMP/full.mem" >"$TMP/handler.out" 2>"$TMP/handler.err" &
	local handler=$!
	wait_until 30 grep -qx "uffd_handler: listening" "$TMP/handler.out" ||
		{ fail "handler did not start"; kill "$handler"; return; }
	start_ember || { kill "$handler"; return; }
	api PUT /snapshot/load \
		"{\"snapshot_path\": \"$TMP/full.snap\", \"mem_backend\": {\"backend_type\": \"Uffd\", \"backend_path\": \"$TMP/uffd.sock\"}, \"resume_vm\": true}"
	assert_eq 204 "$STATUS" "Uffd load: $BODY" || { kill "$handler"; return; }
	finish_restored Uffd
	# ember exited: the handler sees its socket close and reports.
	wait_until 30 grep -q "^uffd_handler: served" "$TMP/handler.out" ||
		fail "the handler did not finish: $(cat "$TMP/handler.err")"
	kill "$handler" 2>/dev/null
	wait "$handler" 2>/dev/null
	local served; served=$(sed -n 's/^uffd_handler: served \([0-9]*\) pages$/\1/p' "$TMP/handler.out")
	# The guest read its 4 MiB pattern back: at least those 1024 pages came from the handler.
	[ -n "$served" ] && [ "$served" -ge 1024 ] ||
		fail "the handler served too few pages: $(cat "$TMP/handler.out" "$TMP/handler.err")"
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
