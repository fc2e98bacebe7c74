#!/usr/bin/env bash
# PVH boot: Debian's vmlinux carries the Xen PVH entry note, so Ember (like
# Firecracker) enters it through PVH, 32-bit with hvm_start_info; the bzImage
# stays on the 64-bit Linux boot protocol. What tells them apart in the guest
# is the boot_params Linux saw (/sys/kernel/boot_params): on the PVH path the
# kernel builds them itself (arch/x86/platform/pvh/enlighten.c) with protocol
# version 2.12 and loader type 0xb0, and adds the ISA range [0xa0000, 1 MiB)
# to the e820 map (merged with Ember's reserved [0x9fc00, 0xe0000) when Linux
# sanitises it); Ember's zero page says loader type 0xff. Everything else
# the guest needs comes through the start info: the command line (the
# scenario), the initrd (module 0: init runs from it), the memory map and
# the RSDP (ACPI finds the tables Ember wrote).
. "$(dirname "$0")/lib.sh"

BOOT_PARAMS_LOADER_OFF=528 # 0x210: hdr.type_of_loader

# boot_report KERNEL VCPUS: boot the cmd scenario, report what the guest saw.
boot_report() {
	vm_spawn "$TMP/a" || return 1
	linux_config cmd "$2" 128 ember.nomods "$1"
	vm_start
	wait_guest "cmd=ready" || return 1
	guest_ok p1 "say bp_version=\$(cat /sys/kernel/boot_params/version) bp_loader=\$(od -An -tx1 -j $BOOT_PARAMS_LOADER_OFF -N 1 /sys/kernel/boot_params/data | tr -d ' ')" || return 1
	guest_ok p2 "say cpus=\$(nproc) initramfs=\$(test -f /ember-initramfs && echo yes) cmdline_t=\$(arg ember.t)" || return 1
	guest_ok p3 "say sys_reserved_end=\$(dmesg | sed -n 's/.*BIOS-e820: \\[mem 0x000000000009fc00-\\(0x[0-9a-f]*\\)\\] reserved.*/\\1/p') ram_1m=\$(dmesg | grep -c 'BIOS-e820: \\[mem 0x0000000000100000-0x0000000007ffffff\\] usable') rsdp=\$(dmesg | grep -c 'ACPI: RSDP 0x00000000000E0000')" || return 1
}

check_common() {
	assert_eq "$1" "$(gval cpus)" "nproc in the guest"
	assert_eq yes "$(gval initramfs)" "init running from the initrd"
	assert_eq cmd "$(gval cmdline_t)" "ember.t= on the guest's command line"
	assert_eq 1 "$(gval ram_1m)" "e820 RAM from 1 MiB to 128 MiB in the guest's log"
	assert_eq 1 "$(gval rsdp)" "ACPI RSDP found at 0xe0000"
}

test_vmlinux_boots_through_pvh() {
	need_linux || return
	if boot_report "$VMLINUX" 2; then
		assert_contains "$(cat "$TMP/a/err")" "Kernel entered through its PVH entry at" "ember's log"
		assert_eq 0x020c "$(gval bp_version)" "boot_params.hdr.version the kernel saw (PVH: 2.12)"
		assert_eq b0 "$(gval bp_loader)" "boot_params.hdr.type_of_loader (PVH without Xen: 0xb0)"
		# Ember's reserved [0x9fc00, 0xe0000) merged with the ISA range PVH adds.
		assert_eq 0x00000000000fffff "$(gval sys_reserved_end)" "end of the reserved range from 0x9fc00 in the guest's e820 map"
		check_common 2
		guest_send q1 "reboot -f"
		expect_exit 0 60
	fi
	stop_all
}

test_bzimage_stays_on_linux_boot() {
	need_linux || return
	if boot_report "$BZIMAGE" 1; then
		assert_contains "$(cat "$TMP/a/err")" "Kernel entered through the 64-bit boot protocol" "ember's log"
		assert_eq ff "$(gval bp_loader)" "boot_params.hdr.type_of_loader (Ember's zero page)"
		[ "$(gval bp_version)" != 0x020c ] || fail "bzImage boot saw the PVH boot_params version"
		assert_eq 0x00000000000dffff "$(gval sys_reserved_end)" "end of the reserved range from 0x9fc00 (Ember's map as is)"
		check_common 1
		guest_send q1 "reboot -f"
		expect_exit 0 60
	fi
	stop_all
}

run_tests "$@"
