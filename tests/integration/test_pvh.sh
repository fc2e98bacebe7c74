#!/usr/bin/env bash
# PVH boot on real KVM with the test guest: test-guest-pvh.elf is the test
# guest with the Xen PVH entry note, whose entry (tests/guest/pvh_entry.S)
# records the state it was entered in and builds its boot_params from the
# start info before it goes to long mode. The guest's report must show the
# state the PVH ABI requires (32-bit protected mode, paging off, EBX = start
# info, flat 32-bit segments, IF clear) and the start info Ember wrote
# (magic, version, memory map, RSDP, the initrd as module 0); the command
# line, memory and CPUs it then prints came through the start info too.
. "$(dirname "$0")/lib.sh"

GUEST_PVH=$BUILD/guest/test-guest-pvh.elf
MACHINE='{"vcpu_count": 2, "mem_size_mib": 128}'

# boot_pvh KERNEL [MACHINE_JSON] [INITRD]: configure, start, wait for exit 0.
boot() {
	local initrd=""
	[ -n "${3-}" ] && initrd=", \"initrd_path\": \"$3\""
	api_ok PUT /machine-config "${2:-$MACHINE}"
	api_ok PUT /boot-source "{\"kernel_image_path\": \"$1\", \"boot_args\": \"console=ttyS0 reboot=k panic=1 ember.test=hello\"$initrd}"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_exit 30 || fail "guest did not exit"
	assert_eq 0 "$EXIT_CODE" "exit code"
}

pvh_start_addr() { printf '%#x' "0x$(nm "$GUEST_PVH" | awk '$3 == "pvh_start" { print $1 }')"; }

test_pvh_entry_state_and_start_info() {
	need_kvm || return
	start_ember || return
	head -c 12345 /dev/urandom >"$TMP/initrd"
	boot "$GUEST_PVH" "$MACHINE" "$TMP/initrd"
	local out; out=$(tr -d '\r' <"$TMP/out")
	assert_contains "$out" "pvh: cr0=0x11 cr4=0x0 efer=0x0 ebx=0x6000 cs=0x10 ds=0x18 eflags=0x2" "PVH entry state"
	# The initrd sits page-aligned at the top of the 128 MiB: 0x8000000 - 12345 rounded down.
	assert_contains "$out" "pvh: magic=0x336ec578 version=0x1 memmap=0x3 rsdp=0xe0000 modules=0x1 initrd=0x7ffc000 initrd_size=0x3039" "start info"
	assert_contains "$out" "cmdline: console=ttyS0 reboot=k panic=1 ember.test=hello" "command line (cmdline_paddr)"
	assert_contains "$out" "mem: 128 MiB" "RAM in the PVH memory map"
	assert_contains "$out" "e820: 3 entries" "PVH memory map entries"
	assert_contains "$out" "cpus: 2" "MP table"
	assert_contains "$out" "hello from ember-test-guest" "scenario"
	assert_contains "$(cat "$TMP/err")" "Kernel entered through its PVH entry at $(pvh_start_addr)" "ember's log"
}

# No initrd: no module; memory above the MMIO hole: a fourth map entry at 4 GiB.
test_pvh_no_initrd_memory_above_4g() {
	need_kvm || return
	start_ember || return
	boot "$GUEST_PVH" '{"vcpu_count": 1, "mem_size_mib": 3584}'
	local out; out=$(tr -d '\r' <"$TMP/out")
	assert_contains "$out" "memmap=0x4 rsdp=0xe0000 modules=0x0 initrd=0x0 initrd_size=0x0" "start info"
	assert_contains "$out" "mem: 3584 MiB" "RAM in the PVH memory map"
	assert_contains "$out" "e820: 4 entries" "PVH memory map entries"
}

# The same guest without the note is entered at startup_64 as before.
test_elf_without_note_keeps_64bit_entry() {
	need_kvm || return
	start_ember || return
	boot "$GUEST_ELF"
	local out; out=$(tr -d '\r' <"$TMP/out")
	assert_contains "$out" "ember-test-guest: booted" "serial output"
	assert_not_contains "$out" "pvh:" "serial output"
	assert_contains "$(cat "$TMP/err")" "Kernel entered through the 64-bit boot protocol at 0x100200" "ember's log"
}

# A PVH note with a 2-byte descriptor: InstanceStart fails with the reason,
# the VM stays configurable and boots once given a good kernel.
test_malformed_pvh_note_is_refused() {
	need_kvm || return
	start_ember || return
	local off
	off=$(python3 -c '
import struct, sys
d = open(sys.argv[1], "rb").read()
print(d.find(b"\x04\x00\x00\x00\x08\x00\x00\x00\x12\x00\x00\x00Xen\x00") + 4)' "$GUEST_PVH")
	[ "$off" -gt 4 ] || { fail "PVH note not found in $GUEST_PVH"; return; }
	cp "$GUEST_PVH" "$TMP/bad.elf"
	printf '\002' | dd of="$TMP/bad.elf" bs=1 seek="$off" conv=notrunc status=none
	api_ok PUT /boot-source "{\"kernel_image_path\": \"$TMP/bad.elf\"}"
	api PUT /actions '{"action_type": "InstanceStart"}'
	assert_eq 400 "$STATUS" "InstanceStart with a malformed PVH note"
	assert_contains "$BODY" "ELF PVH entry note has a 2-byte descriptor, expected 4 or 8" "fault message"
	api GET /
	assert_contains "$BODY" '"state":"Not started"' "state after a failed start"
	boot "$GUEST_PVH"
	assert_contains "$(tr -d '\r' <"$TMP/out")" "pvh: cr0=0x11" "serial output"
}

# A PVH-booted guest snapshots and restores like any other: the vCPU state
# comes from the snapshot, so the restored count goes on without gap or repeat.
test_pvh_guest_snapshot_restore() {
	need_kvm || return
	local n=150 a=$TMP/a b=$TMP/b pid_a
	mkdir -p "$a" "$b"
	"$EMBER" --api-sock "$a/api.sock" >"$a/out" 2>"$a/err" </dev/null &
	pid_a=$!
	SOCK=$a/api.sock EMBER_PID=$pid_a
	wait_for test -S "$SOCK" || { fail "API socket never appeared"; return; }
	api_ok PUT /machine-config "$MACHINE"
	api_ok PUT /boot-source "{\"kernel_image_path\": \"$GUEST_PVH\", \"boot_args\": \"console=ttyS0 reboot=k panic=1 ember.test=count=$n\"}"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_until 10 grep -qx "count: 30" "$a/out" || { fail "the guest never printed count: 30"; return; }
	api_ok PATCH /vm '{"state": "Paused"}'
	api_ok PUT /snapshot/create "{\"snapshot_path\": \"$TMP/vm.snap\", \"mem_file_path\": \"$TMP/vm.mem\"}"
	stop_ember
	assert_contains "$(cat "$a/out")" "pvh: cr0=0x11" "first boot through PVH"

	"$EMBER" --api-sock "$b/api.sock" >"$b/out" 2>"$b/err" </dev/null &
	SOCK=$b/api.sock EMBER_PID=$!
	wait_for test -S "$SOCK" || { fail "API socket never appeared"; return; }
	api_ok PUT /snapshot/load "{\"snapshot_path\": \"$TMP/vm.snap\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$TMP/vm.mem\"}, \"resume_vm\": true}"
	wait_exit 30 || fail "the restored guest did not finish"
	assert_eq 0 "$EXIT_CODE" "exit code of the restored guest"
	local want got
	want=$(seq 1 "$n" | sed 's/^/count: /'; echo 'count: done')
	got=$(cat "$a/out" "$b/out" | tr -d '\r' | sed -n '/^count: 1$/,$p')
	[ "$want" = "$got" ] || fail "output of both processes is not count: 1..$n once each"
	grep -qsE 'Sanitizer|runtime error:' "$a/err" "$b/err" && fail "sanitizer report"
}

run_tests "$@"
