#!/usr/bin/env bash
# Debian's stock kernel boots to its init (the initramfs, no devices) and
# ends as configured: vCPU counts and memory as the guest sees them, the ELF
# vmlinux and the bzImage, reboot -f, a panic with panic=1, Ctrl-Alt-Del
# reaching init; pause and resume of the running guest.
. "$(dirname "$0")/lib.sh"

# boot_info VCPUS MEM_MIB [KERNEL]: the info scenario to its end (exit 0).
boot_info() {
	vm_spawn "$TMP/a" || return 1
	linux_config info "$1" "$2" ember.nomods "${3:-$VMLINUX}"
	vm_start
	wait_guest "done=1" || return 1
	expect_exit 0 30
	assert_eq "$1" "$(gval cpus)" "nproc in the guest"
	assert_eq "$1" "$(gval cpuinfo)" "processors in the guest's /proc/cpuinfo"
	local online=0
	[ "$1" -gt 1 ] && online=0-$(($1 - 1))
	assert_eq "$online" "$(gval online)" "the guest's online CPUs"
}

# Every boot_info ends with the guest's reboot -f (reboot=k): exit code 0.
test_boot_1_vcpu_reboot_f_exits_0() { need_linux || return; boot_info 1 128; stop_all; }
test_boot_2_vcpus() { need_linux || return; boot_info 2 128; stop_all; }
test_boot_4_vcpus() { need_linux || return; boot_info 4 128; stop_all; }

# 4.5 GiB: 3.25 GiB below the MMIO hole (0xd0000000), the rest above 4 GiB.
# The guest's MemTotal can only exceed 4 GiB if it uses the memory above.
test_boot_4_5_gib_memory() {
	need_linux || return
	boot_info 2 4608 || { stop_all; return; }
	local kb; kb=$(gval memtotal_kb)
	[ -n "$kb" ] && [ "$kb" -gt $((4 << 20)) ] ||
		fail "MemTotal of a 4608 MiB guest is '$kb' kB: not above 4 GiB (memory above the hole unused?)"
	stop_all
}

test_boot_bzimage() { need_linux || return; boot_info 2 128 "$BZIMAGE"; stop_all; }

test_panic_ends_vm() {
	need_linux || return
	vm_spawn "$TMP/a" || return
	linux_config panic 1 128 ember.nomods
	vm_start
	wait_guest "panic=now" && expect_exit 0 90
	assert_contains "$(tr -d '\r' <"$TMP/a/out")" "Kernel panic - not syncing" "serial output"
	stop_all
}

# SendCtrlAltDel: the i8042 sequence reaches Linux, which (ctrl-alt-del = 0)
# signals init; init reports it and reboots; ember ends with exit 0.
test_ctrl_alt_del_reaches_init() {
	need_linux || return
	vm_spawn "$TMP/a" || return
	linux_config cad 1 128 ember.nomods
	vm_start
	wait_guest "cad=ready" || { stop_all; return; }
	api PUT /actions '{"action_type": "SendCtrlAltDel"}'
	assert_eq 204 "$STATUS" "SendCtrlAltDel answer (body: $BODY)"
	wait_guest "cad=received" 60 && expect_exit 0 60
	stop_all
}

# Paused: no guest output, no count advances; resumed: counting goes on
# from where it stopped.
test_pause_resume() {
	need_linux || return
	vm_spawn "$TMP/a" || return
	linux_config count 2 128 ember.nomods
	vm_start
	wait_guest "count=3" || { stop_all; return; }
	api_ok PATCH /vm '{"state": "Paused"}'
	api_ok GET /
	assert_contains "$BODY" '"state":"Paused"' "instance state"
	local size; size=$(stat -c %s "$TMP/a/out")
	# An observation window (not a synchronisation): 2 s ~ 10 counts running.
	sleep 2
	assert_eq "$size" "$(stat -c %s "$TMP/a/out")" "console bytes while paused"
	local last; last=$(gval count)
	api_ok PATCH /vm '{"state": "Resumed"}'
	wait_guest "count=$((last + 3))" 60
	count_check "$TMP/a/out"
	stop_all
}

run_tests "$@"
