#!/usr/bin/env bash
# The README's jailer example, run as printed: the ```sh block of its
# "Jailer and seccomp" section is extracted and run with bash -e (as root,
# under a time limit), from the source tree (or, for another build dir, from a
# scratch dir whose build/ points at it). It must boot the test guest inside
# the jail with nothing copied in but what the README copies (a static ember
# needs no libraries) and print the guest's greeting from the jail's serial
# log. It uses the README's own paths (/srv/jailer, id vm1): a jail there that
# a running process uses is left alone (the case skips); a leftover is removed.
. "$(dirname "$0")/lib.sh"

JAIL_DIR=/srv/jailer/ember/vm1

# The first ```sh block after the "## Jailer and seccomp" heading.
readme_block() {
	awk '/^## Jailer and seccomp/ { sec = 1; next }
	     sec && /^## / { exit }
	     sec && !inb && /^```sh/ { inb = 1; next }
	     inb && /^```/ { exit }
	     inb { print }' "$ROOT/README.md"
}

# Processes whose root directory is inside the README's jail.
jail_users() {
	local p r
	for p in /proc/[0-9]*; do
		r=$(readlink "$p/root" 2>/dev/null) || continue
		case $r in "$JAIL_DIR"/*) echo "${p#/proc/}" ;; esac
	done
}

test_readme_jailer_example_boots_the_test_guest() {
	need_root || return 0
	need_kvm || return 0
	[ -x "$BUILD/ember-jailer" ] || { skip "no $BUILD/ember-jailer (run make)"; return 0; }
	[ -x "$EMBER" ] || { skip "no $EMBER (run make)"; return 0; }
	[ -f "$GUEST_ELF" ] || { skip "no test guest at $GUEST_ELF"; return 0; }
	if ldd "$EMBER" 2>/dev/null | grep -q libasan; then
		skip "sanitizer builds of ember need /proc at exit (LeakSanitizer), which the jail does not have"
		return 0
	fi
	if ! ldd "$EMBER" 2>&1 | grep -q 'not a dynamic executable'; then
		skip "$EMBER is dynamically linked (STATIC=0): the README's jail holds no libraries"
		return 0
	fi
	command -v curl >/dev/null || { fail "curl not installed"; return 0; }
	local block users wd rc pid made_base=0
	block=$(readme_block)
	[ -n "$block" ] || { fail "no sh block in the README's jailer section"; return 0; }
	assert_contains "$block" "build/ember-jailer" "README block"
	users=$(jail_users)
	if [ -n "$users" ]; then
		skip "$JAIL_DIR is in use (pids $users)"
		return 0
	fi
	rm -rf "$JAIL_DIR"
	[ -d /srv/jailer ] || made_base=1

	printf '%s\n' "$block" >"$TMP/readme.sh"
	if [ "$BUILD" = "$ROOT/build" ]; then
		wd=$ROOT
	else
		wd=$TMP/wd
		mkdir -p "$wd"
		ln -s "$BUILD" "$wd/build"
	fi
	(cd "$wd" && timeout -k 5 60 bash -e "$TMP/readme.sh") >"$TMP/out" 2>"$TMP/err" </dev/null
	rc=$?
	if [ $rc = 124 ] || [ $rc = 137 ]; then
		fail "the README block did not finish within 60 s"
	else
		assert_eq 0 "$rc" "README block exit status"
	fi
	assert_contains "$(cat "$TMP/out")" "hello from ember-test-guest" "serial log printed by the README block"
	assert_not_contains "$(cat "$TMP/out")" "fault_message" "API answers"

	# Whatever the outcome: no ember left running, no jail left behind.
	for pid in $(jail_users); do kill -9 "$pid" 2>/dev/null; done
	[ -d "$JAIL_DIR" ] && { [ $rc != 0 ] || fail "the README block left $JAIL_DIR"; rm -rf "$JAIL_DIR"; }
	if [ $made_base = 1 ]; then
		rmdir /srv/jailer/ember /srv/jailer 2>/dev/null
	fi
	return 0
}

run_tests "$@"
