#!/usr/bin/env bash
# virtio-pmem (PUT/PATCH /pmem/{id}) through the real API socket and on real
# KVM with the test guest: Firecracker 1.16's messages for every refusal
# (body, root-device rules, pre-/post-boot, PATCH of an unknown device, a
# backing file that cannot be mapped at InstanceStart), GET /vm/config and
# --config-file; then the guest reads the device's config space, reads the
# file through the mapped region, writes and flushes, and the host file has
# the bytes; a read-only device keeps the file unchanged.
. "$(dirname "$0")/lib.sh"

DE='An error occurred when deserializing the json body of a request: '
PRE_BOOT='The requested operation is not supported before starting the microVM.'
HOST_TEXT='pmem-host-data-0123456789'
GUEST_TEXT='ember-guest-wrote-this'

fault() {
	api "$1" "$2" "$3"
	assert_eq 400 "$STATUS" "$1 $2 status"
	assert_eq "{\"fault_message\":\"$(printf '%s' "$4" | sed 's/[\\"]/\\&/g')\"}" "$BODY" "$1 $2 body"
}

vm_config() { api_ok GET /vm/config; printf '%s' "$BODY"; }

# restart_ember: a new ember in the same dir (the killed one leaves its socket file behind).
restart_ember() {
	stop_ember
	rm -f "$TMP/api.sock"
	start_ember
}

# make_backing FILE: 3 MiB + 100 bytes (not 2 MiB-aligned), HOST_TEXT first.
make_backing() {
	truncate -s $((3 * 1024 * 1024 + 100)) "$1"
	printf '%s' "$HOST_TEXT" | dd of="$1" conv=notrunc status=none
}

boot_pmem() {
	api_ok PUT /boot-source \
		"{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 reboot=k ember.test=pmem\"}"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_exit 30 || fail "guest did not exit: $(cat "$TMP/out")"
	assert_eq 0 "$EXIT_CODE" "exit code"
}

test_api_errors() {
	make_backing "$TMP/p.img"
	truncate -s 1M "$TMP/d.img"
	start_ember || return
	fault PUT /pmem/p0 '{"path_on_host": "/x"}' "${DE}missing field \`id\` at line 1 column 22."
	fault PUT /pmem/p0 '{"id": "p0"}' "${DE}missing field \`path_on_host\` at line 1 column 12."
	fault PUT /pmem/p0 '{"id": "p1", "path_on_host": "/x"}' \
		'The id from the path does not match the id from the body!'
	fault PUT /pmem/p0 '{"id": "p0", "path_on_host": "/x", "bogus": 1}' \
		"${DE}unknown field \`bogus\`, expected one of \`id\`, \`path_on_host\`, \`root_device\`, \`read_only\`, \`rate_limiter\` at line 1 column 42."
	fault PATCH /pmem/p0 '{"id": "p0"}' "$PRE_BOOT"
	api_ok PUT /pmem/root "{\"id\": \"root\", \"path_on_host\": \"$TMP/p.img\", \"root_device\": true}"
	local before; before=$(vm_config)
	fault PUT /pmem/other "{\"id\": \"other\", \"path_on_host\": \"$TMP/p.img\", \"root_device\": true}" \
		'Pmem config error: A root pmem device already exist'
	fault PUT /drives/rootfs "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$TMP/d.img\", \"is_root_device\": true}" \
		'Drive config error: Attempt to add block as a root device while the root device defined as a pmem device'
	assert_eq "$before" "$(vm_config)" "refused requests changed nothing"
	api_ok PUT /pmem/root "{\"id\": \"root\", \"path_on_host\": \"$TMP/p.img\"}"
	api_ok PUT /drives/rootfs "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$TMP/d.img\", \"is_root_device\": true}"
	fault PUT /pmem/root "{\"id\": \"root\", \"path_on_host\": \"$TMP/p.img\", \"root_device\": true}" \
		'Pmem config error: Attempt to add pmem as a root device while the root device defined as a block device'
	api_ok PUT /pmem/b "{\"id\": \"b\", \"path_on_host\": \"$TMP/none\", \"read_only\": true, \"rate_limiter\": {\"ops\": {\"size\": 5, \"refill_time\": 100}}}"
	assert_contains "$(vm_config)" "\"pmem\":[{\"id\":\"root\",\"path_on_host\":\"$TMP/p.img\",\"root_device\":false,\"read_only\":false,\"rate_limiter\":null},{\"id\":\"b\",\"path_on_host\":\"$TMP/none\",\"root_device\":false,\"read_only\":true,\"rate_limiter\":{\"bandwidth\":null,\"ops\":{\"size\":5,\"one_time_burst\":null,\"refill_time\":100}}}]" "GET /vm/config"
}

# Firecracker opens the file at InstanceStart, not at PUT.
test_start_errors() {
	start_ember || return
	api_ok PUT /pmem/p0 "{\"id\": \"p0\", \"path_on_host\": \"$TMP/none\"}"
	api_ok PUT /boot-source "{\"kernel_image_path\": \"$GUEST_ELF\"}"
	fault PUT /actions '{"action_type": "InstanceStart"}' \
		'Start microvm error: Cannot create pmem device: Error accessing backing file: No such file or directory (os error 2)'
	: >"$TMP/empty"
	restart_ember || return
	api_ok PUT /pmem/p0 "{\"id\": \"p0\", \"path_on_host\": \"$TMP/empty\"}"
	api_ok PUT /boot-source "{\"kernel_image_path\": \"$GUEST_ELF\"}"
	fault PUT /actions '{"action_type": "InstanceStart"}' \
		'Start microvm error: Cannot create pmem device: Error backing file size is 0'
}

test_guest_reads_writes_flushes() {
	need_kvm || return
	make_backing "$TMP/p.img"
	start_ember || return
	api_ok PUT /pmem/p0 "{\"id\": \"p0\", \"path_on_host\": \"$TMP/p.img\", \"root_device\": true}"
	boot_pmem || return
	local out; out=$(cat "$TMP/out")
	assert_contains "$out" "virtio-pmem at 0xd0001000 irq 5 id 27" "device list"
	assert_contains "$out" "root=/dev/pmem0 rw" "command line"
	# 128 MiB of RAM: the region starts at 4 GiB, 3 MiB + 100 rounded up to 4 MiB.
	assert_contains "$out" "pmem: start 0x100000000 size 0x400000" "config space"
	assert_contains "$out" "pmem: read \"${HOST_TEXT:0:16}\"" "guest read the file"
	assert_contains "$out" "pmem: flush status 0 len 4" "flush"
	assert_contains "$out" "pmem: read back \"$GUEST_TEXT\"" "read back"
	assert_contains "$out" "pmem: bad request len 0" "malformed request"
	assert_eq "$GUEST_TEXT" "$(dd if="$TMP/p.img" bs=1 skip=512 count=${#GUEST_TEXT} status=none)" "host file has the guest's bytes"
	assert_eq $((3 * 1024 * 1024 + 100)) "$(stat -c %s "$TMP/p.img")" "file size unchanged"
}

test_read_only_device() {
	need_kvm || return
	make_backing "$TMP/p.img"
	local sum; sum=$(md5sum <"$TMP/p.img")
	start_ember || return
	api_ok PUT /pmem/p0 "{\"id\": \"p0\", \"path_on_host\": \"$TMP/p.img\", \"root_device\": true, \"read_only\": true}"
	boot_pmem || return
	local out; out=$(cat "$TMP/out")
	assert_contains "$out" "root=/dev/pmem0 ro" "command line"
	assert_contains "$out" "pmem: read \"${HOST_TEXT:0:16}\"" "guest read the file"
	assert_contains "$out" "pmem: flush status 0 len 4" "flush"
	# The write exits as MMIO to no device: dropped, the guest reads the file's zeros.
	assert_not_contains "$out" "pmem: read back \"$GUEST_TEXT\"" "read back"
	assert_eq "$sum" "$(md5sum <"$TMP/p.img")" "file unchanged"
}

test_patch_after_boot() {
	need_kvm || return
	make_backing "$TMP/p.img"
	start_ember || return
	api_ok PUT /pmem/p0 "{\"id\": \"p0\", \"path_on_host\": \"$TMP/p.img\"}"
	api_ok PUT /boot-source \
		"{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 ember.test=halt-forever\"}"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_for grep -q halting "$TMP/out" || { fail "guest did not boot: $(cat "$TMP/err")"; return; }
	api_ok PATCH /pmem/p0 '{"id": "p0", "rate_limiter": {"bandwidth": {"size": 1048576, "refill_time": 100}}}'
	assert_contains "$(vm_config)" '"rate_limiter":{"bandwidth":{"size":1048576,"one_time_burst":null,"refill_time":100},"ops":null}' "limiter recorded"
	api_ok PATCH /pmem/zz '{"id": "zz"}'
	fault PATCH /pmem/zz '{"id": "zz", "rate_limiter": {}}' \
		'Pmem config error: Unable to patch the pmem device: Failed perform action on device: Device not found Please verify the request arguments.'
	fault PUT /pmem/p1 "{\"id\": \"p1\", \"path_on_host\": \"$TMP/p.img\"}" 'PCI is not enabled'
	fault DELETE /pmem/p0 '' 'PCI is not enabled'
}

# A snapshot keeps the pmem devices' configuration; the restored VM maps the
# same file again (in its address space), and cannot be restored without it.
test_snapshot_restore() {
	need_kvm || return
	make_backing "$TMP/p.img"
	start_ember || return
	api_ok PUT /pmem/p0 "{\"id\": \"p0\", \"path_on_host\": \"$TMP/p.img\", \"read_only\": true, \"rate_limiter\": {\"ops\": {\"size\": 7, \"refill_time\": 100}}}"
	api_ok PUT /boot-source \
		"{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 ember.test=halt-forever\"}"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_for grep -q halting "$TMP/out" || { fail "guest did not boot: $(cat "$TMP/err")"; return; }
	api_ok PATCH /vm '{"state": "Paused"}'
	api_ok PUT /snapshot/create "{\"snapshot_path\": \"$TMP/snap\", \"mem_file_path\": \"$TMP/mem\"}"
	local desc; desc=$("$EMBER" --describe-snapshot "$TMP/snap")
	assert_contains "$desc" "pmem p0: $TMP/p.img read-only" "describe: configuration"
	assert_contains "$desc" "virtio-pmem at " "describe: device"
	restart_ember || return
	api_ok PUT /snapshot/load "{\"snapshot_path\": \"$TMP/snap\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$TMP/mem\"}, \"resume_vm\": true}"
	assert_contains "$(vm_config)" "\"pmem\":[{\"id\":\"p0\",\"path_on_host\":\"$TMP/p.img\",\"root_device\":false,\"read_only\":true,\"rate_limiter\":{\"bandwidth\":null,\"ops\":{\"size\":7,\"one_time_burst\":null,\"refill_time\":100}}}]" "restored configuration"
	assert_contains "$(cat "/proc/$EMBER_PID/maps")" "$TMP/p.img" "the file mapped again"
	api_ok PATCH /pmem/p0 '{"id": "p0", "rate_limiter": {"ops": {"size": 9, "refill_time": 100}}}'
	mv "$TMP/p.img" "$TMP/moved.img"
	restart_ember || return
	api PUT /snapshot/load "{\"snapshot_path\": \"$TMP/snap\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$TMP/mem\"}}"
	assert_eq 400 "$STATUS" "load without the pmem file"
	assert_contains "$BODY" "Cannot create pmem device: Error accessing backing file: No such file or directory (os error 2)" "load error"
}

test_config_file() {
	need_kvm || return
	make_backing "$TMP/p.img"
	cat >"$TMP/vm.json" <<JSON
{"boot-source": {"kernel_image_path": "$GUEST_ELF", "boot_args": "console=ttyS0 reboot=k ember.test=pmem"},
 "pmem": [{"id": "p0", "path_on_host": "$TMP/p.img"}]}
JSON
	"$EMBER" --no-api --config-file "$TMP/vm.json" >"$TMP/out" 2>>"$TMP/err" </dev/null
	assert_eq 0 "$?" "exit code"
	assert_contains "$(cat "$TMP/out")" "pmem: flush status 0 len 4" "flush"
	assert_not_contains "$(cat "$TMP/out")" "root=/dev/pmem0" "not the root device"
	assert_eq "$GUEST_TEXT" "$(dd if="$TMP/p.img" bs=1 skip=512 count=${#GUEST_TEXT} status=none)" "host file has the guest's bytes"
}

run_tests "$@"
