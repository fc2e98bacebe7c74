#!/usr/bin/env bash
# Linux's own virtio_pmem + nd_pmem on Ember's virtio-pmem device (found
# through ACPI like the other virtio-mmio devices): /dev/pmem0 appears with
# the file's size, the guest reads the file's first bytes, and what it writes
# to /dev/pmem0 and flushes (fsync: a virtio-pmem flush request) is in the
# host file. After a snapshot and a restore in a new ember (which maps the
# file again at the same guest address) the guest reads its earlier bytes
# back from the device and a new write and flush reach the file too.
. "$(dirname "$0")/lib.sh"

HOST_TEXT=PMEM-HOST-DATA-1
GUEST_TEXT=written-by-linux-pmem
AFTER_TEXT=written-after-restore

test_pmem_read_write_flush_restore() {
	need_linux || return
	truncate -s 4M "$TMP/pmem.img"
	printf '%s' "$HOST_TEXT" | dd of="$TMP/pmem.img" conv=notrunc status=none
	vm_spawn "$TMP/a" || { stop_all; return; }
	linux_config cmd 1 128 ""
	api_ok PUT /pmem/p0 "{\"id\": \"p0\", \"path_on_host\": \"$TMP/pmem.img\"}"
	vm_start
	if wait_guest "cmd=ready"; then
		guest_ok r1 "wait_path /dev/pmem0 100; say pmem=\$(head16 /dev/pmem0) sectors=\$(cat /sys/block/pmem0/size)"
		assert_eq "$HOST_TEXT" "$(gval pmem)" "the file's first bytes read by the guest"
		assert_eq 8192 "$(gval sectors)" "/dev/pmem0 size (512-byte sectors)"
		guest_ok w1 "printf $GUEST_TEXT | dd of=/dev/pmem0 bs=4096 seek=1 conv=notrunc,fsync 2>/dev/null"
		assert_eq "$GUEST_TEXT" "$(dd if="$TMP/pmem.img" bs=1 skip=4096 count=${#GUEST_TEXT} status=none)" "the guest's bytes in the host file"
		assert_eq 4194304 "$(stat -c %s "$TMP/pmem.img")" "file size"
		api_ok PATCH /vm '{"state": "Paused"}'
		api_ok PUT /snapshot/create "{\"snapshot_path\": \"$TMP/vm.snap\", \"mem_file_path\": \"$TMP/vm.mem\"}"
		kill_vm
		vm_spawn "$TMP/b" &&
			api_ok PUT /snapshot/load "{\"snapshot_path\": \"$TMP/vm.snap\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$TMP/vm.mem\"}, \"resume_vm\": true}" &&
			guest_ok r2 "say back=\$(dd if=/dev/pmem0 bs=4096 skip=1 count=1 iflag=direct 2>/dev/null | head -c ${#GUEST_TEXT})" &&
			guest_ok w2 "printf $AFTER_TEXT | dd of=/dev/pmem0 bs=4096 seek=2 conv=notrunc,fsync 2>/dev/null"
		assert_eq "$GUEST_TEXT" "$(gval back)" "read back after the restore"
		assert_eq "$AFTER_TEXT" "$(dd if="$TMP/pmem.img" bs=1 skip=8192 count=${#AFTER_TEXT} status=none)" "the restored guest's bytes in the host file"
		still_running
	fi
	stop_all
}

run_linux_tests "$@"
