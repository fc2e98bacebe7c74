#!/usr/bin/env bash
# The REST API of the real ember binary, through curl on the real socket:
# every endpoint's success and error answers (Firecracker's texts), headers,
# the pre-/post-boot rules on a booted guest, GET /vm/config, the payload
# limit and the config file. Every response is logged for the OpenAPI check.
. "$(dirname "$0")/lib.sh"

DE='An error occurred when deserializing the json body of a request: '
POST_BOOT='The requested operation is not supported after starting the microVM.'
PRE_BOOT='The requested operation is not supported before starting the microVM.'

# expect_fault METHOD PATH JSON|- MESSAGE: a 400 whose body is exactly {"fault_message": MESSAGE}.
expect_fault() {
	if [ "$3" = - ]; then api "$1" "$2"; else api "$1" "$2" "$3"; fi
	assert_eq 400 "$STATUS" "$1 $2 status"
	assert_eq "{\"fault_message\":\"$4\"}" "$BODY" "$1 $2 body"
}

# A booted guest that stays up: the test guest halts forever with interrupts off.
boot_halting_guest() {
	api_ok PUT /boot-source "{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 ember.test=halt-forever\"}"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_for grep -q halting "$TMP/out" || { fail "guest did not reach halt: $(cat "$TMP/out")"; return 1; }
}

test_instance_info_version_and_headers() {
	start_ember --id api-test-1 || return
	api_ok GET /
	assert_eq '{"id":"api-test-1","state":"Not started","vmm_version":"'"$($EMBER --version | sed 's/^Ember v//')"'","app_name":"Firecracker"}' "$BODY" "GET /"
	assert_contains "$HEADERS" "Server: Firecracker API" "GET / headers"
	assert_contains "$HEADERS" "Content-Type: application/json" "GET / headers"
	api_ok GET /version
	assert_contains "$BODY" '{"firecracker_version":"' "GET /version"
	api_ok PUT /serial '{}'
	assert_contains "$HEADERS" "HTTP/1.1 204" "PUT /serial status line"
	assert_contains "$HEADERS" "Server: Firecracker API" "204 headers"
	assert_not_contains "$HEADERS" "Content-Type" "204 headers"
	assert_eq "" "$BODY" "204 body"
}

test_machine_config_put_patch_get() {
	start_ember || return
	api_ok GET /machine-config
	assert_eq '{"vcpu_count":1,"mem_size_mib":128,"smt":false,"track_dirty_pages":false,"huge_pages":"None"}' "$BODY" "defaults"
	api_ok PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 256, "smt": true, "track_dirty_pages": true}'
	api_ok PATCH /machine-config '{"mem_size_mib": 512}'
	api_ok GET /machine-config
	assert_eq '{"vcpu_count":2,"mem_size_mib":512,"smt":true,"track_dirty_pages":true,"huge_pages":"None"}' "$BODY" "after PUT+PATCH"
	# PUT resets everything it does not name.
	api_ok PUT /machine-config '{"vcpu_count": 3, "mem_size_mib": 64}'
	api_ok GET /machine-config
	assert_eq '{"vcpu_count":3,"mem_size_mib":64,"smt":false,"track_dirty_pages":false,"huge_pages":"None"}' "$BODY" "after second PUT"
	# The deprecated field works and says so.
	api_ok PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 64, "cpu_template": "T2"}'
	assert_contains "$HEADERS" "Deprecation: true" "cpu_template headers"
	api_ok GET /machine-config
	assert_eq '{"vcpu_count":2,"mem_size_mib":64,"smt":false,"cpu_template":"T2","track_dirty_pages":false,"huge_pages":"None"}' "$BODY" "with template"
}

test_machine_config_errors_change_nothing() {
	start_ember || return
	api_ok PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 256}'
	local vcpus='Machine config error: The number of vCPUs must be greater than 0, less than 32 and must be 1 or an even number if SMT is enabled.'
	expect_fault PUT /machine-config '{"vcpu_count": 0, "mem_size_mib": 256}' "$vcpus"
	expect_fault PUT /machine-config '{"vcpu_count": 33, "mem_size_mib": 256}' "$vcpus"
	expect_fault PATCH /machine-config '{"vcpu_count": 3, "smt": true}' "$vcpus"
	expect_fault PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 0}' \
		'Machine config error: The memory size (MiB) is either 0, or not a multiple of the configured page size.'
	expect_fault PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 3, "huge_pages": "2M"}' \
		'Machine config error: The memory size (MiB) is either 0, or not a multiple of the configured page size.'
	expect_fault PUT /machine-config '{"vcpu_count": 2, "mem_size": 256}' \
		"${DE}unknown field \`mem_size\`, expected one of \`vcpu_count\`, \`mem_size_mib\`, \`smt\`, \`cpu_template\`, \`track_dirty_pages\`, \`huge_pages\` at line 1 column 28."
	expect_fault PUT /machine-config '{"vcpu_count": 2}' "${DE}missing field \`mem_size_mib\` at line 1 column 17."
	expect_fault PUT /machine-config '{"vcpu_count": "2", "mem_size_mib": 1}' \
		"${DE}invalid type: string \\\"2\\\", expected u8 at line 1 column 18."
	expect_fault PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 1, "huge_pages": "1G"}' \
		"${DE}unknown variant \`1G\`, expected \`None\` or \`2M\` at line 1 column 55."
	expect_fault PATCH /machine-config '{}' 'Empty PATCH request.'
	expect_fault PATCH /machine-config - 'Empty PATCH request.'
	expect_fault PUT /machine-config - 'Empty PUT request.'
	expect_fault PUT /machine-config '{"vcpu_count": 2,' "${DE}EOF while parsing a value at line 1 column 17."
	api_ok GET /machine-config
	assert_eq '{"vcpu_count":2,"mem_size_mib":256,"smt":false,"track_dirty_pages":false,"huge_pages":"None"}' "$BODY" "unchanged"
}

test_boot_source_and_vm_config() {
	start_ember || return
	api_ok GET /vm/config
	# Key by key (test_api_surface.sh checks the keys and their order).
	for kv in '"drives":[]' '"boot-source":{"kernel_image_path":"","initrd_path":null,"boot_args":null}' \
		'"cpu-config":null' '"logger":null' \
		'"machine-config":{"vcpu_count":1,"mem_size_mib":128,"smt":false,"track_dirty_pages":false,"huge_pages":"None"}' \
		'"metrics":null' '"network-interfaces":[]' '"vsock":null' '"entropy":null' '"pmem":[]' \
		'"memory-hotplug":null' '"serial":null}'; do
		assert_contains "$BODY" "$kv" "empty config"
	done
	expect_fault PUT /boot-source "{\"kernel_image_path\": \"$TMP/none\"}" \
		'Boot source error: The kernel file cannot be opened: No such file or directory (os error 2)'
	expect_fault PUT /boot-source "{\"kernel_image_path\": \"$GUEST_ELF\", \"initrd_path\": \"$TMP/none\"}" \
		'Boot source error: The initrd file cannot be opened due to invalid path or invalid permissions. No such file or directory (os error 2)'
	expect_fault PUT /boot-source "{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"$(head -c 2048 /dev/zero | tr '\0' a)\"}" \
		'Boot source error: The kernel command line is invalid: Inserting string would make command line too long.'
	expect_fault PUT /boot-source '{"boot_args": "x"}' "${DE}missing field \`kernel_image_path\` at line 1 column 18."
	api GET /vm/config
	assert_contains "$BODY" '"boot-source":{"kernel_image_path":"","initrd_path":null,"boot_args":null}' "after refused boot sources"
	api_ok PUT /boot-source "{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0\"}"
	api_ok PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 64}'
	api_ok PUT /serial "{\"serial_out_path\": \"$TMP/console\"}"
	api_ok GET /vm/config
	assert_contains "$BODY" "\"boot-source\":{\"kernel_image_path\":\"$GUEST_ELF\",\"initrd_path\":null,\"boot_args\":\"console=ttyS0\"},\"cpu-config\":null," "GET /vm/config"
	assert_contains "$BODY" '"machine-config":{"vcpu_count":2,"mem_size_mib":64,"smt":false,"track_dirty_pages":false,"huge_pages":"None"},' "GET /vm/config"
	assert_contains "$BODY" "\"serial\":{\"serial_out_path\":\"$TMP/console\",\"rate_limiter\":null}}" "GET /vm/config"
}

test_logger_and_metrics() {
	start_ember || return
	expect_fault PUT /logger '{"level": "Loud"}' "${DE}Invalid LevelFilter at line 1 column 16."
	expect_fault PUT /logger "{\"log_path\": \"$TMP/no/such/dir/log\"}" \
		'Logger error: Failed to open target file: No such file or directory (os error 2)'
	api_ok PUT /logger "{\"log_path\": \"$TMP/ember.log\", \"level\": \"debug\", \"show_level\": true}"
	api_ok GET /version
	assert_contains "$(cat "$TMP/ember.log" 2>/dev/null)" 'The API server received a GET request on "/version".' "log file"
	expect_fault PUT /metrics "{\"metrics_path\": \"$TMP/no/such/dir/metrics\"}" \
		'Metrics error: Cannot initialize the metrics system due to bad user input: No such file or directory (os error 2)'
	# A missing file is created, as Firecracker's open_file_nonblock does.
	api_ok PUT /metrics "{\"metrics_path\": \"$TMP/metrics\"}"
	[ -f "$TMP/metrics" ] || fail "PUT /metrics did not create $TMP/metrics"
	expect_fault PUT /metrics "{\"metrics_path\": \"$TMP/metrics\"}" \
		'Metrics error: Cannot initialize the metrics system due to bad user input: Reinitialization of metrics not allowed.'
	# As in Firecracker, GET /vm/config does not report the logger or the metrics.
	api_ok GET /vm/config
	assert_contains "$BODY" '"logger":null,' "logger in config"
	assert_contains "$BODY" '"metrics":null,' "metrics in config"
}

test_pre_boot_and_post_boot_rules() {
	need_kvm || return
	start_ember || return
	expect_fault PATCH /vm '{"state": "Paused"}' "$PRE_BOOT"
	expect_fault PUT /actions '{"action_type": "FlushMetrics"}' "$PRE_BOOT"
	expect_fault PUT /actions '{"action_type": "SendCtrlAltDel"}' "$PRE_BOOT"
	expect_fault PUT /actions '{"action_type": "InstanceStart"}' \
		'Start microvm error: Cannot start microvm without kernel configuration.'
	api_ok PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}'
	boot_halting_guest || return
	api_ok GET /
	assert_contains "$BODY" '"state":"Running"' "GET / after boot"
	expect_fault PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 64}' "$POST_BOOT"
	expect_fault PATCH /machine-config '{"mem_size_mib": 128}' "$POST_BOOT"
	expect_fault PUT /boot-source "{\"kernel_image_path\": \"$GUEST_ELF\"}" "$POST_BOOT"
	expect_fault PUT /logger '{"level": "Debug"}' "$POST_BOOT"
	expect_fault PUT /metrics "{\"metrics_path\": \"$TMP/m\"}" "$POST_BOOT"
	expect_fault PUT /serial '{}' "$POST_BOOT"
	expect_fault PUT /actions '{"action_type": "InstanceStart"}' "$POST_BOOT"
	# Body errors are still reported as such after boot.
	expect_fault PUT /machine-config '{"vcpus": 1}' \
		"${DE}unknown field \`vcpus\`, expected one of \`vcpu_count\`, \`mem_size_mib\`, \`smt\`, \`cpu_template\`, \`track_dirty_pages\`, \`huge_pages\` at line 1 column 8."
	api_ok GET /machine-config
	assert_contains "$BODY" '"vcpu_count":1,"mem_size_mib":64' "machine config after boot"
	api_ok PUT /actions '{"action_type": "FlushMetrics"}'
	api_ok PATCH /vm '{"state": "Paused"}'
	api_ok PATCH /vm '{"state": "Paused"}'
	api GET /
	assert_contains "$BODY" '"state":"Paused"' "GET / paused"
	api_ok PATCH /vm '{"state": "Resumed"}'
	api GET /
	assert_contains "$BODY" '"state":"Running"' "GET / resumed"
	expect_fault PATCH /vm '{"state": "Stopped"}' \
		"${DE}unknown variant \`Stopped\`, expected \`Paused\` or \`Resumed\` at line 1 column 19."
	api_ok GET /vm/config
	assert_contains "$BODY" "\"kernel_image_path\":\"$GUEST_ELF\"" "config after boot"
	kill -0 "$EMBER_PID" 2>/dev/null || fail "ember died"
}

test_flush_metrics_writes_a_line() {
	need_kvm || return
	start_ember || return
	: >"$TMP/metrics"
	api_ok PUT /metrics "{\"metrics_path\": \"$TMP/metrics\"}"
	api_ok PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}'
	boot_halting_guest || return
	api_ok PUT /actions '{"action_type": "FlushMetrics"}'
	local line; line=$(tail -n 1 "$TMP/metrics")
	assert_contains "$line" '{"utc_timestamp_ms":' "metrics line"
	# Two PUTs on /metrics, /machine-config, /boot-source, /actions each (the flush counts itself).
	assert_contains "$line" '"put_api_requests":{"actions_count":2,"actions_fails":0,"boot_source_count":1,' "metrics line"
	assert_contains "$line" '"machine_cfg_count":1,"machine_cfg_fails":0,"metrics_count":1' "metrics line"
}

test_unknown_paths_and_methods() {
	start_ember || return
	expect_fault GET /foo/bar - 'Invalid request method and/or path: GET foo.'
	expect_fault GET /vm - 'Invalid request method and/or path: GET vm.'
	expect_fault DELETE /balloon - 'Invalid request method and/or path: DELETE balloon.'
	expect_fault PATCH /boot-source '{}' 'Invalid request method and/or path: PATCH boot-source.'
	expect_fault PUT /nothing - 'Empty PUT request.'
	expect_fault GET / '{}' 'GET request cannot have a body.'
	expect_fault DELETE /machine-config - 'Invalid request method and/or path: DELETE machine-config.'
	api POST /machine-config
	assert_eq 400 "$STATUS" "POST status"
	assert_eq "$(printf '{ "error": "Invalid HTTP Method: Unsupported HTTP method.\nAll previous unanswered requests will be dropped." }')" "$BODY" "POST body"
	api_ok GET /
}

test_payload_limit() {
	start_ember --http-api-max-payload-size 100 || return
	local big; big="{\"kernel_image_path\": \"$(head -c 120 /dev/zero | tr '\0' k)\"}"
	api PUT /boot-source "$big"
	assert_eq 400 "$STATUS" "oversized body"
	assert_eq "$(printf '{ "error": "Request payload with size %s is larger than the limit of 100 allowed by server.\nAll previous unanswered requests will be dropped." }' ${#big})" "$BODY" "oversized body"
	api_ok PUT /serial "{\"serial_out_path\": \"$TMP/console\"}"
}

test_config_file_with_api() {
	need_kvm || return
	cat >"$TMP/vm.json" <<JSON
{
  "boot-source": {"kernel_image_path": "$GUEST_ELF", "boot_args": "console=ttyS0 ember.test=halt-forever"},
  "machine-config": {"vcpu_count": 2, "mem_size_mib": 64},
  "logger": {"log_path": "$TMP/ember.log", "level": "Info"},
  "serial": {"serial_out_path": "$TMP/console"}
}
JSON
	: >"$TMP/ember.log"
	start_ember --config-file "$TMP/vm.json" || return
	wait_for grep -q halting "$TMP/console" || { fail "guest did not boot from the config file"; return; }
	api_ok GET /
	assert_contains "$BODY" '"state":"Running"' "GET / after config-file boot"
	api_ok GET /vm/config
	assert_contains "$BODY" "\"boot-source\":{\"kernel_image_path\":\"$GUEST_ELF\",\"initrd_path\":null,\"boot_args\":\"console=ttyS0 ember.test=halt-forever\"},\"cpu-config\":null,\"logger\":null," "GET /vm/config"
	assert_contains "$BODY" '"machine-config":{"vcpu_count":2,"mem_size_mib":64,"smt":false,"track_dirty_pages":false,"huge_pages":"None"},' "GET /vm/config"
	assert_contains "$BODY" "\"serial\":{\"serial_out_path\":\"$TMP/console\",\"rate_limiter\":null}}" "GET /vm/config"
	expect_fault PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}' "$POST_BOOT"
}

test_config_file_errors() {
	printf '{\n  "boot-source": {"kernel_image_path": "/k"},\n  "bogus": {}\n}\n' >"$TMP/bad.json"
	"$EMBER" --no-api --config-file "$TMP/bad.json" >"$TMP/out" 2>"$TMP/err" </dev/null
	assert_eq 152 "$?" "exit code"
	assert_contains "$(cat "$TMP/err")" \
		'Configuration for VMM from one single json failed: Invalid JSON: unknown field `bogus`, expected one of `balloon`, `drives`, `boot-source`, `cpu-config`, `logger`, `machine-config`, `metrics`, `mmds-config`, `network-interfaces`, `vsock`, `entropy`, `pmem`, `memory-hotplug`, `serial` at line 3 column 9' \
		"error message"
}

run_tests "$@"
