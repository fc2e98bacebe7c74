#!/usr/bin/env bash
# Firecracker's own Go SDK drives Ember unchanged (tests/sdk: the SDK client,
# pinned in tests/sdk/go.mod), here with the tiny test guest: boot with a
# root drive, a second drive, a network interface on a tap that MMDS V2
# serves (AllowMMDS; SetMetadata, UpdateMetadata, GetMetadata) and a vsock
# device, the SDK's calls on the running VM, pause/snapshot/resume, Shutdown (Ctrl-Alt-Del) and
# Wait; a snapshot restored through WithSnapshot; the SDK's own command line
# (--id, --no-seccomp) with its logger and metrics FIFOs; the SDK's jailer
# mode with ember-jailer; Ember's errors as the SDK's typed errors. The client prints "ok: <check>" per check and
# "FAIL: <why>" at the first failure.
. "$(dirname "$0")/lib.sh"

SDK_TEST=$BUILD/tests/sdk/ember-sdk-test
NS=""

need_sdk() {
	need_kvm || return 1
	[ -x "$SDK_TEST" ] || { skip "no Go SDK client $SDK_TEST (built by make where 'go' is installed)"; return 1; }
}

drop_ns() { [ -n "$NS" ] && ip netns del "$NS" 2>/dev/null; NS=""; }
trap drop_ns EXIT
# A tap in a fresh network namespace (the client, and so ember, run there).
make_ns() {
	NS=ember-sdk-$$-$RANDOM
	ip netns add "$NS" && ip -n "$NS" link set lo up &&
		ip -n "$NS" tuntap add dev tap0 mode tap && ip -n "$NS" link set tap0 up ||
		{ fail "netns/tap setup failed"; return 1; }
}

# sdk CASE [ARGS]: run the client's CASE against the tiny guest (in the
# netns with -tap tap0 when one is up); fails with its FAIL line.
sdk() {
	local c=$1 wrap=()
	shift
	truncate -s 1M "$TMP/root.img" "$TMP/data1.img" "$TMP/data2.img"
	printf 'SECOND-BACKING-2' | dd of="$TMP/data2.img" conv=notrunc status=none
	[ -n "$NS" ] && wrap=(ip netns exec "$NS") && set -- -tap tap0 "$@"
	# The SDK's own knobs: its 500 ms request default is tight for a
	# sanitizer build on a busy machine.
	FIRECRACKER_GO_SDK_REQUEST_TIMEOUT_MILLISECONDS=10000 FIRECRACKER_GO_SDK_INIT_TIMEOUT_SECONDS=10 \
		"${wrap[@]}" "$SDK_TEST" -ember "$EMBER" -dir "$TMP" -guest tiny -kernel "$GUEST_ELF" \
		-root "$TMP/root.img" -data "$TMP/data1.img" -data2 "$TMP/data2.img" -timeout 20 "$@" "$c" \
		>"$TMP/sdk.out" 2>&1
	SDK_RC=$?
	SDK_OUT=$(cat "$TMP/sdk.out")
	if [ "$SDK_RC" != 0 ]; then
		fail "ember-sdk-test $c: exit $SDK_RC: $(sed -n '/^FAIL:/,$p' "$TMP/sdk.out" | tr '\n' ' ' | cut -c1-600)"
		local f
		# Shown after the FAIL line (run_tests prints $TMP/err's tail).
		for f in "$TMP"/*.err; do [ -f "$f" ] && echo "${f##*/}:" && tail -n 5 "$f"; done >>"$TMP/err"
		return 1
	fi
	assert_contains "$SDK_OUT" PASSED "ember-sdk-test $c output"
}

test_lifecycle_with_drives_and_tap() {
	need_sdk || return
	need_root || return
	make_ns || { drop_ns; return; }
	sdk lifecycle
	drop_ns
	[ -z "$_fail_msg" ] || return
	assert_contains "$SDK_OUT" "ok: UpdateGuestNetworkInterfaceRateLimit"
	assert_contains "$SDK_OUT" "ok: a: Shutdown, then Wait returned nil (exit 0)"
	assert_contains "$(cat "$TMP/a.console")" "ctrl-alt-del: received" "guest console"
	assert_contains "$SDK_OUT" "ok: the log through the FIFO shows the PATCH request"
}

test_snapshot_restored_with_sdk() {
	need_sdk || return
	need_root || return
	make_ns || { drop_ns; return; }
	sdk restore
	drop_ns
	[ -z "$_fail_msg" ] || return
	assert_contains "$(cat "$TMP/b.console")" "ctrl-alt-del: received" "restored guest's console"
	assert_not_contains "$(cat "$TMP/a.console")" "ctrl-alt-del: received" "first guest's console"
	assert_contains "$(cat "$TMP/b.err")" 'PUT request on "/snapshot/load"' "second ember's stderr"
}

test_sdk_default_command_line() {
	need_sdk || return
	sdk default-command
	[ -z "$_fail_msg" ] || return
	assert_contains "$SDK_OUT" "ember accepted --api-sock, --id, --no-seccomp"
	assert_contains "$SDK_OUT" "ember ended by SIGTERM"
}

# The SDK's jailer mode with ember-jailer as its jailer binary (the jail has
# no libraries: a static ember only, not a sanitizer build).
test_sdk_jailer_mode() {
	need_sdk || return
	need_root || return
	ldd "$EMBER" 2>&1 | grep -q 'not a dynamic executable' ||
		{ skip "ember is dynamically linked (sanitizer build): the jail has no libraries"; return; }
	sdk jailer -jailer "$BUILD/ember-jailer"
	[ -z "$_fail_msg" ] || return
	assert_contains "$SDK_OUT" "ok: ember runs as uid 4321 with $TMP/jail/ember/"
	assert_contains "$(cat "$TMP/a.console")" "ctrl-alt-del: received" "jailed guest's console"
}

test_errors_are_sdk_typed_errors() {
	need_sdk || return
	sdk errors
	[ -z "$_fail_msg" ] || return
	assert_eq 6 "$(grep -c 'BadRequest, fault_message' "$TMP/sdk.out")" "typed 400s decoded by the SDK"
}

run_tests "$@"
