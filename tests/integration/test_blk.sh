#!/usr/bin/env bash
# virtio-blk on real KVM with the test guest: the guest reads what the host
# put in the image and its writes land in the file byte for byte; read-only is
# enforced; GET_ID answers the drive_id; the root drive's root= and ro/rw and
# every device's virtio_mmio.device= reach the kernel command line; PATCH
# /drives swaps the backing file of the running VM; hostile chains leave the
# device serving; 16 drives and an entropy device fill the 17 slots (GSIs
# 5-21; 22 and 23 are VMGenID's and VMClock's).
. "$(dirname "$0")/lib.sh"

SECTOR=512
GUEST_TEXT=ember-guest-wrote-this

# make_image FILE SECTORS TEXT: TEXT at the start of sector 0, zeros elsewhere.
make_image() {
	truncate -s $(($2 * SECTOR)) "$1"
	printf '%s' "$3" | dd of="$1" conv=notrunc status=none
}

# boot_with SCENARIO: boot the ELF guest with ember.test=SCENARIO (drives already PUT).
boot_with() {
	api_ok PUT /boot-source \
		"{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 reboot=k panic=1 ember.test=$1\"}"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
}

put_drive() { # ID PATH ROOT [EXTRA_JSON]
	api_ok PUT "/drives/$1" \
		"{\"drive_id\": \"$1\", \"path_on_host\": \"$2\", \"is_root_device\": $3${4:+, $4}}"
}

# The bytes of sector N of FILE, as hex.
sector_hex() { dd if="$1" bs=$SECTOR skip="$2" count=1 status=none | od -An -v -tx1 | tr -d ' \n'; }

test_guest_reads_and_writes_the_image() {
	need_kvm || return
	make_image "$TMP/disk.img" 2048 "hello-from-host!"
	start_ember || return
	put_drive rootfs "$TMP/disk.img" true '"cache_type": "Writeback"'
	boot_with blk
	wait_exit 30 || fail "guest did not exit"
	assert_eq 0 "$EXIT_CODE" "exit code"
	local out; out=$(cat "$TMP/out")
	assert_contains "$out" "virtio-blk at 0xd0001000 irq 5 id 2" "device list"
	assert_contains "$out" "blk: capacity 2048" "capacity from the file size"
	assert_contains "$out" "blk: id rootfs" "GET_ID"
	assert_contains "$out" 'blk: read "hello-from-host!"' "sector 0 as the host wrote it"
	assert_contains "$out" "blk: write status 0" "write"
	assert_contains "$out" "blk: flush status 0" "flush"
	assert_contains "$out" "blk: read back \"$GUEST_TEXT.........." "read back"
	# Sector 1 of the file is exactly the guest's 512 bytes: its text, then zeros.
	local want
	want=$(printf '%s' "$GUEST_TEXT" | od -An -v -tx1 | tr -d ' \n')
	want=$want$(printf '%0*d' $(((SECTOR - ${#GUEST_TEXT}) * 2)) 0)
	assert_eq "$want" "$(sector_hex "$TMP/disk.img" 1)" "sector 1 in the image file"
	# Sector 0 is untouched, and the file did not grow.
	assert_eq "$(printf 'hello-from-host!' | od -An -v -tx1 | tr -d ' \n')" \
		"$(dd if="$TMP/disk.img" bs=16 count=1 status=none | od -An -v -tx1 | tr -d ' \n')" \
		"sector 0"
	assert_eq $((2048 * SECTOR)) "$(stat -c %s "$TMP/disk.img")" "image size"
}

test_async_engine() {
	need_kvm || return
	make_image "$TMP/disk.img" 64 "async-io-engine!"
	start_ember || return
	api "PUT" /drives/rootfs \
		"{\"drive_id\": \"rootfs\", \"path_on_host\": \"$TMP/disk.img\", \"is_root_device\": true, \"io_engine\": \"Async\"}"
	if [ "$STATUS" = 400 ]; then
		assert_contains "$BODY" "Error coming from the IO engine" "refusal of Async"
		skip "io_uring is not usable on this host: $BODY"
		return
	fi
	assert_eq 204 "$STATUS" "PUT Async drive"
	boot_with blk
	wait_exit 30 || fail "guest did not exit"
	assert_contains "$(cat "$TMP/out")" 'blk: read "async-io-engine!"' "read through io_uring"
	assert_contains "$(cat "$TMP/out")" "blk: write status 0" "write through io_uring"
	assert_eq "$GUEST_TEXT" "$(dd if="$TMP/disk.img" bs=1 skip=$SECTOR count=${#GUEST_TEXT} status=none)" \
		"the guest's write in the file"
}

test_read_only_drive_refuses_writes() {
	need_kvm || return
	make_image "$TMP/ro.img" 128 "read-only-image!"
	local before; before=$(sha256sum <"$TMP/ro.img")
	start_ember || return
	put_drive rootfs "$TMP/ro.img" true '"is_read_only": true'
	boot_with blk
	wait_exit 30 || fail "guest did not exit"
	local out; out=$(cat "$TMP/out")
	assert_contains "$out" "root=/dev/vda ro virtio_mmio.device=4K@0xd0001000:5" "command line"
	assert_contains "$out" 'blk: read "read-only-image!"' "reads work"
	assert_contains "$out" "blk: write status 1" "write refused with VIRTIO_BLK_S_IOERR"
	assert_eq "$before" "$(sha256sum <"$TMP/ro.img")" "image file unchanged"
}

test_root_partuuid_and_device_order() {
	need_kvm || return
	make_image "$TMP/root.img" 8 root
	make_image "$TMP/data.img" 16 data
	start_ember || return
	# The root drive is PUT last but becomes the first device (/dev/vda), as in Firecracker.
	put_drive data "$TMP/data.img" false
	put_drive root "$TMP/root.img" true '"partuuid": "0eaa91a0-01"'
	api_ok PUT /entropy '{}'
	boot_with virtio-list
	wait_exit 30 || fail "guest did not exit"
	local out; out=$(cat "$TMP/out")
	assert_contains "$out" "ember.test=virtio-list root=PARTUUID=0eaa91a0-01 rw virtio_mmio.device=4K@0xd0001000:5 virtio_mmio.device=4K@0xd0002000:6 virtio_mmio.device=4K@0xd0003000:7" \
		"command line"
	assert_contains "$out" "virtio-blk at 0xd0001000 irq 5 id 2" "root drive in slot 0"
	assert_contains "$out" "virtio-blk at 0xd0002000 irq 6 id 2" "data drive in slot 1"
	assert_contains "$out" "virtio-rng at 0xd0003000 irq 7 id 4" "entropy device last"
}

# The path of the file ember has open as the drive, from /proc.
open_images() { ls -l "/proc/$EMBER_PID/fd" 2>/dev/null | grep -o "$TMP/[a-z0-9]*\.img" | sort | tr '\n' ' '; }

test_patch_swaps_the_backing_file() {
	need_kvm || return
	make_image "$TMP/old.img" 8 old
	make_image "$TMP/new.img" 32 new
	: >"$TMP/metrics"
	start_ember || return
	api_ok PUT /metrics "{\"metrics_path\": \"$TMP/metrics\"}"
	put_drive scratch "$TMP/old.img" false
	api PATCH /drives/scratch "{\"drive_id\": \"scratch\", \"path_on_host\": \"$TMP/new.img\"}"
	assert_eq 400 "$STATUS" "PATCH before boot"
	assert_contains "$BODY" "The requested operation is not supported before starting the microVM." "PATCH before boot"
	boot_with halt-forever
	wait_for grep -q halting "$TMP/out" || { fail "guest did not boot"; return; }
	assert_eq "$TMP/old.img " "$(open_images)" "file open before the PATCH"
	api PATCH /drives/scratch "{\"drive_id\": \"scratch\", \"path_on_host\": \"$TMP/none.img\"}"
	assert_eq 400 "$STATUS" "PATCH to a missing file"
	assert_contains "$BODY" "Unable to patch the block device: Block: Virtio backend error: Error manipulating the backing file: No such file or directory (os error 2) $TMP/none.img Please verify the request arguments." "PATCH to a missing file"
	assert_eq "$TMP/old.img " "$(open_images)" "a refused PATCH keeps the old file"
	api PATCH /drives/other "{\"drive_id\": \"other\", \"path_on_host\": \"$TMP/new.img\"}"
	assert_contains "$BODY" "Failed perform action on device: Device not found" "PATCH of an unknown drive"
	api_ok PATCH /drives/scratch "{\"drive_id\": \"scratch\", \"path_on_host\": \"$TMP/new.img\", \"rate_limiter\": {\"ops\": {\"size\": 100, \"refill_time\": 1000}}}"
	# The device closed the old file and serves the new one.
	assert_eq "$TMP/new.img " "$(open_images)" "file open after the PATCH"
	api_ok GET /vm/config
	assert_contains "$BODY" "\"drive_id\":\"scratch\",\"partuuid\":null," "GET /vm/config"
	assert_contains "$BODY" "\"path_on_host\":\"$TMP/new.img\",\"rate_limiter\"" "GET /vm/config"
	assert_contains "$BODY" '"rate_limiter":{"bandwidth":null,"ops":{"size":100,"one_time_burst":null,"refill_time":1000}}' "limiter in GET /vm/config"
	api_ok PUT /actions '{"action_type": "FlushMetrics"}'
	assert_contains "$(tail -1 "$TMP/metrics")" '"blk_update_count":1' "metrics"
	assert_contains "$(tail -1 "$TMP/metrics")" '"blk_update_fails":0' "metrics"
}

test_hostile_chains_leave_the_device_serving() {
	need_kvm || return
	make_image "$TMP/disk.img" 64 "still-serving!!!"
	start_ember || return
	put_drive rootfs "$TMP/disk.img" true
	boot_with hostile
	wait_exit 60 || fail "guest did not exit"
	assert_eq 0 "$EXIT_CODE" "exit code: the VMM survived"
	local out c
	out=$(cat "$TMP/out")
	for c in desc-loop next-out-of-range addr-outside-ram addr-len-overflow write-before-read \
		indirect-in-indirect chain-longer-than-queue zero-length-header; do
		assert_contains "$out" "hostile: $c -> used len 0 status untouched" "$c"
	done
	assert_contains "$out" "hostile: head-out-of-range -> NEEDS_RESET" "ring corruption"
	assert_contains "$out" "hostile: device still works" "well-formed read afterwards"
	assert_contains "$(cat "$TMP/err")" "malformed descriptor chain" "logged"
}

test_sixteen_drives_and_rng_fill_every_slot() {
	need_kvm || return
	local i
	start_ember || return
	for i in $(seq 0 15); do
		make_image "$TMP/d$i.img" 8 "d$i"
		put_drive "d$i" "$TMP/d$i.img" "$([ "$i" = 0 ] && echo true || echo false)"
	done
	api_ok PUT /entropy '{}'
	boot_with virtio-list
	wait_exit 60 || fail "guest did not exit"
	local out; out=$(cat "$TMP/out")
	for i in $(seq 0 15); do
		assert_contains "$out" "$(printf 'virtio-blk at 0x%08x irq %d id 2' $((0xd0001000 + i * 4096)) $((5 + i)))" "drive $i"
	done
	assert_contains "$out" "virtio-rng at 0xd0011000 irq 21 id 4" "entropy device in the last slot"
	assert_eq 17 "$(grep -c '^virtio-.* at 0x' "$TMP/out")" "devices found by the guest"
}

test_too_many_devices() {
	need_kvm || return
	local i
	start_ember || return
	for i in $(seq 0 17); do
		make_image "$TMP/d$i.img" 8 "d$i"
		put_drive "d$i" "$TMP/d$i.img" false
	done
	api_ok PUT /boot-source "{\"kernel_image_path\": \"$GUEST_ELF\"}"
	api PUT /actions '{"action_type": "InstanceStart"}'
	assert_eq 400 "$STATUS" "InstanceStart with 18 drives"
	assert_contains "$BODY" "Start microvm error: Too many virtio devices: 18 configured, at most 17 (one GSI each, 5-21)" "fault"
	api_ok GET /
	assert_contains "$BODY" '"state":"Not started"' "the VM did not start"
}

test_failed_start_is_undone() {
	need_kvm || return
	make_image "$TMP/d0.img" 8 zero
	make_image "$TMP/d1.img" 8 one
	start_ember || return
	put_drive d0 "$TMP/d0.img" true
	put_drive d1 "$TMP/d1.img" false
	api_ok PUT /entropy '{}'
	# The second drive's file goes away after PUT: the start fails half-way.
	rm "$TMP/d1.img"
	api_ok PUT /boot-source \
		"{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 reboot=k ember.test=virtio-list\"}"
	api PUT /actions '{"action_type": "InstanceStart"}'
	assert_eq 400 "$STATUS" "InstanceStart without the file"
	assert_contains "$BODY" "Start microvm error: Cannot create the block device d1: " "fault"
	assert_contains "$BODY" "$TMP/d1.img" "fault names the file"
	# Everything built was torn down: the file is back and the same process starts the VM.
	make_image "$TMP/d1.img" 8 one
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_exit 30 || fail "guest did not exit"
	assert_eq 0 "$EXIT_CODE" "exit code"
	assert_eq 3 "$(grep -c '^virtio-.* at 0x' "$TMP/out")" "devices found after the retry"
}

test_command_line_too_long() {
	need_kvm || return
	make_image "$TMP/disk.img" 8 x
	start_ember || return
	put_drive rootfs "$TMP/disk.img" true
	# 2000 bytes of boot_args are fine alone; with root= and the device they do not fit.
	api_ok PUT /boot-source "{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"x=$(printf '%01998d' 0)\"}"
	api PUT /actions '{"action_type": "InstanceStart"}'
	assert_eq 400 "$STATUS" "InstanceStart"
	assert_contains "$BODY" "Start microvm error: Invalid kernel command line: Inserting string would make command line too long" "fault"
	api_ok GET /
	assert_contains "$BODY" '"state":"Not started"' "the VM did not start"
}

test_config_file_drive_boot() {
	need_kvm || return
	make_image "$TMP/disk.img" 32 "from-config-file"
	cat >"$TMP/vm.json" <<JSON
{
  "boot-source": {"kernel_image_path": "$GUEST_BZ", "boot_args": "console=ttyS0 reboot=k ember.test=blk"},
  "drives": [{"drive_id": "cfgdisk", "path_on_host": "$TMP/disk.img", "is_root_device": true}],
  "entropy": {}
}
JSON
	timeout 60 "$EMBER" --no-api --config-file "$TMP/vm.json" >"$TMP/out" 2>"$TMP/err" </dev/null
	assert_eq 0 "$?" "exit code"
	assert_contains "$(cat "$TMP/out")" "blk: id cfgdisk" "GET_ID"
	assert_contains "$(cat "$TMP/out")" 'blk: read "from-config-file"' "read"
	assert_contains "$(cat "$TMP/out")" "virtio-rng at 0xd0002000 irq 6 id 4" "entropy device"
}

run_tests "$@"
