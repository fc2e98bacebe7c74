#!/usr/bin/env bash
# Firecracker's own Go SDK (tests/sdk, pinned in tests/sdk/go.mod) drives
# Ember with a real Linux guest: firecracker.NewMachine with the kernel,
# initramfs, the read-only root drive, a second drive and a network interface
# on a tap in a network namespace; m.Start; the SDK's calls on the running VM
# (instance info, machine and VM config, PATCH drive - the guest reads the new
# backing file -, PATCH network interface - the guest's eth0 has the MAC and
# pings the tap -, FlushMetrics, pause/snapshot/resume); Shutdown
# (Ctrl-Alt-Del) and Wait = exit 0. Then a snapshot restored by a second ember
# through the SDK's WithSnapshot answers on its console and shuts down.
# The SDK's console (ember's stdin/stdout) talks to guest/init's command
# server (scenario cmd).
. "$(dirname "$0")/lib.sh"

SDK_TEST=$BUILD/tests/sdk/ember-sdk-test
GUEST_MAC=06:00:ac:10:00:02
GUEST_IP=172.16.0.2
HOST_IP=172.16.0.1
NS=""

drop_ns() { [ -n "$NS" ] && ip netns del "$NS" 2>/dev/null; NS=""; }
trap drop_ns EXIT
make_ns() {
	NS=ember-lnx-sdk-$$-$RANDOM
	ip netns add "$NS" && ip -n "$NS" link set lo up &&
		ip -n "$NS" tuntap add dev tap0 mode tap &&
		ip -n "$NS" addr add "$HOST_IP/24" dev tap0 && ip -n "$NS" link set tap0 up ||
		{ fail "netns/tap setup failed"; return 1; }
}

need_sdk() {
	need_linux || return 1
	need_root || return 1
	[ -x "$SDK_TEST" ] || { skip "no Go SDK client $SDK_TEST (built by make where 'go' is installed)"; return 1; }
}

# sdk_linux CASE: the client's CASE with the Linux guest in the netns, within
# the case's budget (the client kills its VMMs when that runs out).
sdk_linux() {
	local c=$1 budget=$((CASE_END - SECONDS))
	raw() { truncate -s 1M "$1"; printf '%s' "$2" | dd of="$1" conv=notrunc status=none; }
	raw "$TMP/data1.img" "FIRST-BACKING-01"
	raw "$TMP/data2.img" "SECOND-BACKING-2"
	make_ns || return 1
	# The SDK's own timeouts (500 ms per request, 3 s for the socket by
	# default) through its environment: the nested host runs everything
	# emulated, and a snapshot writes the guest's memory.
	FIRECRACKER_GO_SDK_REQUEST_TIMEOUT_MILLISECONDS=$((LTIMEOUT * 1000)) \
		FIRECRACKER_GO_SDK_INIT_TIMEOUT_SECONDS=$LTIMEOUT \
		timeout -k 10 $((budget + 30)) ip netns exec "$NS" "$SDK_TEST" -ember "$EMBER" -dir "$TMP" \
		-guest linux -kernel "$VMLINUX" -initrd "$INITRD" -args "$BASE_ARGS" -root "$ROOTFS" \
		-data "$TMP/data1.img" -data2 "$TMP/data2.img" -tap tap0 -mac "$GUEST_MAC" \
		-guest-ip "$GUEST_IP" -host-ip "$HOST_IP" -timeout "$LTIMEOUT" -budget "$budget" "$c" \
		>"$TMP/sdk.out" 2>&1
	SDK_RC=$?
	SDK_OUT=$(cat "$TMP/sdk.out")
	drop_ns
	if [ -n "${EMBER_LINUX_KEEP:-}" ]; then
		mkdir -p "$EMBER_LINUX_KEEP/$SCRIPT_NAME.$c" &&
			cp "$TMP"/sdk.out "$TMP"/*.console "$TMP"/*.err "$TMP"/*.sdk.log "$EMBER_LINUX_KEEP/$SCRIPT_NAME.$c/" 2>/dev/null
	fi
	if [ "$SDK_RC" != 0 ]; then
		fail "ember-sdk-test $c: exit $SDK_RC: $(sed -n '/^FAIL:/,$p' "$TMP/sdk.out" | tr '\n' ' ' | cut -c1-600) console: $(tr -d '\r' <"$TMP/a.console" 2>/dev/null | tail -n 3 | tr '\n' '|')"
		return 1
	fi
	assert_contains "$SDK_OUT" PASSED "ember-sdk-test $c output"
	if grep -qsE 'Sanitizer|runtime error:' "$TMP"/*.err; then
		fail "sanitizer report in an ember's stderr: $(grep -lsE 'Sanitizer|runtime error:' "$TMP"/*.err)"
	fi
}

test_sdk_boot_devices_snapshot_shutdown() {
	need_sdk || return
	sdk_linux lifecycle || return
	assert_contains "$SDK_OUT" 'ok: the guest reads the new drive'"'"'s bytes "SECOND-BACKING-2"'
	assert_contains "$SDK_OUT" "ok: the guest's eth0 has MAC $GUEST_MAC and pings the host's tap"
	assert_contains "$SDK_OUT" "ok: the guest answers after ResumeVM"
	assert_contains "$SDK_OUT" "ok: a: Shutdown, then Wait returned nil (exit 0)"
}

test_sdk_snapshot_restore() {
	need_sdk || return
	sdk_linux restore || return
	assert_contains "$SDK_OUT" "ok: b: the restored guest answers on its console"
	assert_contains "$SDK_OUT" "ok: b: Shutdown, then Wait returned nil (exit 0)"
	assert_contains "$(cat "$TMP/b.err")" 'PUT request on "/snapshot/load"' "second ember's stderr"
}

run_linux_tests "$@"
