#!/usr/bin/env bash
# VMGenID and VMClock on real KVM with the test guest's vmgenid scenario,
# which finds both devices and the GED through the ACPI tables as Linux does
# and reports every notification: a fresh random ID at every boot, at
# 0xdfff0 in the DSDT's ADDR package, with the VMClock page at 0xde000 and
# the GSIs after the virtio devices'; across a snapshot the memory file
# holds the ID the guest read, and every restore (two clones of one
# snapshot, a snapshot of a clone) writes a new ID and moves the VMClock
# counters, each announced by its GED interrupt; a vmstate whose VGEN or
# VCLK section does not match the VM is refused with the section named.
. "$(dirname "$0")/lib.sh"

SNAPTOOL=$BUILD/tests/integration/snapshot_tool
PIDS=()
ID_RE='[0-9a-f]{32}'

# spawn DIR: an ember with its socket, stdout and stderr in DIR; talk to it.
spawn() {
	mkdir -p "$1"
	SOCK=$1/api.sock
	"$EMBER" --api-sock "$SOCK" >"$1/out" 2>"$1/err" </dev/null &
	EMBER_PID=$!
	PIDS+=("$!")
	wait_for test -S "$SOCK" || { fail "API socket never appeared in $1: $(cat "$1/err")"; return 1; }
}

stop_all() {
	local p
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	PIDS=()
	EMBER_PID=""
}

# has_line FILE ERE: FILE holds a line matching ERE (whole line).
has_line() { grep -qxE "$2" "$1" 2>/dev/null; }

# wait_line FILE ERE: up to 10 s (scaled) for such a line.
wait_line() {
	wait_until $((10 * ${EMBER_TEST_TIMEOUT_SCALE:-1})) has_line "$1" "$2" ||
		{ fail "no line /$2/ in $1: $(tail -5 "$1" | tr '\n' '|')"; return 1; }
}

# boot_guest DIR [DRIVE]: the vmgenid scenario in DIR (with an entropy device when DRIVE=rng).
boot_guest() {
	spawn "$1" || return 1
	api_ok PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}'
	[ "${2-}" = rng ] && api_ok PUT /entropy '{}'
	api_ok PUT /boot-source \
		"{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 reboot=k panic=1 ember.test=vmgenid\"}"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_line "$1/out" 'vmgenid: waiting'
}

# id_of FILE [IRQS]: the ID in the last "vmgenid: id" line with that interrupt count.
id_of() { grep -E "^vmgenid: id $ID_RE irqs ${2:-0}\$" "$1" | tail -1 | awk '{print $3}'; }

load() { # DIR SNAPSHOT MEM: a clone of the snapshot in DIR, resumed
	spawn "$1" || return 1
	api_ok PUT /snapshot/load \
		"{\"snapshot_path\": \"$2\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$3\"}, \"resume_vm\": true}"
}

# ID at 0xdfff0 in a memory file, as hex.
mem_id() { od -An -tx1 -v -j $((0xdfff0)) -N 16 "$1" | tr -d ' \n'; }

test_boot_announces_both_devices() {
	need_kvm || return
	boot_guest "$TMP/a" || return
	local out; out=$(cat "$TMP/a/out")
	assert_contains "$out" "vmgenid: addr 0xdfff0 irq 5 vmclock addr 0xde000 irq 6" "found via ACPI"
	assert_contains "$out" "vmclock: magic 0x4b4c4356 size 0x1000 version 1 counter_id 0xff seq 0 disruption 0 flags 0x300 status 0 generation 0 irqs 0" "VMClock page"
	local id; id=$(id_of "$TMP/a/out")
	[ -n "$id" ] || { fail "no ID printed: $out"; return; }
	[ "$id" != 00000000000000000000000000000000 ] || fail "the ID is all zero"
	# Another boot, another ID; with a virtio device the GSIs move up by one.
	stop_all
	boot_guest "$TMP/b" rng || return
	assert_contains "$(cat "$TMP/b/out")" "vmgenid: addr 0xdfff0 irq 6 vmclock addr 0xde000 irq 7" "GSIs after the device's"
	local id2; id2=$(id_of "$TMP/b/out")
	[ -n "$id2" ] && [ "$id2" != "$id" ] || fail "two boots, same ID $id"
	api_ok GET /
	assert_contains "$BODY" '"state":"Running"' "GET / unaffected"
	stop_all
}

test_clones_get_new_ids_and_notifications() {
	need_kvm || return
	boot_guest "$TMP/a" || return
	local boot_id a b c
	boot_id=$(id_of "$TMP/a/out")
	api_ok PATCH /vm '{"state": "Paused"}'
	api_ok PUT /snapshot/create \
		"{\"snapshot_path\": \"$TMP/vm.snap\", \"mem_file_path\": \"$TMP/vm.mem\", \"snapshot_type\": \"Full\"}"
	stop_all
	# What the guest read is what the VMM wrote into its memory.
	assert_eq "$boot_id" "$(mem_id "$TMP/vm.mem")" "ID in the memory file"
	"$EMBER" --describe-snapshot "$TMP/vm.snap" >"$TMP/describe" 2>&1 ||
		fail "describe failed: $(cat "$TMP/describe")"

	load "$TMP/c1" "$TMP/vm.snap" "$TMP/vm.mem" || return
	wait_line "$TMP/c1/out" "vmgenid: id $ID_RE irqs 1" || return
	wait_line "$TMP/c1/out" 'vmclock: magic 0x4b4c4356 size 0x1000 version 1 counter_id 0xff seq 2 disruption 1 flags 0x300 status 0 generation 1 irqs 1' || return
	a=$(id_of "$TMP/c1/out" 1)
	[ "$a" != "$boot_id" ] || fail "clone 1 kept the snapshot's ID"
	# A snapshot of the clone: the next restore moves the counters on.
	api_ok PATCH /vm '{"state": "Paused"}'
	api_ok PUT /snapshot/create \
		"{\"snapshot_path\": \"$TMP/c1.snap\", \"mem_file_path\": \"$TMP/c1.mem\", \"snapshot_type\": \"Full\"}"
	assert_eq "$a" "$(mem_id "$TMP/c1.mem")" "clone 1's ID in its memory file"
	stop_all

	load "$TMP/c2" "$TMP/vm.snap" "$TMP/vm.mem" || return
	wait_line "$TMP/c2/out" "vmgenid: id $ID_RE irqs 1" || return
	wait_line "$TMP/c2/out" 'vmclock: .* seq 2 disruption 1 .* generation 1 irqs 1' || return
	b=$(id_of "$TMP/c2/out" 1)
	[ "$b" != "$boot_id" ] && [ "$b" != "$a" ] || fail "clone 2's ID $b is not new (boot $boot_id, clone 1 $a)"
	api_ok GET /
	assert_contains "$BODY" '"state":"Running"' "GET / of a clone"
	stop_all

	load "$TMP/c3" "$TMP/c1.snap" "$TMP/c1.mem" || return
	# The guest counts interrupts since its boot: this is its second notification.
	wait_line "$TMP/c3/out" "vmgenid: id $ID_RE irqs 2" || return
	wait_line "$TMP/c3/out" 'vmclock: .* seq 4 disruption 2 .* generation 2 irqs 2' || return
	c=$(id_of "$TMP/c3/out" 2)
	[ -n "$c" ] && [ "$c" != "$a" ] && [ "$c" != "$boot_id" ] || fail "clone of clone 1: ID $c is not new"
	stop_all
}

# poke TAG OFFSET BYTE: a copy of the snapshot whose section says something else; the load
# must fail naming the section, and leave the instance unstarted.
refused() {
	cp "$TMP/vm.snap" "$TMP/bad.snap"
	"$SNAPTOOL" poke "$TMP/bad.snap" "$1" "$2" "$3" || { fail "snapshot_tool poke $*"; return 1; }
	spawn "$TMP/bad-$1-$2" || return 1
	api PUT /snapshot/load \
		"{\"snapshot_path\": \"$TMP/bad.snap\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$TMP/vm.mem\"}}"
	assert_eq 400 "$STATUS" "load with $1 byte $2 = $3"
	assert_contains "$BODY" "section $1 0 does not match the device" "$1 byte $2"
	api_ok GET /
	assert_contains "$BODY" '"state":"Not started"' "after the refused load"
	stop_all
}

test_mismatched_sections_refused() {
	need_kvm || return
	[ -x "$SNAPTOOL" ] || { fail "$SNAPTOOL not built"; return; }
	boot_guest "$TMP/a" || return
	api_ok PATCH /vm '{"state": "Paused"}'
	api_ok PUT /snapshot/create \
		"{\"snapshot_path\": \"$TMP/vm.snap\", \"mem_file_path\": \"$TMP/vm.mem\", \"snapshot_type\": \"Full\"}"
	stop_all
	refused VGEN 0 0x00 # address 0xdff00
	refused VGEN 8 9    # GSI 9
	refused VCLK 1 0xd0 # address 0xdd000
	refused VCLK 16 0   # magic
	refused VCLK 12 0   # the structure's length
}

run_tests "$@"
