#!/usr/bin/env bash
# Linux's own drivers on Ember's virtio-mmio devices (found through ACPI: the
# Debian kernel has no CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES): root on
# virtio-blk read-write, a read-only second drive, root=PARTUUID=, PATCH
# /drives swapping a backing file; virtio-net on a tap in a network namespace
# (ping, a file over TCP both ways, MTU and MAC); vsock both ways through
# Firecracker's hybrid Unix sockets; virtio-rng as the hw_random source.
. "$(dirname "$0")/lib.sh"

GUEST_MAC=06:00:ac:10:00:02
GUEST_IP=172.16.0.2
HOST_IP=172.16.0.1
NS=""

# cmd_vm DIR ARGS [VCPUS]: a VM in DIR running the command server (scenario
# cmd) with extra kernel ARGS; devices are added by the caller, then vm_start.
cmd_vm() {
	vm_spawn "$1" || return 1
	linux_config cmd "${3:-1}" 128 "$2"
}
put_root() { # IMAGE [RO]
	api_ok PUT /drives/rootfs "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$1\", \"is_root_device\": true, \"is_read_only\": ${2:-false}}"
}
put_drive() { # ID IMAGE RO
	api_ok PUT "/drives/$1" "{\"drive_id\": \"$1\", \"path_on_host\": \"$2\", \"is_root_device\": false, \"is_read_only\": $3}"
}
# raw_img FILE TEXT: a 1 MiB drive starting with TEXT.
raw_img() { truncate -s 1M "$1"; printf '%s' "$2" | dd of="$1" conv=notrunc status=none; }

# The guest reads /ember/hello from a read-write root on /dev/vda and writes
# a file that the host finds in the image afterwards; /dev/vdb (read-only)
# reads, and refuses a write.
test_root_rw_and_readonly_drive() {
	need_linux || return
	img_copy "$ROOTFS" "$TMP/root.ext4"
	raw_img "$TMP/ro.img" "READONLY-DRIVE-1"
	local sum; sum=$(md5sum <"$TMP/ro.img")
	cmd_vm "$TMP/a" "root=/dev/vda rw" || { stop_all; return; }
	put_root "$TMP/root.ext4"
	put_drive data "$TMP/ro.img" true
	vm_start
	if wait_guest "cmd=ready"; then
		assert_eq "mounted dev=/dev/vda mode=rw" "$(guest_lines | sed -n 's/^root=//p' | tail -1)" "root mount"
		guest_ok h1 "say hello=\$(tr ' ' _ </ember/hello)"
		assert_eq "hello_from_the_ember_root_filesystem" "$(gval hello)" "/ember/hello read by the guest"
		guest_ok w1 "echo written-by-linux >/ember/written && sync"
		guest_ok r1 "say vdb=\$(head16 /dev/vdb) vdb_ro=\$(cat /sys/block/vdb/ro)"
		assert_eq "READONLY-DRIVE-1" "$(gval vdb)" "the read-only drive's first bytes"
		assert_eq 1 "$(gval vdb_ro)" "/sys/block/vdb/ro"
		guest_cmd x1 "echo overwrite | dd of=/dev/vdb conv=fsync 2>/dev/null"
		[ "$GRC" != 0 ] || fail "a write to the read-only drive succeeded in the guest"
		guest_send q1 "sync; reboot -f"
		expect_exit 0 60
		assert_eq "$sum" "$(md5sum <"$TMP/ro.img")" "read-only image after the run"
		local written
		written=$(debugfs -R "cat /ember/written" "$TMP/root.ext4" 2>/dev/null)
		assert_eq "written-by-linux" "$written" "file the guest wrote, read from the image"
	fi
	stop_all
}

# root=PARTUUID= on a DOS-partitioned disk (the initramfs resolves it).
test_root_partuuid() {
	need_linux || return
	cmd_vm "$TMP/a" "root=PARTUUID=$ROOTFS_PARTUUID ro" || { stop_all; return; }
	put_root "$ROOTFS_PART" true
	vm_start
	if wait_guest "cmd=ready"; then
		assert_eq "mounted dev=/dev/vda1 mode=ro" "$(guest_lines | sed -n 's/^root=//p' | tail -1)" "root mount"
		guest_ok s1 "say stage_root=\$(test -f /ember-initramfs || echo yes) hello=\$(tr ' ' _ </ember/hello)"
		assert_eq yes "$(gval stage_root)" "running from the partition's filesystem"
		assert_eq "hello_from_the_ember_root_filesystem" "$(gval hello)" "/ember/hello"
		still_running
	fi
	stop_all
}

# PATCH /drives/{id} swaps the backing file; the guest reads the new bytes
# (O_DIRECT: not its page cache).
test_patch_drive_swaps_backing_file() {
	need_linux || return
	raw_img "$TMP/one.img" "FIRST-BACKING-01"
	raw_img "$TMP/two.img" "SECOND-BACKING-2"
	cmd_vm "$TMP/a" "" || { stop_all; return; }
	put_drive data "$TMP/one.img" true
	vm_start
	if wait_guest "cmd=ready"; then
		guest_ok r1 "wait_path /dev/vda 100 && say vda=\$(head16 /dev/vda)"
		assert_eq "FIRST-BACKING-01" "$(gval vda)" "drive contents before PATCH"
		api_ok PATCH /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$TMP/two.img\"}"
		guest_ok r2 "say vda=\$(head16 /dev/vda)"
		assert_eq "SECOND-BACKING-2" "$(gval vda)" "drive contents after PATCH"
		still_running
	fi
	stop_all
}

# ---- network --------------------------------------------------------------------
drop_ns() { [ -n "$NS" ] && ip netns del "$NS" 2>/dev/null; NS=""; EMBER_WRAP=(); }
trap drop_ns EXIT
make_ns() {
	NS=ember-lnx-$$-$RANDOM
	ip netns add "$NS" && ip -n "$NS" link set lo up &&
		ip -n "$NS" tuntap add dev tap0 mode tap &&
		ip -n "$NS" addr add "$HOST_IP/24" dev tap0 && ip -n "$NS" link set tap0 up ||
		{ fail "netns/tap setup failed"; return 1; }
	EMBER_WRAP=(ip netns exec "$NS")
}

# Guest on a tap in a netns: MAC and MTU as configured, ping to the host, a
# 1 MiB file each way over TCP with matching md5sums.
test_net_ping_tcp_mtu_mac() {
	need_linux || return
	need_root || return
	command -v socat >/dev/null || { fail "socat missing on the host"; return; }
	make_ns || { drop_ns; return; }
	cmd_vm "$TMP/a" "root=/dev/vda ro" || { stop_all; drop_ns; return; }
	put_root "$ROOTFS" true
	api_ok PUT /network-interfaces/eth0 "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", \"guest_mac\": \"$GUEST_MAC\", \"mtu\": 1400}"
	vm_start
	if wait_guest "cmd=ready"; then
		guest_ok n1 "net_up $GUEST_IP/24"
		assert_eq "$GUEST_MAC" "$(gval mac)" "the guest's eth0 MAC"
		assert_eq 1400 "$(gval mtu)" "the guest's eth0 MTU"
		guest_ok p1 "ping -c 2 -W 10 $HOST_IP >/dev/null && say ping=ok"
		# guest -> host
		ip netns exec "$NS" socat -u TCP-LISTEN:5000,reuseaddr "CREATE:$TMP/from-guest" &
		PIDS+=("$!")
		guest_ok t1 "dd if=/dev/urandom of=/tmp/f bs=64k count=16 2>/dev/null &&
			say sum_up=\$(md5sum </tmp/f | cut -c1-32) &&
			for i in 1 2 3 4 5 6 7 8 9 10; do socat -u FILE:/tmp/f TCP:$HOST_IP:5000 && break; sleep 0.2; done"
		wait_for test ! -e "/proc/${PIDS[-1]}" 2>/dev/null
		assert_eq "$(gval sum_up)" "$(md5sum <"$TMP/from-guest" | cut -c1-32)" "md5 of the file the guest sent"
		# host -> guest
		head -c 1048576 /dev/urandom >"$TMP/to-guest"
		ip netns exec "$NS" socat -u "FILE:$TMP/to-guest" TCP-LISTEN:5001,reuseaddr &
		PIDS+=("$!")
		guest_ok t2 "for i in 1 2 3 4 5 6 7 8 9 10; do socat -u TCP:$HOST_IP:5001 CREATE:/tmp/g && break; sleep 0.2; done;
			say sum_down=\$(md5sum </tmp/g | cut -c1-32) size_down=\$(wc -c </tmp/g)"
		assert_eq 1048576 "$(gval size_down)" "bytes the guest received"
		assert_eq "$(md5sum <"$TMP/to-guest" | cut -c1-32)" "$(gval sum_down)" "md5 of the file the guest received"
		guest_ok z1 "true" && still_running
	fi
	stop_all
	drop_ns
}

# ---- vsock ----------------------------------------------------------------------
# Host -> guest: CONNECT <port> on uds_path, the guest's socat echoes.
# Guest -> host: the guest's socat VSOCK-CONNECT:2:5000 reaches uds_path_5000.
test_vsock_both_directions() {
	need_linux || return
	cmd_vm "$TMP/a" "root=/dev/vda ro" || { stop_all; return; }
	put_root "$ROOTFS" true
	api_ok PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$TMP/v.sock\"}"
	vm_start
	if wait_guest "cmd=ready"; then
		guest_ok l1 "socat VSOCK-LISTEN:1234,fork EXEC:cat >/dev/null 2>&1 &"
		local out i
		for i in $(seq 1 50); do
			out=$(printf 'CONNECT 1234\nhello-from-host\n' | timeout 20 socat -t 10 - "UNIX-CONNECT:$TMP/v.sock" 2>&1)
			case $out in *hello-from-host*) break ;; esac
			[ "$SECONDS" -lt "$CASE_END" ] || break
		sleep 0.2	# the guest's listener may not be up yet
		done
		assert_contains "$out" "OK " "answer to CONNECT 1234"
		assert_contains "$out" "hello-from-host" "the guest's echo"
		socat -u "UNIX-LISTEN:$TMP/v.sock_5000" "CREATE:$TMP/from-guest" &
		PIDS+=("$!")
		wait_for test -S "$TMP/v.sock_5000"
		guest_ok c1 "echo hello-from-guest | socat -u - VSOCK-CONNECT:2:5000"
		wait_for grep -qs hello-from-guest "$TMP/from-guest"
		assert_eq "hello-from-guest" "$(cat "$TMP/from-guest" 2>/dev/null)" "what the guest sent over vsock"
		guest_ok z1 "true" && still_running
	fi
	stop_all
}

# ---- entropy ----------------------------------------------------------------------
test_rng_is_hw_random_source() {
	need_linux || return
	cmd_vm "$TMP/a" "" || { stop_all; return; }
	api_ok PUT /entropy '{}'
	vm_start
	if wait_guest "cmd=ready"; then
		guest_ok r1 "wait_path /dev/hwrng 100; say rng_current=\$(cat /sys/class/misc/hw_random/rng_current) rng_bytes=\$(dd if=/dev/hwrng bs=64 count=1 2>/dev/null | wc -c)"
		case $(gval rng_current) in virtio_rng*) ;; *) fail "rng_current is '$(gval rng_current)', not the virtio device" ;; esac
		assert_eq 64 "$(gval rng_bytes)" "bytes read from /dev/hwrng"
		still_running
	fi
	stop_all
}

run_tests "$@"
