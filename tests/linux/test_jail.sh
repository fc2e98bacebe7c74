#!/usr/bin/env bash
# The Linux boot under ember-jailer (pivot_root jail, new mount and network
# namespaces, uid/gid drop; no --new-pid-ns: its parent exits at once, and
# ember's exit code is what this checks), which runs under ember's default
# seccomp filters; and the default filters without the jailer with every
# device doing I/O. The guest boots, runs, resets, and ember ends with 0,
# never 148, with seccomp.num_faults 0 in the last metrics line.
. "$(dirname "$0")/lib.sh"

JAILER=$BUILD/ember-jailer
JT_UID=4321
JT_GID=4322

# The last metrics line (written at exit, covering the whole run).
check_metrics() { # FILE
	local last; last=$(grep num_faults "$1" 2>/dev/null | tail -n 1)
	[ -n "$last" ] || { fail "no metrics line with num_faults in $1"; return 1; }
	assert_contains "$last" '"num_faults":0' "last metrics line"
}

test_jailed_boot() {
	need_linux || return
	need_root || return
	[ -x "$JAILER" ] || { fail "missing $JAILER"; return; }
	local id=lnx-$$-$RANDOM base=$TMP/base jail lib ns=ember-lnxj-$$-$RANDOM
	ip netns add "$ns" || { fail "ip netns add failed"; return; }
	jail=$base/ember/$id/root
	mkdir -p "$jail/run" "$TMP/a"
	for lib in $(ldd "$EMBER" 2>/dev/null | grep -oE '/[^ ]+'); do
		mkdir -p "$jail$(dirname "$lib")"
		cp -L "$lib" "$jail$lib"
	done
	cp "$VMLINUX" "$jail/vmlinux"
	cp "$INITRD" "$jail/initrd"
	: >"$jail/metrics"
	chown $JT_UID:$JT_GID "$jail/vmlinux" "$jail/initrd" "$jail/metrics"
	mkfifo "$TMP/a/in"
	local fd
	exec {fd}<>"$TMP/a/in"
	VM_FD[$TMP/a]=$fd
	VM=$TMP/a
	"$JAILER" --id "$id" --exec-file "$EMBER" --uid $JT_UID --gid $JT_GID \
		--chroot-base-dir "$base" --netns "/var/run/netns/$ns" -- --api-sock /run/ember.sock --metrics-path /metrics \
		<"$TMP/a/in" >"$TMP/a/out" 2>"$TMP/a/err" &
	EMBER_PID=$!
	PIDS+=("$EMBER_PID")
	SOCK=$jail/run/ember.sock
	if wait_for test -S "$SOCK"; then
		api_ok PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 128}'
		api_ok PUT /boot-source "{\"kernel_image_path\": \"/vmlinux\", \"initrd_path\": \"/initrd\",
			\"boot_args\": \"$BASE_ARGS ember.t=cmd ember.nomods\"}"
		vm_start
		if wait_guest "cmd=ready"; then
			# The VMM runs as the given uid/gid, jailed, in the netns.
			assert_eq "$JT_UID" "$(awk '$1 == "Uid:" {print $2}' "/proc/$EMBER_PID/status")" "ember's uid"
			assert_eq "$JT_GID" "$(awk '$1 == "Gid:" {print $2}' "/proc/$EMBER_PID/status")" "ember's gid"
			assert_eq "$(stat -L -c %i "/var/run/netns/$ns")" "$(stat -L -c %i "/proc/$EMBER_PID/ns/net")" "ember's network namespace (inode)"
			[ -e "/proc/$EMBER_PID/root/vmlinux" ] && [ ! -e "/proc/$EMBER_PID/root/etc" ] ||
				fail "ember's root is not the jail: $(ls "/proc/$EMBER_PID/root/" 2>&1 | tr '\n' ' ')"
			guest_ok i1 "cpu_info"
			assert_eq 2 "$(gval cpus)" "CPUs of the jailed guest"
			# The VMM thread's post-boot work under its filter: pause/resume
			# (vCPU kicks), console input, metrics.
			api_ok PATCH /vm '{"state": "Paused"}'
			api_ok PATCH /vm '{"state": "Resumed"}'
			guest_ok i2 "say alive=yes"
			api_ok PUT /actions '{"action_type": "FlushMetrics"}'
			guest_send q1 "reboot -f"
			expect_exit 0 60
			check_metrics "$jail/metrics"
			assert_not_contains "$(cat "$TMP/a/err")" "bad syscall" "ember stderr"
		fi
	else
		fail "API socket never appeared in the jail: $(cat "$TMP/a/err")"
	fi
	stop_all
	ip netns del "$ns" 2>/dev/null
}

# The same with the devices doing I/O (virtio-blk root, vsock, entropy).
test_seccomp_with_devices_no_violation() {
	need_linux || return
	: >"$TMP/metrics"
	img_copy "$ROOTFS" "$TMP/root.ext4"
	vm_spawn "$TMP/a" --metrics-path "$TMP/metrics" || { stop_all; return; }
	linux_config cmd 2 128 "root=/dev/vda rw"
	api_ok PUT /drives/rootfs "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$TMP/root.ext4\", \"is_root_device\": true, \"is_read_only\": false}"
	api_ok PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$TMP/v.sock\"}"
	api_ok PUT /entropy '{}'
	vm_start
	if wait_guest "cmd=ready"; then
		guest_ok w1 "dd if=/dev/hwrng of=/ember/r bs=4k count=4 2>/dev/null && sync && say wrote=\$(wc -c </ember/r)"
		assert_eq 16384 "$(gval wrote)" "bytes written through virtio-blk from virtio-rng"
		socat -u "UNIX-LISTEN:$TMP/v.sock_5000" "CREATE:$TMP/from-guest" &
		PIDS+=("$!")
		wait_for test -S "$TMP/v.sock_5000"
		guest_ok v1 "echo over-vsock | socat -u - VSOCK-CONNECT:2:5000"
		wait_for grep -qs over-vsock "$TMP/from-guest" || fail "nothing arrived over vsock"
		api_ok PUT /actions '{"action_type": "FlushMetrics"}'
		guest_send q1 "reboot -f"
		expect_exit 0 60
		check_metrics "$TMP/metrics"
		assert_not_contains "$(cat "$TMP/a/err")" "bad syscall" "ember stderr"
	fi
	stop_all
}

run_tests "$@"
