#!/usr/bin/env bash
# The small API surface of Firecracker 1.16, on real KVM with the test guest:
# PUT /serial (output to a file, its rate_limiter dropping bytes and the
# uart.rate_limiter_dropped_bytes metric), PUT /logger's module filter, the
# per call site log rate limit against a guest that triggers a warning in a
# loop (logger.rate_limited_log_count), huge_pages as 1.16 has it (None, 2M:
# no Transparent, no huge_pages on snapshot load), and GET /vm/config key by
# key, fed back as a --config-file.
. "$(dirname "$0")/lib.sh"

DE='An error occurred when deserializing the json body of a request: '

# boot_guest SCENARIO: boot the test guest with ember.test=SCENARIO and wait for its reset.
boot_guest() {
	api_ok PUT /boot-source \
		"{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 reboot=k ember.test=$1\"}"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_exit 30 || { fail "guest ($1) did not end the VM"; return 1; }
	assert_eq 0 "$EXIT_CODE" "exit code ($1)"
}

# metric GROUP NAME: the value in the last metrics line (the exit's flush).
metric() {
	python3 -c 'import json, sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])[sys.argv[2]][sys.argv[3]])' \
		"$TMP/metrics" "$1" "$2" 2>/dev/null
}

test_serial_output_to_a_file() {
	need_kvm || return
	start_ember || return
	api_ok PUT /serial "{\"serial_out_path\": \"$TMP/console\"}"
	boot_guest hello || return
	assert_contains "$(cat "$TMP/console")" "hello from ember-test-guest" "serial_out_path file"
	assert_not_contains "$(cat "$TMP/out")" "hello from ember-test-guest" "stdout"
	# Appended to, like Firecracker's (O_APPEND), not truncated.
	start_ember || return
	api_ok PUT /serial "{\"serial_out_path\": \"$TMP/console\"}"
	boot_guest hello || return
	assert_eq 2 "$(grep -c "hello from ember-test-guest" "$TMP/console")" "two boots in the file"
}

test_serial_rate_limiter_drops_bytes() {
	need_kvm || return
	local full got dropped
	# The whole output, unlimited: the reference.
	start_ember || return
	api_ok PUT /serial "{\"serial_out_path\": \"$TMP/full\"}"
	boot_guest hello || return
	full=$(stat -c %s "$TMP/full")
	[ "$full" -gt 100 ] || { fail "the guest wrote only $full bytes"; return; }
	# 32 bytes, then one per second: the rest of a millisecond boot is dropped.
	: >"$TMP/metrics"
	start_ember || return
	api_ok PUT /metrics "{\"metrics_path\": \"$TMP/metrics\"}"
	api_ok PUT /serial "{\"serial_out_path\": \"$TMP/console\", \"rate_limiter\": {\"size\": 32, \"refill_time\": 32000}}"
	api_ok GET /vm/config
	assert_contains "$BODY" "\"serial\":{\"serial_out_path\":\"$TMP/console\",\"rate_limiter\":{\"size\":32,\"one_time_burst\":null,\"refill_time\":32000}}" "GET /vm/config"
	boot_guest hello || return
	got=$(stat -c %s "$TMP/console")
	# 32, or a few more if the boot took seconds.
	[ "$got" -ge 32 ] && [ "$got" -le 38 ] || fail "limited output is $got bytes, expected 32"
	# The bucket's 32 are the first 32 (a byte let through later comes from further on).
	cmp -s -n 32 "$TMP/console" "$TMP/full" || fail "the bytes that went out are not the first ones"
	dropped=$(metric uart rate_limiter_dropped_bytes)
	assert_eq "$((full - got))" "$dropped" "uart.rate_limiter_dropped_bytes"
	# To the guest every byte went out (Firecracker counts them in write_count too).
	assert_eq "$full" "$(metric uart write_count)" "uart.write_count"
	# A one_time_burst goes first; a limiter without serial_out_path limits stdout.
	start_ember || return
	api_ok PUT /serial '{"rate_limiter": {"size": 10, "one_time_burst": 40, "refill_time": 10000}}'
	boot_guest hello || return
	got=$(stat -c %s "$TMP/out")
	[ "$got" -ge 50 ] && [ "$got" -le 55 ] || fail "stdout got $got bytes, expected 50"
	# size or refill_time 0: no limit.
	start_ember || return
	api_ok PUT /serial "{\"serial_out_path\": \"$TMP/none\", \"rate_limiter\": {\"size\": 0, \"refill_time\": 100}}"
	boot_guest hello || return
	assert_eq "$full" "$(stat -c %s "$TMP/none")" "output with a disabled bucket"
}

test_serial_errors() {
	need_kvm || return
	start_ember || return
	api PUT /serial '{"serial_out_path": "/x", "rate_limiter": {"size": 1}}'
	assert_eq 400 "$STATUS" "bucket without refill_time"
	assert_eq "{\"fault_message\":\"${DE}missing field \`refill_time\` at line 1 column 53.\"}" "$BODY" "body"
	api PUT /serial '{"serial_out_path": "/x", "rate_limiter": {"bandwidth": {"size": 1, "refill_time": 1}}}'
	assert_eq 400 "$STATUS" "a RateLimiter is not a TokenBucket"
	api PUT /serial '{"serial_out_path": "/x", "rate_limit": {}}'
	assert_eq "{\"fault_message\":\"${DE}unknown field \`rate_limit\`, expected \`serial_out_path\` or \`rate_limiter\` at line 1 column 38.\"}" "$BODY" "unknown field"
	api_ok GET /vm/config
	assert_contains "$BODY" '"serial":null' "refusals change nothing"
	# A file that cannot be opened fails the start, not the PUT (as in Firecracker).
	api_ok PUT /serial "{\"serial_out_path\": \"$TMP/no/such/dir/console\"}"
	api_ok PUT /boot-source "{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 ember.test=hello\"}"
	api PUT /actions '{"action_type": "InstanceStart"}'
	assert_eq 400 "$STATUS" "start with an unopenable serial file"
	assert_contains "$BODY" "$TMP/no/such/dir/console" "start error"
	api_ok PUT /serial "{\"serial_out_path\": \"$TMP/console\"}"
	api_ok PUT /boot-source "{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 ember.test=halt-forever\"}"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_for grep -q halting "$TMP/console" || fail "no boot after the failed start"
	api PUT /serial "{\"serial_out_path\": \"$TMP/other\"}"
	assert_eq 400 "$STATUS" "PUT /serial after boot"
}

# The log lines of $TMP/log that contain TEXT.
log_count() { grep -cF -- "$1" "$TMP/log" 2>/dev/null; }

test_logger_module_filter() {
	need_kvm || return
	start_ember || return
	api_ok PUT /logger "{\"log_path\": \"$TMP/log\", \"level\": \"Info\", \"module\": \"firecracker::api_server\"}"
	api_ok GET /version
	boot_guest hello || return
	assert_contains "$(cat "$TMP/log")" 'The API server received a GET request on "/version".' "API lines kept"
	assert_eq 0 "$(log_count 'The microVM is running.')" "VMM lines filtered out"
	assert_eq 0 "$(log_count 'Received reset signal')" "VMM lines filtered out"

	: >"$TMP/log"
	start_ember || return
	api_ok PUT /logger "{\"log_path\": \"$TMP/log\", \"level\": \"Info\", \"module\": \"vmm\"}"
	api_ok GET /version
	# A PUT without module keeps the filter (Firecracker's Logger::update).
	api_ok PUT /logger '{"level": "Info", "show_log_origin": true}'
	boot_guest hello || return
	assert_eq 0 "$(log_count 'on "/version"')" "API lines filtered out"
	assert_contains "$(cat "$TMP/log")" ':vmm/controller/controller.c:' "VMM lines kept, with origin"
	assert_contains "$(cat "$TMP/log")" 'The microVM is running.' "VMM lines kept"
	assert_contains "$(cat "$TMP/log")" 'Received reset signal from the guest' "VMM lines kept"

	# "vmm::devices": only the devices (none logs in a hello boot); "" all again.
	: >"$TMP/log"
	start_ember || return
	api_ok PUT /logger "{\"log_path\": \"$TMP/log\", \"module\": \"vmm::devices\"}"
	api_ok GET /version
	api_ok PUT /logger '{"module": ""}'
	api_ok GET /machine-config
	boot_guest hello || return
	assert_eq 0 "$(log_count 'on "/version"')" "filtered before the reset"
	assert_eq 1 "$(log_count 'on "/machine-config"')" "logged after the reset"
	assert_contains "$(cat "$TMP/log")" 'The microVM is running.' "all modules again"
}

test_log_rate_limit_against_a_flooding_guest() {
	need_kvm || return
	local lines suppressed
	: >"$TMP/metrics"
	start_ember || return
	api_ok PUT /metrics "{\"metrics_path\": \"$TMP/metrics\"}"
	api_ok PUT /logger "{\"log_path\": \"$TMP/log\", \"level\": \"Warning\"}"
	api_ok PUT /entropy '{}'
	boot_guest log-flood || return
	assert_contains "$(cat "$TMP/out")" "log-flood: done" "guest output"
	lines=$(log_count 'ignored register write of the wrong width of 1 bytes at offset 0x0')
	suppressed=$(metric logger rate_limited_log_count)
	assert_eq 500 "$(metric virtio mmio_invalid_access)" "virtio.mmio_invalid_access"
	# Every access was either logged or counted as suppressed.
	assert_eq 500 "$((lines + suppressed))" "logged ($lines) + logger.rate_limited_log_count ($suppressed)"
	# 10 at once, then one per 500 ms: the 1.1 s gaps give 2 or 3 more per burst
	# (a per-device limit of 10 a second alone would have let 50 through).
	[ "$lines" -ge 12 ] && [ "$lines" -le 25 ] || fail "$lines lines logged, expected 12-25"
	assert_contains "$(cat "$TMP/log")" "messages were suppressed due to rate limiting" "summary line"
}

test_huge_pages_as_in_firecracker_1_16() {
	start_ember || return
	api_ok PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64, "huge_pages": "2M"}'
	api_ok GET /machine-config
	assert_contains "$BODY" '"huge_pages":"2M"' "GET /machine-config"
	api_ok GET /vm/config
	assert_contains "$BODY" '"huge_pages":"2M"}' "GET /vm/config"
	# Transparent came after 1.16 (#6003): an unknown variant here, as there.
	api PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64, "huge_pages": "Transparent"}'
	assert_eq "{\"fault_message\":\"${DE}unknown variant \`Transparent\`, expected \`None\` or \`2M\` at line 1 column 65.\"}" "$BODY" "Transparent"
	api PATCH /machine-config '{"huge_pages": "Transparent"}'
	assert_eq 400 "$STATUS" "PATCH Transparent"
	api_ok PATCH /machine-config '{"huge_pages": "None"}'
	api_ok GET /machine-config
	assert_contains "$BODY" '"huge_pages":"None"' "after PATCH"
	# So did huge_pages on snapshot load (#6064).
	api PUT /snapshot/load "{\"snapshot_path\": \"$TMP/s\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$TMP/m\"}, \"huge_pages\": \"2M\"}"
	assert_eq 400 "$STATUS" "snapshot/load huge_pages"
	assert_contains "$BODY" "unknown field \`huge_pages\`" "snapshot/load huge_pages"
}

# Firecracker's VmmConfig keys in order, then Ember's serial: the keys of $1
# must follow this order; each key named in $2.. must be there.
check_vm_config_keys() {
	python3 - "$@" <<'PY'
import json, sys
order = ["balloon", "drives", "boot-source", "cpu-config", "logger", "machine-config",
         "metrics", "mmds-config", "network-interfaces", "vsock", "entropy", "pmem",
         "memory-hotplug", "serial"]
keys = list(json.loads(sys.argv[1]).keys())
pos = [order.index(k) if k in order else -1 for k in keys]
if -1 in pos or pos != sorted(pos):
    sys.exit("keys %s are not in Firecracker's order" % keys)
missing = [k for k in sys.argv[2:] if k not in keys]
if missing:
    sys.exit("missing keys %s" % missing)
PY
}

test_vm_config_keys_and_round_trip() {
	need_kvm || return
	local out
	start_ember || return
	api_ok GET /vm/config
	out=$(check_vm_config_keys "$BODY" drives boot-source cpu-config logger machine-config metrics \
		network-interfaces vsock entropy pmem memory-hotplug serial 2>&1) || fail "$out"
	for kv in '"boot-source":{"kernel_image_path":"","initrd_path":null,"boot_args":null}' \
		'"cpu-config":null' '"logger":null' '"metrics":null' '"pmem":[]' '"memory-hotplug":null'; do
		assert_contains "$BODY" "$kv" "fresh GET /vm/config"
	done
	truncate -s 1M "$TMP/d.img"
	api_ok PUT /logger "{\"log_path\": \"$TMP/log\"}"
	api_ok PUT /drives/root "{\"drive_id\": \"root\", \"path_on_host\": \"$TMP/d.img\", \"is_root_device\": true}"
	api_ok PUT /serial "{\"serial_out_path\": \"$TMP/console\", \"rate_limiter\": {\"size\": 100000, \"refill_time\": 1000}}"
	api_ok PUT /boot-source "{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 reboot=k ember.test=hello\"}"
	api_ok GET /vm/config
	out=$(check_vm_config_keys "$BODY" drives boot-source 2>&1) || fail "$out"
	assert_contains "$BODY" "\"drives\":[{\"drive_id\":\"root\",\"partuuid\":null,\"is_root_device\":true,\"cache_type\":\"Unsafe\",\"is_read_only\":false,\"path_on_host\":\"$TMP/d.img\",\"rate_limiter\":null,\"io_engine\":\"Sync\",\"socket\":null}]" "drives"
	assert_contains "$BODY" '"logger":null' "logger (not a resource in Firecracker)"
	# The output is a config file that boots the same VM.
	printf '%s' "$BODY" >"$TMP/vm.json"
	stop_ember
	"$EMBER" --no-api --config-file "$TMP/vm.json" >"$TMP/out2" 2>>"$TMP/err" </dev/null
	assert_eq 0 "$?" "exit code of the config-file boot"
	assert_contains "$(cat "$TMP/console")" "hello from ember-test-guest" "serial file of the config-file boot"
	# A pmem device is opened at start: a missing file fails the config-file boot.
	python3 - "$TMP/vm.json" "$TMP/pmem.json" <<'PY'
import json, sys
cfg = json.load(open(sys.argv[1]))
cfg["pmem"] = [{"id": "p", "path_on_host": "/p", "root_device": False}]
json.dump(cfg, open(sys.argv[2], "w"))
PY
	"$EMBER" --no-api --config-file "$TMP/pmem.json" >"$TMP/out3" 2>"$TMP/pmem.err" </dev/null
	local rc=$?
	[ "$rc" != 0 ] || fail "a pmem device with a missing file booted"
	assert_contains "$(cat "$TMP/pmem.err")" 'Cannot create pmem device: Error accessing backing file: No such file or directory (os error 2)' "pmem error"
}

run_tests "$@"
