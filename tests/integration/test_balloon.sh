#!/usr/bin/env bash
# virtio-balloon (PUT /balloon) on real KVM with the test guest's balloon
# scenario: inflated pages come back zeroed (given back to the host), a
# buffer of too many frames is refused, deflated pages are usable again,
# the guest's statistics and "actual" reach GET /balloon/statistics, and a
# PATCH of the target reaches the guest. Also the API's rules and
# Firecracker's texts before and after boot, GET /vm/config, the metrics,
# and --config-file.
. "$(dirname "$0")/lib.sh"

BOOT_BALLOON='{"kernel_image_path": "'"$GUEST_ELF"'", "boot_args": "console=ttyS0 reboot=k ember.test=balloon"}'

fault_is() { # expected fault_message of the last call
	assert_eq 400 "$STATUS" "status of a refused call"
	assert_eq "{\"fault_message\":\"$1\"}" "$BODY" "fault_message"
}

test_api_before_boot() {
	start_ember || return
	api GET /balloon
	fault_is "Balloon config error: No balloon device found."
	api PUT /balloon '{"amount_mib": 129, "deflate_on_oom": false}'
	fault_is "Balloon config error: Amount of pages requested is too large."
	api PUT /balloon '{"amount_mib": 1}'
	assert_eq 400 "$STATUS" "missing deflate_on_oom"
	assert_contains "$BODY" 'missing field `deflate_on_oom`' "serde's text"
	api PATCH /balloon '{"amount_mib": 1}'
	fault_is "The requested operation is not supported before starting the microVM."
	api PATCH /balloon/statistics '{"stats_polling_interval_s": 1}'
	fault_is "The requested operation is not supported before starting the microVM."
	api PATCH /balloon/hinting/start
	fault_is "The requested operation is not supported before starting the microVM."
	api GET /balloon/statistics
	fault_is "The requested operation is not supported before starting the microVM."
	api GET /balloon/hinting/status
	fault_is "The requested operation is not supported before starting the microVM."
	api GET /balloon/nope
	fault_is 'Unrecognized GET request path `nope`.'

	api_ok PUT /balloon '{"amount_mib": 64, "deflate_on_oom": true, "stats_polling_interval_s": 2, "free_page_reporting": true}'
	api_ok GET /balloon
	assert_eq '{"amount_mib":64,"deflate_on_oom":true,"stats_polling_interval_s":2,"free_page_hinting":false,"free_page_reporting":true}' "$BODY" "GET /balloon"
	api_ok GET /vm/config
	assert_contains "$BODY" '"balloon":{"amount_mib":64,' "GET /vm/config"
	api PATCH /machine-config '{"mem_size_mib": 32}'
	fault_is "Machine config error: The memory size (MiB) is smaller than the previously set balloon device target size."
	api_ok PATCH /machine-config '{"mem_size_mib": 64}'
}

test_guest_inflates_and_deflates() {
	need_kvm || return
	local stats
	start_ember || return
	: >"$TMP/metrics"
	api_ok PUT /metrics "{\"metrics_path\": \"$TMP/metrics\"}"
	api_ok PUT /balloon '{"amount_mib": 1, "deflate_on_oom": true, "stats_polling_interval_s": 1}'
	api_ok PUT /boot-source "$BOOT_BALLOON"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_until 30 grep -q "balloon: waiting for a new target" "$TMP/out" ||
		{ fail "guest never got to wait: $(cat "$TMP/out")"; return; }
	assert_contains "$(cat "$TMP/out")" "virtio-balloon at 0xd0001000 irq 5 id 5" "device list"
	assert_contains "$(cat "$TMP/out")" "balloon: num_pages 256" "target in config space"
	assert_contains "$(cat "$TMP/out")" "balloon: inflated 8 pages, zeroed 8" "released pages"
	assert_contains "$(cat "$TMP/out")" "balloon: oversized buffer refused" "hostile buffer"
	assert_contains "$(cat "$TMP/out")" "balloon: deflated" "deflate"

	api PUT /balloon '{"amount_mib": 1, "deflate_on_oom": true}'
	fault_is "The requested operation is not supported after starting the microVM."
	api PATCH /balloon/statistics '{"stats_polling_interval_s": 0}'
	fault_is "Balloon update error: Balloon: Statistics cannot be enabled/disabled after activation."
	api PATCH /balloon '{"amount_mib": 4096}'
	fault_is "Balloon update error: Balloon: Requested memory should be less than 4096MiB"
	api GET /balloon/hinting/status
	fault_is "Balloon update error: Balloon: Attempting to use hinting when not enabled"
	# The guest's stats buffer and its "actual" (8 pages).
	wait_until 10 api_has_total_memory || { fail "no guest statistics: $BODY"; return; }
	assert_contains "$BODY" '"target_pages":256,"actual_pages":8,"target_mib":1,"actual_mib":0' "sizes"
	assert_contains "$BODY" '"free_memory":16777216,"total_memory":134217728' "guest values"
	api_ok PATCH /balloon/statistics '{"stats_polling_interval_s": 3}'
	api_ok PUT /actions '{"action_type": "FlushMetrics"}'
	stats=$(tail -n 1 "$TMP/metrics")
	assert_contains "$stats" '"balloon":{"activate_fails":0,"inflate_count":' "balloon metrics"
	grep -q '"inflate_count":[1-9]' "$TMP/metrics" || fail "no inflate counted: $stats"

	# The guest ends the VM once it sees the new target.
	api_ok PATCH /balloon '{"amount_mib": 2}'
	wait_exit 30 || { fail "guest did not exit: $(cat "$TMP/out")"; return; }
	assert_eq 0 "$EXIT_CODE" "exit code"
	assert_contains "$(cat "$TMP/out")" "balloon: target 512 pages" "guest saw the new target"
	assert_contains "$(cat "$TMP/out")" "balloon: reinflated 8 pages, zeroed 8" "second inflation"
}

# Snapshot with the guest's statistics buffer held and "actual" set; the
# restored VM (RAM mapped privately from the memory file) keeps the target,
# the statistics and the buffer, takes a new target, and pages it inflates
# then read zero, not the memory file's bytes.
test_snapshot_restore() {
	need_kvm || return
	local a=$TMP/a b=$TMP/b
	mkdir -p "$a" "$b"
	TMP=$a start_ember || return
	local pid_a=$EMBER_PID
	api_ok PUT /balloon '{"amount_mib": 1, "deflate_on_oom": false, "stats_polling_interval_s": 1}'
	api_ok PUT /boot-source "$BOOT_BALLOON"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_until 30 grep -q "balloon: waiting for a new target" "$a/out" ||
		{ fail "guest never got to wait: $(cat "$a/out")"; return; }
	wait_until 10 api_has_total_memory || { fail "no guest statistics: $BODY"; return; }
	api_ok PATCH /vm '{"state": "Paused"}'
	api_ok PUT /snapshot/create "{\"snapshot_path\": \"$TMP/vm.snap\", \"mem_file_path\": \"$TMP/vm.mem\"}"
	kill -9 "$pid_a"; wait "$pid_a" 2>/dev/null
	TMP=$b start_ember || return
	api_ok PUT /snapshot/load "{\"snapshot_path\": \"$TMP/vm.snap\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$TMP/vm.mem\"}, \"resume_vm\": true}"
	api_ok GET /balloon
	assert_eq '{"amount_mib":1,"deflate_on_oom":false,"stats_polling_interval_s":1,"free_page_hinting":false,"free_page_reporting":false}' "$BODY" "restored configuration"
	api_ok GET /balloon/statistics
	assert_contains "$BODY" '"actual_pages":8,' "restored actual"
	assert_contains "$BODY" '"total_memory":134217728' "restored guest statistics"
	api_ok PATCH /balloon '{"amount_mib": 3}'
	wait_exit 30 || { fail "restored guest did not exit: $(cat "$b/out")"; return; }
	assert_eq 0 "$EXIT_CODE" "exit code"
	assert_contains "$(cat "$b/out")" "balloon: target 768 pages" "restored guest saw the new target"
	assert_contains "$(cat "$b/out")" "balloon: reinflated 8 pages, zeroed 8" "released restored RAM reads zero"
}

api_has_total_memory() {
	api GET /balloon/statistics
	[ "$STATUS" = 200 ] && [[ "$BODY" == *'"total_memory"'* ]]
}

# Without a driver, the device exists but is not active.
test_runtime_without_driver() {
	need_kvm || return
	start_ember || return
	api_ok PUT /balloon '{"amount_mib": 0, "deflate_on_oom": false, "free_page_hinting": true}'
	api_ok PUT /boot-source "{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 reboot=k ember.test=halt-forever\"}"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	api PATCH /balloon '{"amount_mib": 1}'
	fault_is "Balloon update error: Balloon: Device not activated yet."
	api PATCH /balloon/hinting/start
	fault_is "Balloon update error: Balloon: Device not activated yet."
	api_ok GET /balloon/hinting/status
	assert_eq '{"host_cmd":0,"guest_cmd":null}' "$BODY" "hinting status"
	api GET /balloon/statistics
	fault_is "Internal VMM error: Balloon: Received stats query when stats are disabled."
	api_ok GET /balloon
	assert_contains "$BODY" '"amount_mib":0,' "unchanged"
}

test_runtime_without_balloon() {
	need_kvm || return
	start_ember || return
	api_ok PUT /boot-source "{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 reboot=k ember.test=halt-forever\"}"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	api GET /balloon
	fault_is "Internal VMM error: Failed perform action on device: Device not found"
	api PATCH /balloon '{"amount_mib": 1}'
	fault_is "Balloon update error: Failed perform action on device: Device not found"
	api GET /balloon/statistics
	fault_is "Internal VMM error: Failed perform action on device: Device not found"
}

test_config_file() {
	need_kvm || return
	cat >"$TMP/config.json" <<-EOF
	{"boot-source": $BOOT_BALLOON,
	 "balloon": {"amount_mib": 1, "deflate_on_oom": false, "stats_polling_interval_s": 1}}
	EOF
	start_ember --config-file "$TMP/config.json" || return
	wait_until 30 grep -q "balloon: waiting for a new target" "$TMP/out" ||
		{ fail "guest never got to wait: $(cat "$TMP/out")"; return; }
	api_ok GET /vm/config
	assert_contains "$BODY" '"balloon":{"amount_mib":1,"deflate_on_oom":false,"stats_polling_interval_s":1,' "config"
	api_ok PATCH /balloon '{"amount_mib": 3}'
	wait_exit 30 || { fail "guest did not exit"; return; }
	assert_contains "$(cat "$TMP/out")" "balloon: target 768 pages" "guest saw the new target"
}

run_tests "$@"
