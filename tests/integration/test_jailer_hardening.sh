#!/usr/bin/env bash
# ember-jailer against a chroot base someone else can write to (issue #8,
# defect 7): a directory of the jail's path that another uid owns, or that
# its group or others may write to, is refused before anything is made or
# chowned below it; a run that fails after handing pre-existing jail
# directories to the jail's uid gives them back their owner and mode; and
# control characters in what the jailer reports are escaped.
# Uses tests/integration/jail_probe.c (built statically, as test_jailer.sh).
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/jail_lib.sh"

ID="" BASE="" JAIL=""

jh_setup() {
	need_root || return 1
	[ -x "$JAILER" ] || { skip "no $JAILER (run make)"; return 1; }
	[ -n "$PROBE" ] || { skip "cannot build a static jail_probe (gcc -static failed)"; return 1; }
	ID=jh-$$-$RANDOM
	BASE=$TMP/base
	mkdir -p "$BASE"
	JAIL=$BASE/jail_probe/$ID/root
}

# jail ARGS...: one jailer run with the probe (which exits at once); sets RC, ERR.
jail() {
	"$JAILER" --id "$ID" --exec-file "$PROBE" --uid $JT_UID --gid $JT_GID \
		--chroot-base-dir "$BASE" "$@" -- --no-wait >"$TMP/out" 2>"$TMP/err" </dev/null
	RC=$?
	ERR=$(cat "$TMP/err")
}

owner_mode() { stat -c '%a %u:%g' "$1"; }

# A foreign-owned directory at each level of <base>/<exec>/<id>/root.
test_foreign_owned_directory_is_refused() {
	jh_setup || return 0
	local dir
	for dir in "$BASE/jail_probe" "$BASE/jail_probe/$ID" "$JAIL"; do
		rm -rf "$BASE/jail_probe"
		mkdir -p "$dir"
		chown $JT_UID:$JT_GID "$dir"
		jail
		[ "$RC" != 0 ] || fail "a jail under $dir, owned by uid $JT_UID, was built"
		assert_contains "$ERR" "refusing to use $dir: it is owned by uid $JT_UID, not root" \
			"error for $dir"
		assert_eq "755 $JT_UID:$JT_GID" "$(owner_mode "$dir")" "$dir afterwards"
		[ -e "$JAIL/jail_probe" ] && fail "the binary was copied below $dir"
		[ -e "$JAIL/dev" ] && fail "a jail was built below $dir"
	done
}

test_group_or_other_writable_directory_is_refused() {
	jh_setup || return 0
	local mode
	mkdir -p "$BASE/jail_probe/$ID"
	for mode in 775 757 1777; do
		chmod "$mode" "$BASE/jail_probe/$ID"
		jail
		[ "$RC" != 0 ] || fail "a jail under a directory of mode $mode was built"
		assert_contains "$ERR" "refusing to use $BASE/jail_probe/$ID: it is writable by its group or others" \
			"error for mode $mode"
		[ -e "$JAIL" ] && fail "the jail root was made below a directory of mode $mode"
	done
	# Root's and writable by root alone: the run goes through.
	chmod 755 "$BASE/jail_probe/$ID"
	jail
	assert_eq 0 "$RC" "jailer exit code under a 0755 root-owned directory ($ERR)"
	assert_contains "$(cat "$TMP/out")" "argv[2]=$ID" "probe output"
}

# The jail root and /dev existed (root's); the run fails after the jail's
# directories were handed to uid:gid (its pid file exists): they are root's again.
test_failed_run_restores_owner_and_mode() {
	jh_setup || return 0
	mkdir -p "$JAIL/dev"
	chmod 751 "$JAIL"
	chmod 710 "$JAIL/dev"
	touch "$JAIL/jail_probe.pid"
	jail
	[ "$RC" != 0 ] || fail "the run succeeded despite an existing pid file"
	assert_contains "$ERR" "cannot create /jail_probe.pid in the jail" "error"
	assert_eq "751 0:0" "$(owner_mode "$JAIL")" "jail root after the failed run"
	assert_eq "710 0:0" "$(owner_mode "$JAIL/dev")" "/dev after the failed run"
	assert_eq "$JAIL/dev $JAIL/jail_probe.pid" "$(find "$JAIL" -mindepth 1 | sort | tr '\n' ' ' | sed 's/ $//')" \
		"jail contents after the failed run"
}

# A path given to the jailer is shown with its control characters escaped: one error, one line.
test_messages_escape_control_characters() {
	jh_setup || return 0
	"$JAILER" --id "$ID" --exec-file "$TMP/no"$'\n'"such"$'\x1b' --uid $JT_UID --gid $JT_GID \
		--chroot-base-dir "$BASE" >"$TMP/out" 2>"$TMP/err" </dev/null
	assert_eq 1 "$?" "jailer exit code"
	assert_eq 1 "$(wc -l <"$TMP/err")" "error lines ($(cat "$TMP/err"))"
	assert_contains "$(cat "$TMP/err")" "exec file '$TMP/no\x0asuch\x1b': No such file or directory" \
		"error message"
}

run_tests "$@"
