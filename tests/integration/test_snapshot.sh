#!/usr/bin/env bash
# Snapshots on real KVM with the test guest's count=N scenario (one line per
# 10 ms PIT tick): pause mid-count, snapshot, restore in a new process,
# resume, and the output of both processes together is count: 1..N exactly
# once each; clones from one snapshot; a Diff merged onto its base is the
# guest's memory byte for byte; the Uffd backend with tests/integration's
# handler; Firecracker's API rules; failed creates (full disk, kill -9) that
# leave nothing under the requested names and the VM resumable; corrupt,
# wrong-version, truncated and missing files refused with clear errors.
. "$(dirname "$0")/lib.sh"

HANDLER=$BUILD/tests/integration/uffd_handler
SNAPTOOL=$BUILD/tests/integration/snapshot_tool
# count=N: about 1.5 s of guest output (one line per PIT tick, real time),
# times the timeout scale: in the nested host the guest still ticks in real
# time while every step of this script runs emulated, and with N=150 the guest
# had finished before the script saw count: 30 and paused it.
N=$((150 * ${EMBER_TEST_TIMEOUT_SCALE:-1}))
PIDS=()

# ---- several ember processes per case --------------------------------------------

# spawn DIR [ember args]: an ember with its socket, stdout and stderr in DIR; talk to it.
spawn() {
	mkdir -p "$1"
	SOCK=$1/api.sock
	"$EMBER" --api-sock "$SOCK" "${@:2}" >"$1/out" 2>"$1/err" </dev/null &
	EMBER_PID=$!
	PIDS+=("$!")
	wait_for test -S "$SOCK" || { fail "API socket never appeared in $1: $(cat "$1/err")"; return 1; }
}

# talk_to DIR PID: direct api calls and wait_exit at that instance.
talk_to() { SOCK=$1/api.sock; EMBER_PID=$2; }

# kill_ember: the current instance dies now (kill -9), reaped quietly.
kill_ember() {
	kill -9 "$EMBER_PID" 2>/dev/null
	wait "$EMBER_PID" 2>/dev/null
}

stop_all() {
	local p
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	PIDS=()
	EMBER_PID=""
	# Sanitizer reports of every instance count (lib.sh only looks at $TMP/err).
	if grep -qsE 'Sanitizer|runtime error:' "$TMP"/*/err; then
		fail "sanitizer report in an ember's stderr: $(grep -lsE 'Sanitizer|runtime error:' "$TMP"/*/err)"
	fi
}

# wait_line FILE TEXT [tries of 10 ms]: wait until FILE holds the line TEXT.
wait_line() {
	local i
	for i in $(seq 1 "${3:-1000}"); do grep -qxF "$2" "$1" 2>/dev/null && return 0; sleep 0.01; done
	return 1
}

# boot_counter DIR [MACHINE_JSON]: an ember in DIR running count=$N.
boot_counter() {
	local machine=${2-}
	[ -n "$machine" ] || machine='{"vcpu_count": 1, "mem_size_mib": 128}'
	spawn "$1" || return 1
	api_ok PUT /machine-config "$machine"
	api_ok PUT /boot-source \
		"{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 reboot=k panic=1 ember.test=count=$N\"}"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
}

# pause_at DIR K: pause once the guest printed "count: K".
pause_at() {
	wait_line "$1/out" "count: $2" || { fail "the guest never printed count: $2"; return 1; }
	api_ok PATCH /vm '{"state": "Paused"}'
}

create() { # SNAPSHOT MEM [TYPE]
	api_ok PUT /snapshot/create \
		"{\"snapshot_path\": \"$1\", \"mem_file_path\": \"$2\", \"snapshot_type\": \"${3:-Full}\"}"
}

load_file() { # SNAPSHOT MEM [EXTRA_JSON]
	api_ok PUT /snapshot/load \
		"{\"snapshot_path\": \"$1\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$2\"}${3:+, $3}}"
}

# A snapshot of a counting guest paused at count: 30: $TMP/a/out, $TMP/vm.snap, $TMP/vm.mem.
counter_snapshot() {
	boot_counter "$TMP/a" "${1-}" || return 1
	pause_at "$TMP/a" 30 || return 1
	create "$TMP/vm.snap" "$TMP/vm.mem"
	kill_ember
}

# check_sequence FILES...: their concatenation counts 1..N once each, then "count: done".
check_sequence() {
	local want got
	want=$(seq 1 "$N" | sed 's/^/count: /'; echo 'count: done')
	got=$(cat "$@" | sed -n '/^count: 1$/,$p')
	[ "$want" = "$got" ] || fail "output of $* is not count: 1..$N once each: $(diff <(echo "$want") <(echo "$got") | head -5 | tr '\n' ' ')"
}

# finish DIR PID: the restored guest counts to the end and resets (exit 0).
finish() {
	talk_to "$1" "$2"
	wait_exit 30 || { fail "the restored guest in $1 did not finish"; return 1; }
	assert_eq 0 "$EXIT_CODE" "exit code of $1"
}

# lines_at_least FILE ERE N: FILE holds at least N lines matching ERE.
lines_at_least() { [ "$(grep -cE "$2" "$1" 2>/dev/null)" -ge "$3" ]; }

# blk_reads_at_least DIR N: the instance in DIR (metrics to DIR/metrics) has
# served N virtio-blk reads (each flushed line holds the change since the last).
blk_reads_at_least() {
	curl -s -o /dev/null --unix-socket "$1/api.sock" -X PUT -H 'Content-Type: application/json' \
		--data-binary '{"action_type": "FlushMetrics"}' http://localhost/actions || return 1
	[ "$(awk 'match($0, /"blk_read_count":[0-9]+/) { s += substr($0, RSTART + 17, RLENGTH - 17) }
		END { print s + 0 }' "$1/metrics")" -ge "$2" ]
}

# create_in_progress CLIENT_PID: the snapshot create writes its memory file
# (temporary name .new.mem.ember-*), or the client is already done.
create_in_progress() {
	ls -a "$TMP" | grep -q '^\.new\.mem\.ember-' || ! kill -0 "$1" 2>/dev/null
}

# ---- restore ------------------------------------------------------------------------

case_restore_continues_the_count() {
	counter_snapshot || return
	local paused_at; paused_at=$(wc -c <"$TMP/a/out")
	spawn "$TMP/b" || return
	load_file "$TMP/vm.snap" "$TMP/vm.mem"
	api_ok GET /
	assert_contains "$BODY" '"state":"Paused"' "instance state after load"
	api_ok GET /machine-config
	assert_contains "$BODY" '"vcpu_count":1' "machine config from the snapshot"
	assert_contains "$BODY" '"mem_size_mib":128' "machine config from the snapshot"
	# Restored paused: the guest does not run until resumed. Running, it
	# prints a line every 10 ms: 0.3 s without a byte is ~30 lines not printed.
	holds_for 0.3 size_is "$TMP/b/out" 0 ||
		fail "output while paused after the load: $(head -c 200 "$TMP/b/out")"
	api_ok PATCH /vm '{"state": "Resumed"}'
	finish "$TMP/b" "$EMBER_PID"
	assert_eq "$paused_at" "$(wc -c <"$TMP/a/out")" "the original's output after its pause"
	check_sequence "$TMP/a/out" "$TMP/b/out"
}
test_restore_continues_the_count() { need_kvm || return; case_restore_continues_the_count; stop_all; }

# A guest that prints without pause (touch=0) is almost always paused right
# after an OUT to the UART that KVM has not completed yet: the restored vCPU
# must not execute it again (a repeated character) nor skip one.
case_no_byte_repeated_mid_print() {
	spawn "$TMP/a" || return
	api_ok PUT /boot-source \
		"{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 ember.test=touch=0\"}"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_line "$TMP/a/out" "touch: 200" || { fail "the guest never printed touch: 200"; return; }
	api_ok PATCH /vm '{"state": "Paused"}'
	create "$TMP/vm.snap" "$TMP/vm.mem"
	kill_ember
	spawn "$TMP/b" || return
	load_file "$TMP/vm.snap" "$TMP/vm.mem" '"resume_vm": true'
	local last; last=$(tail -c 200 "$TMP/a/out" | tail -n 1)
	wait_for grep -q '^touch: [0-9]' "$TMP/b/out" || { fail "no output after the restore"; return; }
	# Enough lines after the restore to see a repeat or a gap.
	wait_until 10 lines_at_least "$TMP/b/out" '^touch: [0-9]+$' 20 ||
		fail "fewer than 20 lines after the restore: $(tail -c 200 "$TMP/b/out")"
	kill_ember
	# Every complete line of both outputs together: touch: 1, 2, 3, ... in order.
	cat "$TMP/a/out" "$TMP/b/out" | sed -n '/^touch: 1$/,$p' | sed '$d' |
		awk '$0 != "touch: " NR { print "line " NR ": " $0; exit 1 }' >"$TMP/bad" ||
		fail "output broken across the restore (paused after '$last'): $(cat "$TMP/bad")"
}
test_no_byte_repeated_mid_print() { need_kvm || return; case_no_byte_repeated_mid_print; stop_all; }

case_clones_from_one_snapshot() {
	local i sum pids=()
	counter_snapshot '{"vcpu_count": 2, "mem_size_mib": 128}' || return
	sum=$(md5sum <"$TMP/vm.mem")
	for i in 1 2 3; do
		spawn "$TMP/c$i" || return
		pids+=("$EMBER_PID")
		load_file "$TMP/vm.snap" "$TMP/vm.mem" '"resume_vm": true'
	done
	for i in 1 2 3; do
		finish "$TMP/c$i" "${pids[$((i - 1))]}" || return
		check_sequence "$TMP/a/out" "$TMP/c$i/out"
	done
	# MAP_PRIVATE: every clone wrote to its own copy, the shared file is as saved.
	assert_eq "$sum" "$(md5sum <"$TMP/vm.mem")" "memory file after three clones ran"
}
test_clones_from_one_snapshot() { need_kvm || return; case_clones_from_one_snapshot; stop_all; }

case_diff_over_base() {
	boot_counter "$TMP/a" '{"vcpu_count": 1, "mem_size_mib": 128, "track_dirty_pages": true}' || return
	pause_at "$TMP/a" 20 || return
	create "$TMP/base.snap" "$TMP/base.mem"
	api_ok PATCH /vm '{"state": "Resumed"}'
	pause_at "$TMP/a" 60 || return
	create "$TMP/diff.snap" "$TMP/diff.mem" Diff
	# A Full snapshot of the same paused moment is what the merge must reproduce.
	create "$TMP/full.snap" "$TMP/full.mem"
	kill_ember
	local diff_kib; diff_kib=$(du -k "$TMP/diff.mem" | cut -f1)
	assert_eq $((128 << 20)) "$(stat -c %s "$TMP/diff.mem")" "size of the Diff memory file"
	[ "$diff_kib" -gt 0 ] && [ "$diff_kib" -lt 1024 ] ||
		fail "the Diff should hold a few dirty pages, it holds $diff_kib KiB"
	cp --sparse=always "$TMP/base.mem" "$TMP/merged.mem"
	"$SNAPTOOL" merge "$TMP/merged.mem" "$TMP/diff.mem" >/dev/null || { fail "merge failed"; return; }
	cmp -s "$TMP/merged.mem" "$TMP/full.mem" || fail "base + Diff differs from a Full snapshot of the same moment"
	spawn "$TMP/b" || return
	load_file "$TMP/diff.snap" "$TMP/merged.mem" '"resume_vm": true'
	finish "$TMP/b" "$EMBER_PID"
	check_sequence "$TMP/a/out" "$TMP/b/out"
}
test_diff_over_base() { need_kvm || return; case_diff_over_base; stop_all; }

case_uffd_backend() {
	counter_snapshot || return
	"$HANDLER" "$TMP/uffd.sock" "$TMP/vm.mem" >"$TMP/handler.out" 2>"$TMP/handler.err" &
	local handler=$!
	PIDS+=("$handler")
	wait_line "$TMP/handler.out" "uffd_handler: listening" 300 || { fail "handler did not start"; return; }
	spawn "$TMP/b" || return
	api_ok PUT /snapshot/load \
		"{\"snapshot_path\": \"$TMP/vm.snap\", \"mem_backend\": {\"backend_type\": \"Uffd\", \"backend_path\": \"$TMP/uffd.sock\"}, \"resume_vm\": true}"
	finish "$TMP/b" "$EMBER_PID"
	check_sequence "$TMP/a/out" "$TMP/b/out"
	# The VM is gone: the handler sees the socket close and reports what it served.
	wait "$handler"
	local served; served=$(sed -n 's/^uffd_handler: served \([0-9]*\) pages$/\1/p' "$TMP/handler.out")
	[ -n "$served" ] && [ "$served" -gt 0 ] || fail "the handler served no page: $(cat "$TMP/handler.out" "$TMP/handler.err")"
}
test_uffd_backend() { need_kvm || return; case_uffd_backend; stop_all; }

# blk-bench: 20000 reads from ring 3, about 2 s here. Snapshot mid-way, with
# requests in flight; the restored guest must see every one complete.
case_blk_after_restore() {
	local requests=20000
	truncate -s 1M "$TMP/disk.img"
	spawn "$TMP/a" || return
	# Any answer but 204 is a regression of PUT /drives, not a reason to skip.
	api_ok PUT /drives/rootfs \
		"{\"drive_id\": \"rootfs\", \"path_on_host\": \"$TMP/disk.img\", \"is_root_device\": true}"
	: >"$TMP/a/metrics"
	api_ok PUT /metrics "{\"metrics_path\": \"$TMP/a/metrics\"}"
	api_ok PUT /boot-source \
		"{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 reboot=k panic=1 ember.test=blk-bench=$requests\"}"
	[ -z "$_fail_msg" ] || return
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_line "$TMP/a/out" "virtio-blk at 0xd0001000 irq 5 id 2" 3000 || { fail "no virtio-blk"; return; }
	# Mid-benchmark: at least 1000 of the reads done (the VMM's own count).
	wait_until 20 blk_reads_at_least "$TMP/a" 1000 || { fail "the benchmark made no progress: $(tail -n 2 "$TMP/a/metrics")"; return; }
	api_ok PATCH /vm '{"state": "Paused"}'
	create "$TMP/vm.snap" "$TMP/vm.mem"
	grep -q "blk-bench: $requests requests" "$TMP/a/out" &&
		{ skip "the benchmark finished before the snapshot: nothing was in flight"; return; }
	kill_ember
	spawn "$TMP/b" || return
	load_file "$TMP/vm.snap" "$TMP/vm.mem" '"resume_vm": true'
	finish "$TMP/b" "$EMBER_PID"
	assert_contains "$(cat "$TMP/b/out")" "blk-bench: $requests requests" "every request completed after the restore"
	assert_not_contains "$(cat "$TMP/a/out" "$TMP/b/out")" "failed after" "benchmark output"
}
test_blk_after_restore() { need_kvm || return; case_blk_after_restore; stop_all; }

# vsock across a restore: the guest listens on port 1234 when it is snapshotted;
# the restored VM (vsock_override: a new uds_path) accepts a host connection.
case_vsock_after_restore() {
	local peer=$BUILD/tests/integration/vsock_peer lpid
	[ -x "$peer" ] || { skip "$peer not built"; return; }
	"$peer" listen "$TMP/v.sock_52" "hello from the host" >"$TMP/peer52" 2>&1 &
	lpid=$!
	wait_for grep -q listening "$TMP/peer52" || { fail "host listener: $(cat "$TMP/peer52")"; return; }
	spawn "$TMP/a" || return
	api_ok PUT /boot-source \
		"{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 reboot=k panic=1 ember.test=vsock\"}"
	api_ok PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$TMP/v.sock\"}"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_line "$TMP/a/out" "vsock: listening on port 1234" 3000 || { fail "guest never listened: $(tail -3 "$TMP/a/out")"; return; }
	wait $lpid || fail "guest-initiated exchange before the snapshot: $(cat "$TMP/peer52")"
	api_ok PATCH /vm '{"state": "Paused"}'
	create "$TMP/vm.snap" "$TMP/vm.mem"
	kill_ember
	spawn "$TMP/b" || return
	load_file "$TMP/vm.snap" "$TMP/vm.mem" \
		"\"resume_vm\": true, \"vsock_override\": {\"uds_path\": \"$TMP/v2.sock\"}"
	wait_for test -S "$TMP/v2.sock" || { fail "restored vsock socket missing"; return; }
	"$peer" connect "$TMP/v2.sock" 1234 "after restore" >"$TMP/peer1234" 2>&1 ||
		fail "host connect after restore failed: $(cat "$TMP/peer1234")"
	assert_contains "$(cat "$TMP/peer1234")" "echo: after restore" "host client output"
	finish "$TMP/b" "$EMBER_PID"
	assert_contains "$(cat "$TMP/b/out")" 'vsock: echoed "after restore"' "restored guest output"
}
test_vsock_after_restore() { need_kvm || return; case_vsock_after_restore; stop_all; }

# ---- API rules ----------------------------------------------------------------------

case_api_rules() {
	spawn "$TMP/a" || return
	api_err PUT /snapshot/create "{\"snapshot_path\": \"$TMP/s\", \"mem_file_path\": \"$TMP/m\"}" \
		"The requested operation is not supported before starting the microVM."
	api_err PUT /snapshot/load "{\"snapshot_path\": \"$TMP/s\"}" \
		"missing field: either \`mem_backend\` or \`mem_file_path\` is required"
	# The logger may come first; a machine config may not.
	api_ok PUT /logger '{"level": "Info"}'
	api_ok PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 128}'
	api_err PUT /snapshot/load "{\"snapshot_path\": \"$TMP/s\", \"mem_file_path\": \"$TMP/m\"}" \
		"Load snapshot error: Loading a microVM snapshot not allowed after configuring boot-specific resources."
	api_ok PUT /boot-source \
		"{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 ember.test=count=$N\"}"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	api_err PUT /snapshot/create "{\"snapshot_path\": \"$TMP/s\", \"mem_file_path\": \"$TMP/m\"}" \
		"Create snapshot error: Cannot save the microVM state: Operation not allowed: save/restore unavailable while running"
	api_err PUT /snapshot/load "{\"snapshot_path\": \"$TMP/s\", \"mem_file_path\": \"$TMP/m\"}" \
		"The requested operation is not supported after starting the microVM."
	api_ok PATCH /vm '{"state": "Paused"}'
	api_err PUT /snapshot/create \
		"{\"snapshot_path\": \"$TMP/s\", \"mem_file_path\": \"$TMP/m\", \"snapshot_type\": \"Diff\"}" \
		"The requested operation is not supported: Diff snapshots are not allowed on uVMs with dirty page tracking disabled."
	[ ! -e "$TMP/s" ] && [ ! -e "$TMP/m" ] || fail "a refused create left files"
	api_err PUT /snapshot/delete "{\"snapshot_path\": \"$TMP/s\"}" "Invalid request method and/or path"
}
test_api_rules() { need_kvm || return; case_api_rules; stop_all; }

# The deprecated mem_file_path loads, with Firecracker's Deprecation header.
case_deprecated_mem_file_path() {
	counter_snapshot || return
	spawn "$TMP/b" || return
	api_ok PUT /snapshot/load "{\"snapshot_path\": \"$TMP/vm.snap\", \"mem_file_path\": \"$TMP/vm.mem\", \"resume_vm\": true}"
	assert_contains "$HEADERS" "Deprecation: true" "response headers"
	finish "$TMP/b" "$EMBER_PID"
	check_sequence "$TMP/a/out" "$TMP/b/out"
}
test_deprecated_mem_file_path() { need_kvm || return; case_deprecated_mem_file_path; stop_all; }

# ---- failed creates ----------------------------------------------------------------------

case_full_disk_keeps_vm_resumable() {
	mkdir "$TMP/full"
	mount -t tmpfs -o size=64k tmpfs "$TMP/full" || { skip "cannot mount a tmpfs"; return; }
	boot_counter "$TMP/a" || { umount "$TMP/full"; return; }
	pause_at "$TMP/a" 30 || { umount "$TMP/full"; return; }
	# The state (a few KiB) fits, the memory (about 100 KiB of data) does not.
	api_err PUT /snapshot/create "{\"snapshot_path\": \"$TMP/full/vm.snap\", \"mem_file_path\": \"$TMP/full/vm.mem\"}" \
		"Create snapshot error: Cannot write memory file: No space left on device (os error 28)"
	assert_eq "" "$(ls -A "$TMP/full")" "files left on the full disk"
	api_err PUT /snapshot/create "{\"snapshot_path\": \"$TMP/nodir/vm.snap\", \"mem_file_path\": \"$TMP/vm.mem\"}" \
		"Create snapshot error: Cannot perform open on the snapshot backing file: No such file or directory (os error 2)"
	[ ! -e "$TMP/vm.mem" ] || fail "the memory file was written although the state could not be"
	umount "$TMP/full"
	api_ok GET /
	assert_contains "$BODY" '"state":"Paused"' "state after the failed creates"
	# Still a good snapshot source, and still resumable where it stopped.
	create "$TMP/vm.snap" "$TMP/vm.mem"
	api_ok PATCH /vm '{"state": "Resumed"}'
	wait_exit 30 || { fail "the guest did not finish"; return; }
	assert_eq 0 "$EXIT_CODE" "exit code"
	check_sequence "$TMP/a/out"
}
test_full_disk_keeps_vm_resumable() { need_kvm || return; need_root || return; case_full_disk_keeps_vm_resumable; stop_all; }

# kill -9 while the memory is being written: nothing under the requested names.
case_kill_during_create() {
	# A Uffd-restored VM's Full snapshot reads every page through the handler: seconds for 2 GiB.
	boot_counter "$TMP/a" '{"vcpu_count": 1, "mem_size_mib": 2048}' || return
	pause_at "$TMP/a" 10 || return
	create "$TMP/vm.snap" "$TMP/vm.mem"
	kill_ember
	"$HANDLER" "$TMP/uffd.sock" "$TMP/vm.mem" >"$TMP/handler.out" 2>&1 &
	PIDS+=("$!")
	wait_line "$TMP/handler.out" "uffd_handler: listening" 300 || { fail "handler did not start"; return; }
	spawn "$TMP/b" || return
	api_ok PUT /snapshot/load \
		"{\"snapshot_path\": \"$TMP/vm.snap\", \"mem_backend\": {\"backend_type\": \"Uffd\", \"backend_path\": \"$TMP/uffd.sock\"}}"
	curl -s --unix-socket "$SOCK" -X PUT -H 'Content-Type: application/json' -o /dev/null \
		--data-binary "{\"snapshot_path\": \"$TMP/new.snap\", \"mem_file_path\": \"$TMP/new.mem\"}" \
		http://localhost/snapshot/create &
	local client=$!
	# Kill once the memory file is being written (its temporary name exists).
	wait_until 30 create_in_progress "$client"
	if ! kill -0 "$client" 2>/dev/null; then
		skip "the create finished before it was seen writing: nothing to interrupt on this host"
		return
	fi
	ls -a "$TMP" | grep -q '^\.new\.mem\.ember-' || { fail "no temporary memory file appeared within 30 s"; return; }
	kill_ember
	wait "$client" 2>/dev/null
	[ ! -e "$TMP/new.snap" ] || fail "a state file exists under the requested name"
	[ ! -e "$TMP/new.mem" ] || fail "a memory file exists under the requested name"
}
test_kill_during_create() { need_kvm || return; case_kill_during_create; stop_all; }

# ---- bad files ------------------------------------------------------------------------------

case_bad_files_are_refused() {
	counter_snapshot || return
	spawn "$TMP/b" || return
	local prefix="Load snapshot error: Failed to restore from snapshot: Failed to get snapshot state from file"
	cp "$TMP/vm.snap" "$TMP/bad.snap"
	printf '\x5a' | dd of="$TMP/bad.snap" bs=1 seek=3000 conv=notrunc status=none
	api_err PUT /snapshot/load "{\"snapshot_path\": \"$TMP/bad.snap\", \"mem_file_path\": \"$TMP/vm.mem\"}" \
		"$prefix: Failed to load snapshot state from file: CRC64 validation failed: "
	cp "$TMP/vm.snap" "$TMP/v2.snap"
	"$SNAPTOOL" set-version "$TMP/v2.snap" 2 0 0
	api_err PUT /snapshot/load "{\"snapshot_path\": \"$TMP/v2.snap\", \"mem_file_path\": \"$TMP/vm.mem\"}" \
		"$prefix: Failed to load snapshot state from file: Invalid data version: 2.0.0"
	"$SNAPTOOL" set-version "$TMP/v2.snap" 1 1 0
	api_err PUT /snapshot/load "{\"snapshot_path\": \"$TMP/v2.snap\", \"mem_file_path\": \"$TMP/vm.mem\"}" \
		"Invalid data version: 1.1.0"
	head -c 5000 "$TMP/vm.snap" >"$TMP/short.snap"
	api_err PUT /snapshot/load "{\"snapshot_path\": \"$TMP/short.snap\", \"mem_file_path\": \"$TMP/vm.mem\"}" \
		"CRC64 validation failed"
	head -c 4 "$TMP/vm.snap" >"$TMP/tiny.snap"
	api_err PUT /snapshot/load "{\"snapshot_path\": \"$TMP/tiny.snap\", \"mem_file_path\": \"$TMP/vm.mem\"}" \
		"$prefix: Failed to load snapshot state from file: Snapshot file is smaller than CRC length."
	api_err PUT /snapshot/load "{\"snapshot_path\": \"$TMP/none.snap\", \"mem_file_path\": \"$TMP/vm.mem\"}" \
		"$prefix: Failed to open snapshot file: No such file or directory (os error 2)"
	api_err PUT /snapshot/load "{\"snapshot_path\": \"$TMP/vm.snap\", \"mem_file_path\": \"$TMP/none.mem\"}" \
		"Load snapshot error: Failed to restore from snapshot: Failed to load guest memory: Error creating guest memory from file: Failed to load guest memory: No such file or directory (os error 2)"
	truncate -s 64M "$TMP/short.mem"
	api_err PUT /snapshot/load "{\"snapshot_path\": \"$TMP/vm.snap\", \"mem_file_path\": \"$TMP/short.mem\"}" \
		"the snapshot needs 134217728"
	api_err PUT /snapshot/load \
		"{\"snapshot_path\": \"$TMP/vm.snap\", \"mem_backend\": {\"backend_type\": \"Uffd\", \"backend_path\": \"$TMP/none.sock\"}}" \
		"Failed to load guest memory: Error creating guest memory from uffd: Failed to connect to UDS Unix stream: No such file or directory (os error 2)"
	# None of that used the process up: it still loads the good snapshot and runs it.
	api_ok GET /
	assert_contains "$BODY" '"state":"Not started"' "state after refused loads"
	"$SNAPTOOL" set-version "$TMP/v2.snap" 1 0 7
	load_file "$TMP/v2.snap" "$TMP/vm.mem" '"resume_vm": true'
	finish "$TMP/b" "$EMBER_PID"
	check_sequence "$TMP/a/out" "$TMP/b/out"
}
test_bad_files_are_refused() { need_kvm || return; case_bad_files_are_refused; stop_all; }

case_describe_snapshot() {
	counter_snapshot '{"vcpu_count": 2, "mem_size_mib": 256}' || return
	local out
	out=$("$EMBER" --describe-snapshot "$TMP/vm.snap") || fail "describe failed: $out"
	assert_contains "$out" "format version: 1.0.0" "describe"
	assert_contains "$out" "machine: 2 vCPUs, 256 MiB" "describe"
	assert_contains "$out" "VCPU 1" "describe"
	assert_contains "$out" "KVMS 0" "describe"
	assert_contains "$out" "vCPU 0: rip 0x" "describe"
	printf '\x5a' | dd of="$TMP/vm.snap" bs=1 seek=100 conv=notrunc status=none
	out=$("$EMBER" --describe-snapshot "$TMP/vm.snap") && fail "a corrupt file was described as good"
	assert_contains "$out" "format version: 1.0.0" "describe of a corrupt file"
	assert_contains "$out" "cannot be loaded: CRC64 validation failed" "describe of a corrupt file"
}
test_describe_snapshot() { need_kvm || return; case_describe_snapshot; stop_all; }

run_tests "$@"
