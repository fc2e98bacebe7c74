#!/usr/bin/env bash
# Clones of one snapshot of a running Linux (Debian's 6.1 kernel) learn that
# they are clones, through VMGenID: the guest's vmgenid driver binds the VGEN
# device (VMGENCTR) and the GED (ACPI0013) carries its notification; after a
# restore the kernel logs "crng reseeded due to virtual machine fork"
# (add_vmfork_randomness), its boot_id is the snapshot's (same boot), and two
# clones read different bytes from /dev/urandom although they resumed from
# the same RNG state. The ID the guest sees (read through /dev/mem with
# busybox devmem) is new in each clone. 6.1 has no VMClock driver
# (ptp_vmclock came with 6.13): the guest sees the ACPI device AMZNC10C with
# no driver, and the page itself is checked byte by byte through /dev/mem:
# magic, size, version, then seq_count 2, disruption_marker 1 and
# vm_generation_counter 1 in each clone (0 before the snapshot).
. "$(dirname "$0")/lib.sh"

# guest_say ID KEY CMD: run CMD in the guest and report its output as KEY=...
guest_say() { guest_ok "$1" "say \"$2=\$($3)\""; }

# In the guest: the 16-byte ID at 0xdfff0 as 32 hex digits (4 little-endian words).
READ_ID='for a in 0xdfff0 0xdfff4 0xdfff8 0xdfffc; do devmem $a 32; done | tr -d "\n"'
# In the guest: "magic size version/counter_id seq disruption generation" of the VMClock page.
READ_VMCLOCK='echo $(devmem 0xde000 32) $(devmem 0xde004 32) $(devmem 0xde008 32) $(devmem 0xde00c 32) $(devmem 0xde010 64) $(devmem 0xde068 64) | tr " " ,'

# clone DIR: a new ember in DIR resumes the snapshot; its guest answers again.
clone() {
	vm_spawn "$1" || return 1
	api_ok PUT /snapshot/load "{\"snapshot_path\": \"$TMP/vm.snap\",
		\"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$TMP/vm.mem\"}, \"resume_vm\": true}"
	# The reseed runs from the GED's interrupt: wait for its log line (up to 30 s, guest time).
	guest_ok "$2" 'i=0; until dmesg | grep -q "crng reseeded due to virtual machine fork"; do i=$((i + 1)); [ $i -lt 300 ] || exit 1; sleep 0.1; done'
	guest_say "$2u" urandom 'head -c 32 /dev/urandom | od -An -tx1 | tr -d " \n"'
	guest_say "$2b" bootid 'cat /proc/sys/kernel/random/boot_id'
	guest_say "$2i" genid "$READ_ID"
	guest_say "$2c" vmclock "$READ_VMCLOCK"
	guest_say "$2n" forks 'dmesg | grep -c "crng reseeded due to virtual machine fork"'
}

test_clones_reseed_from_vmgenid() {
	need_linux || return
	local boot_id boot_genid u1 u2 g1 g2
	vm_spawn "$TMP/a" || return
	linux_config cmd 1 128 ember.nomods
	vm_start
	wait_guest "cmd=ready" || { stop_all; return; }
	# The drivers bound: vmgenid on VGEN, the GED on ACPI0013; VCLK enumerated, no driver in 6.1.
	guest_say 1 vmgenid_bound 'ls /sys/bus/acpi/drivers/vmgenid/ | grep -c "^VMGENCTR:00$"'
	guest_say 2 ged_bound 'ls /sys/bus/platform/drivers/acpi-ged/ | grep -c "^ACPI0013:00$"'
	guest_say 3 vmclock_dev 'ls /sys/bus/acpi/devices/ | grep -c "^AMZNC10C:00$"'
	guest_say 4 acpi_errors 'dmesg | grep -ciE "(VGEN|VCLK|GED|vmgenid).*(error|fail|bug)|(error|fail|bug).*(VGEN|VCLK|GED|vmgenid)"'
	guest_say 5 bootid 'cat /proc/sys/kernel/random/boot_id'
	guest_say 6 genid "$READ_ID"
	guest_say 7 vmclock "$READ_VMCLOCK"
	assert_eq 1 "$(gval vmgenid_bound)" "vmgenid driver bound to VMGENCTR:00"
	assert_eq 1 "$(gval ged_bound)" "acpi-ged driver bound to ACPI0013:00"
	assert_eq 1 "$(gval vmclock_dev)" "ACPI device AMZNC10C:00"
	assert_eq 0 "$(gval acpi_errors)" "errors about VGEN, VCLK, GED or vmgenid in dmesg"
	boot_id=$(gval bootid)
	boot_genid=$(gval genid)
	[ -n "$boot_genid" ] && [ "$boot_genid" != 0x000000000x000000000x000000000x00000000 ] ||
		fail "no generation ID in guest memory: $boot_genid"
	assert_eq 0x4B4C4356,0x00001000,0x00FF0001,0x00000000,0x0000000000000000,0x0000000000000000 \
		"$(gval vmclock)" "VMClock page at boot (magic,size,version|counter_id<<16,seq,disruption,generation)"
	api_ok PATCH /vm '{"state": "Paused"}'
	api_ok PUT /snapshot/create \
		"{\"snapshot_path\": \"$TMP/vm.snap\", \"mem_file_path\": \"$TMP/vm.mem\", \"snapshot_type\": \"Full\"}"
	kill_vm

	clone "$TMP/c1" 10 || { stop_all; return; }
	u1=$(gval urandom); g1=$(gval genid)
	assert_eq "$boot_id" "$(gval bootid)" "clone 1 boot_id (same boot)"
	assert_eq 1 "$(gval forks)" "clone 1: one reseed"
	assert_eq 0x4B4C4356,0x00001000,0x00FF0001,0x00000002,0x0000000000000001,0x0000000000000001 \
		"$(gval vmclock)" "clone 1's VMClock page"
	clone "$TMP/c2" 20 || { stop_all; return; }
	u2=$(gval urandom); g2=$(gval genid)
	assert_eq "$boot_id" "$(gval bootid)" "clone 2 boot_id (same boot)"
	assert_eq 1 "$(gval forks)" "clone 2: one reseed"
	assert_eq 0x4B4C4356,0x00001000,0x00FF0001,0x00000002,0x0000000000000001,0x0000000000000001 \
		"$(gval vmclock)" "clone 2's VMClock page"
	[ ${#u1} = 64 ] && [ ${#u2} = 64 ] || fail "urandom reads: '$u1' '$u2'"
	[ "$u1" != "$u2" ] || fail "both clones read the same /dev/urandom bytes: $u1"
	[ "$g1" != "$boot_genid" ] && [ "$g2" != "$boot_genid" ] && [ "$g1" != "$g2" ] ||
		fail "generation IDs not new: boot $boot_genid, clone 1 $g1, clone 2 $g2"
	echo "boot_id $boot_id; IDs boot $boot_genid c1 $g1 c2 $g2; urandom c1 $u1 c2 $u2" >&2
	stop_all
}

run_linux_tests "$@"
