#!/usr/bin/env bash
# Snapshots of a running Linux: the guest's init counts (count=1, 2, ... every
# 0.2 s, state only in guest memory); a snapshot taken mid-count and restored
# in a new ember process continues the count with no gap and no repeat (both
# processes' console output together); three clones at once; a Diff merged
# over its base; the Uffd backend; devices (virtio-blk, net, vsock) working
# after a restore.
. "$(dirname "$0")/lib.sh"

HANDLER=$BUILD/tests/integration/uffd_handler
SNAPTOOL=$BUILD/tests/integration/snapshot_tool
MEM=128

# counter_vm DIR [MACHINE_EXTRA_JSON]: a counting Linux in DIR, at count=3.
counter_vm() {
	vm_spawn "$1" || return 1
	api_ok PUT /machine-config "{\"vcpu_count\": 2, \"mem_size_mib\": $MEM${2:+, $2}}"
	api_ok PUT /boot-source "{\"kernel_image_path\": \"$VMLINUX\", \"initrd_path\": \"$INITRD\",
		\"boot_args\": \"$BASE_ARGS ember.t=count ember.nomods\"}"
	vm_start
	wait_guest "count=3"
}

snap() { # SNAP MEM [TYPE]
	api_ok PUT /snapshot/create \
		"{\"snapshot_path\": \"$1\", \"mem_file_path\": \"$2\", \"snapshot_type\": \"${3:-Full}\"}"
}

# One paused counting guest snapshotted to $SNAP/vm.snap + vm.mem (its
# console in $SNAP/a/out), made by the first case that needs it and shared
# by the Full, clone and Uffd cases (a boot less for each; the File backend
# maps the memory file privately, the Uffd handler only reads it).
SNAP=""
counter_snapshot() {
	[ -n "$SNAP" ] && [ -f "$SNAP/vm.mem" ] && return 0
	SNAP=$(mktemp -d /tmp/ember-lnx-snap.XXXXXX)
	if counter_vm "$SNAP/a" && api_ok PATCH /vm '{"state": "Paused"}' &&
		snap "$SNAP/vm.snap" "$SNAP/vm.mem"; then
		kill_vm
		return 0
	fi
	rm -rf "$SNAP"
	SNAP=""
	return 1
}
# restore DIR SNAP MEMJSON: a new ember in DIR loads and resumes.
restore() {
	vm_spawn "$1" || return 1
	api_ok PUT /snapshot/load "{\"snapshot_path\": \"$2\", \"mem_backend\": $3, \"resume_vm\": true}"
}
file_backend() { echo "{\"backend_type\": \"File\", \"backend_path\": \"$1\"}"; }

# continues BEFORE AFTER: AFTER's guest counts 3 more than BEFORE's last
# count, and BEFORE+AFTER together are 1..N once each.
continues() {
	local last; last=$(gval count "$1")
	[ -n "$last" ] || { fail "no count in $1"; return 1; }
	wait_guest "count=$((last + 3))" 90 "$2" || return 1
	count_check "$1/out" "$2/out"
}

test_full_snapshot_restore_continues() {
	need_linux || return
	counter_snapshot || { stop_all; return; }
	restore "$TMP/b" "$SNAP/vm.snap" "$(file_backend "$SNAP/vm.mem")" &&
		continues "$SNAP/a" "$TMP/b"
	stop_all
}

test_three_clones_at_once() {
	need_linux || return
	counter_snapshot || { stop_all; return; }
	local i clones=() sum
	sum=$(md5sum <"$SNAP/vm.mem")
	for i in 1 2 3; do
		restore "$TMP/c$i" "$SNAP/vm.snap" "$(file_backend "$SNAP/vm.mem")" || { stop_all; return; }
		clones+=("$EMBER_PID")
	done
	for i in 1 2 3; do
		continues "$SNAP/a" "$TMP/c$i" || break
	done
	# All three run at once: each still alive after the others counted.
	local p
	for p in "${clones[@]}"; do
		kill -0 "$p" 2>/dev/null || fail "a clone (pid $p) ended early"
	done
	assert_eq "$sum" "$(md5sum <"$SNAP/vm.mem")" "the shared memory file after three clones ran"
	stop_all
}

test_diff_snapshot_over_base() {
	need_linux || return
	[ -x "$SNAPTOOL" ] || { fail "missing $SNAPTOOL"; return; }
	counter_vm "$TMP/a" '"track_dirty_pages": true' || { stop_all; return; }
	api_ok PATCH /vm '{"state": "Paused"}'
	snap "$TMP/base.snap" "$TMP/base.mem"
	api_ok PATCH /vm '{"state": "Resumed"}'
	local now; now=$(gval count)
	wait_guest "count=$((now + 3))" 60 || { stop_all; return; }
	api_ok PATCH /vm '{"state": "Paused"}'
	snap "$TMP/diff.snap" "$TMP/diff.mem" Diff
	kill_vm
	local base_kib diff_kib
	base_kib=$(du -k "$TMP/base.mem" | cut -f1)
	diff_kib=$(du -k "$TMP/diff.mem" | cut -f1)
	[ "$diff_kib" -lt "$base_kib" ] ||
		fail "the Diff ($diff_kib KiB on disk) is not smaller than its base ($base_kib KiB)"
	cp --sparse=always "$TMP/base.mem" "$TMP/merged.mem"
	"$SNAPTOOL" merge "$TMP/merged.mem" "$TMP/diff.mem" >/dev/null || { fail "snapshot_tool merge failed"; stop_all; return; }
	restore "$TMP/b" "$TMP/diff.snap" "$(file_backend "$TMP/merged.mem")" &&
		continues "$TMP/a" "$TMP/b"
	stop_all
}

test_uffd_backend() {
	need_linux || return
	[ -x "$HANDLER" ] || { fail "missing $HANDLER"; return; }
	counter_snapshot || { stop_all; return; }
	"$HANDLER" "$TMP/uffd.sock" "$SNAP/vm.mem" >"$TMP/handler.out" 2>"$TMP/handler.err" &
	PIDS+=("$!")
	wait_for grep -q "uffd_handler: listening" "$TMP/handler.out" || { fail "uffd handler did not start"; stop_all; return; }
	restore "$TMP/b" "$SNAP/vm.snap" "{\"backend_type\": \"Uffd\", \"backend_path\": \"$TMP/uffd.sock\"}" &&
		continues "$SNAP/a" "$TMP/b"
	stop_all
}

# ---- devices across a restore -------------------------------------------------
NS="" GUEST_IP=172.16.0.2 HOST_IP=172.16.0.1

drop_ns() { [ -n "$NS" ] && ip netns del "$NS" 2>/dev/null; NS=""; EMBER_WRAP=(); }
trap 'drop_ns; [ -z "$SNAP" ] || rm -rf "$SNAP"' EXIT

# Root on virtio-blk (rw, a copy), eth0 on a tap in a fresh netns, vsock:
# checks before the snapshot, restore (vsock_override), the same checks after.
test_devices_work_after_restore() {
	need_linux || return
	need_root || return
	NS=ember-lnx-$$-$RANDOM
	ip netns add "$NS" && ip -n "$NS" tuntap add dev tap0 mode tap &&
		ip -n "$NS" addr add "$HOST_IP/24" dev tap0 && ip -n "$NS" link set tap0 up &&
		ip -n "$NS" link set lo up || { fail "netns/tap setup failed"; drop_ns; return; }
	EMBER_WRAP=(ip netns exec "$NS")
	img_copy "$ROOTFS" "$TMP/root.ext4"
	vm_spawn "$TMP/a" || { stop_all; drop_ns; return; }
	api_ok PUT /machine-config "{\"vcpu_count\": 2, \"mem_size_mib\": $MEM}"
	api_ok PUT /boot-source "{\"kernel_image_path\": \"$VMLINUX\", \"initrd_path\": \"$INITRD\",
		\"boot_args\": \"$BASE_ARGS root=/dev/vda rw ember.t=cmd\"}"
	api_ok PUT /drives/rootfs "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$TMP/root.ext4\", \"is_root_device\": true, \"is_read_only\": false}"
	api_ok PUT /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "06:00:ac:10:00:02"}'
	api_ok PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$TMP/v.sock\"}"
	vm_start
	if wait_guest "cmd=ready" && guest_ok n1 "net_up $GUEST_IP/24" &&
		device_round 1 "$TMP/v.sock"; then
		api_ok PATCH /vm '{"state": "Paused"}'
		snap "$TMP/vm.snap" "$TMP/vm.mem"
		kill_vm
		vm_spawn "$TMP/b" &&
			api_ok PUT /snapshot/load "{\"snapshot_path\": \"$TMP/vm.snap\", \"mem_backend\": $(file_backend "$TMP/vm.mem"),
				\"resume_vm\": true, \"vsock_override\": {\"uds_path\": \"$TMP/v2.sock\"}}" &&
			device_round 2 "$TMP/v2.sock" && guest_ok z2 "true" && still_running
	fi
	stop_all
	drop_ns
}

# device_round N UDS: blk write+read back, ping the host, a host-initiated
# vsock connection echoed by the guest.
device_round() {
	local n=$1 uds=$2 out
	guest_ok "b$n" "echo round-$n >/ember/round && sync && say blk=\$(cat /ember/round)" || return 1
	assert_eq "round-$n" "$(gval blk)" "file written and read back on the root drive"
	guest_ok "p$n" "ping -c 1 -W 10 $HOST_IP >/dev/null && say ping=ok" || return 1
	guest_ok "l$n" "socat VSOCK-LISTEN:52$n EXEC:cat >/dev/null 2>&1 &" || return 1
	wait_for test -S "$uds" || { fail "no vsock socket $uds"; return 1; }
	local i
	for i in $(seq 1 50); do
		out=$(printf 'CONNECT 52%s\nvsock-round-%s\n' "$n" "$n" | timeout 20 socat -t 10 - "UNIX-CONNECT:$uds" 2>&1)
		case $out in *"vsock-round-$n"*) break ;; esac
		[ "$SECONDS" -lt "$CASE_END" ] || break
		sleep 0.2	# the guest's listener may not be up yet
	done
	assert_contains "$out" "OK " "vsock host connect answer"
	assert_contains "$out" "vsock-round-$n" "vsock echo from the guest"
}

run_tests "$@"
