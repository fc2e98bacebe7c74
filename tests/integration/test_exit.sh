#!/usr/bin/env bash
# How a VM ends: the guest's first reset request stops every vCPU at once,
# and a request the VMM accepted is answered before the process exits.
. "$(dirname "$0")/lib.sh"

boot_scenario() { # scenario
	start_ember || return 1
	api_ok PUT /logger "{\"log_path\": \"$TMP/ember.log\", \"level\": \"Info\"}"
	api_ok PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 128}'
	api_ok PUT /boot-source "{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 ember.test=$1\"}"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
}

# The guest asks for a reset in a loop, printing a line after each request
# that returns: the VMM must halt the vCPU on the first one.
test_first_reset_request_stops_the_vcpus() {
	need_kvm || return
	boot_scenario reset-storm || return
	wait_exit 30 || { fail "the VM did not end"; return; }
	assert_eq 0 "$EXIT_CODE" "exit code"
	assert_contains "$(cat "$TMP/out")" "reset-storm: first" "serial output"
	assert_not_contains "$(cat "$TMP/out")" "reset-storm: again" "serial output"
	assert_eq 1 "$(grep -c 'Received reset signal' "$TMP/ember.log")" "reset signals logged"
}

# SendCtrlAltDel makes this guest reset at once: the 204 must still arrive,
# and before the exit is logged. Several rounds: the window is short.
test_ctrl_alt_del_is_answered_before_exit() {
	need_kvm || return
	local round code
	for round in 1 2 3 4 5; do
		boot_scenario ctrl-alt-del || return
		wait_for grep -q "ctrl-alt-del: ready" "$TMP/out" || { fail "round $round: guest never became ready"; return; }
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 --unix-socket "$SOCK" \
			-X PUT http://localhost/actions -d '{"action_type": "SendCtrlAltDel"}')
		assert_eq 204 "$code" "round $round: SendCtrlAltDel status" || return
		wait_exit 30 || { fail "round $round: the VM did not end"; return; }
		assert_eq 0 "$EXIT_CODE" "round $round: exit code" || return
		rm -f "$TMP/out" "$TMP/err" "$TMP/ember.log" "$SOCK"
	done
}

run_tests "$@"
