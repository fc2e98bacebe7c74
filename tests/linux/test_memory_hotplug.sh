#!/usr/bin/env bash
# Linux's own virtio_mem on Ember's virtio-mem device (found through ACPI
# like the other virtio-mmio devices; the added memory onlined movable):
# PATCH /hotplug/memory requested_size_mib grows the guest's MemTotal by what
# it plugs (GET /hotplug/memory's plugged_size_mib follows), the guest fills a
# tmpfs file larger than its boot RAM (so it runs on plugged memory), and
# lowering requested_size_mib to 0 unplugs it all: MemTotal falls back. A
# snapshot keeps the plugged memory and what it holds: restored in a new
# ember, through the File backend and then through the Uffd backend (the
# test page-fault handler, told about the hotplug region as one more
# mapping), MemTotal still counts it and a tmpfs file partly on it has the
# same md5sum; each restored guest unplugs it all again.
. "$(dirname "$0")/lib.sh"

MEM_MIB=128
PLUG_MIB=256
HANDLER=$BUILD/tests/integration/uffd_handler

total_kb() { # ID: the guest's MemTotal (kB) as total=
	guest_ok "$1" "say total=\$(awk '/^MemTotal:/ {print \$2}' /proc/meminfo)" && gval total
}

# wait_plugged MIB: bounded wait for GET /hotplug/memory's plugged_size_mib, one GET a second.
wait_plugged() {
	local i
	for i in $(seq 1 "$(wait_left "$LTIMEOUT")"); do
		api GET /hotplug/memory
		[ "$STATUS" = 200 ] && [[ "$BODY" == *"\"plugged_size_mib\":$1,"* ]] && return 0
		nap 1
	done
	fail "plugged_size_mib never reached $1: $BODY"
	return 1
}

test_plug_touch_unplug() {
	need_linux || return
	local total0 total1 total2
	vm_spawn "$TMP/a" || { stop_all; return; }
	linux_config cmd 1 "$MEM_MIB" "memhp_default_state=online_movable"
	api_ok PUT /hotplug/memory '{"total_size_mib": 512}'
	vm_start
	if wait_guest "cmd=ready"; then
		guest_ok d0 "test -d /sys/bus/virtio/drivers/virtio_mem" || { stop_all; return; }
		total0=$(total_kb m0)
		api_ok PATCH /hotplug/memory "{\"requested_size_mib\": $PLUG_MIB}"
		wait_plugged "$PLUG_MIB" &&
			assert_eq "{\"block_size_mib\":2,\"total_size_mib\":512,\"slot_size_mib\":128,\"plugged_size_mib\":$PLUG_MIB,\"requested_size_mib\":$PLUG_MIB}" "$BODY" "GET /hotplug/memory"
		total1=$(total_kb m1)
		[ -n "$total0" ] && [ -n "$total1" ] && [ $((total1 - total0)) -eq $((PLUG_MIB * 1024)) ] ||
			fail "MemTotal $total0 kB -> $total1 kB, expected +$((PLUG_MIB * 1024)) kB"
		# More than the boot RAM: only fits on the plugged memory.
		guest_ok t0 "mkdir -p /tmp/m && mount -t tmpfs -o size=300m none /tmp/m && dd if=/dev/zero of=/tmp/m/f bs=1M count=$((MEM_MIB + 32)) 2>/dev/null && say size=\$(stat -c %s /tmp/m/f) && rm /tmp/m/f"
		assert_eq $(((MEM_MIB + 32) * 1048576)) "$(gval size)" "tmpfs file on plugged memory"
		api_ok PATCH /hotplug/memory '{"requested_size_mib": 0}'
		wait_plugged 0
		total2=$(total_kb m2)
		assert_eq "$total0" "$total2" "MemTotal after unplugging everything"
		still_running
	fi
	stop_all
}

test_snapshot_keeps_plugged_memory() {
	need_linux || return
	local total1 sum1
	vm_spawn "$TMP/a" || { stop_all; return; }
	linux_config cmd 1 "$MEM_MIB" "memhp_default_state=online_movable"
	api_ok PUT /hotplug/memory '{"total_size_mib": 512}'
	vm_start
	if wait_guest "cmd=ready"; then
		api_ok PATCH /hotplug/memory "{\"requested_size_mib\": $PLUG_MIB}"
		wait_plugged "$PLUG_MIB"
		total1=$(total_kb s0)
		# More than the boot RAM holds: part of it lives in plugged memory.
		guest_ok s1 "mkdir -p /tmp/m && mount -t tmpfs -o size=300m none /tmp/m && dd if=/dev/urandom of=/tmp/m/f bs=1M count=$((MEM_MIB + 32)) 2>/dev/null && say sum=\$(md5sum </tmp/m/f | cut -d' ' -f1)"
		sum1=$(gval sum)
		api_ok PATCH /vm '{"state": "Paused"}'
		api_ok PUT /snapshot/create \
			"{\"snapshot_path\": \"$TMP/vm.snap\", \"mem_file_path\": \"$TMP/vm.mem\"}"
		kill_vm
		restored_keeps "$TMP/b" File "$TMP/vm.mem" "$total1" "$sum1"
	fi
	if [ -z "$_fail_msg" ]; then
		kill_vm
		"$HANDLER" "$TMP/uffd.sock" "$TMP/vm.mem" >"$TMP/handler.out" 2>"$TMP/handler.err" &
		PIDS+=("$!")
		wait_for grep -q "uffd_handler: listening" "$TMP/handler.out" ||
			fail "uffd handler did not start: $(cat "$TMP/handler.err")"
		restored_keeps "$TMP/c" Uffd "$TMP/uffd.sock" "$total1" "$sum1"
	fi
	stop_all
}

# restored_keeps DIR BACKEND PATH TOTAL SUM: the snapshot loaded in a new
# ember in DIR has MemTotal TOTAL and the tmpfs file's md5sum SUM, then
# unplugs everything.
restored_keeps() {
	local total sum id=${2:0:1}
	[ -z "$_fail_msg" ] || return 1
	vm_spawn "$1" &&
		api_ok PUT /snapshot/load "{\"snapshot_path\": \"$TMP/vm.snap\", \"mem_backend\": {\"backend_type\": \"$2\", \"backend_path\": \"$3\"}, \"resume_vm\": true}" &&
		wait_plugged "$PLUG_MIB" || return 1
	total=$(total_kb "${id}2")
	[ -n "$4" ] && assert_eq "$4" "$total" "$2: MemTotal after the restore"
	guest_ok "${id}3" "say sum=\$(md5sum </tmp/m/f | cut -d' ' -f1)"
	sum=$(gval sum)
	[ -n "$5" ] && assert_eq "$5" "$sum" "$2: md5sum of the tmpfs file after the restore"
	guest_ok "${id}4" "rm /tmp/m/f && umount /tmp/m"
	api_ok PATCH /hotplug/memory '{"requested_size_mib": 0}'
	wait_plugged 0 && still_running
}

run_linux_tests "$@"
