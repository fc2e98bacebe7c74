#!/usr/bin/env bash
# ember-jailer: runs a probe binary (tests/integration/jail_probe.c, built
# statically here so the jail needs no libraries) as --exec-file and checks,
# from its own report and from the host's /proc, that it runs as the given
# uid/gid without capabilities, inside the jail, with exactly the expected
# device nodes, in the cgroups, netns and PID namespace asked for, with the
# rlimits set. Bad input must fail with a clear message and leave no jail and
# no cgroup behind. test_boots_test_guest_through_jail runs the real ember.
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/jail_lib.sh"

# ---- per-test state and helpers -------------------------------------------
ID="" BASE="" JAIL="" CG_PARENT="" NETNS_NAME="" JPID="" HPID="" REPORT=""

# jt_setup [exec-name]: checks prerequisites, picks a unique id, a fresh base dir.
jt_setup() {
	need_root || return 1
	[ -x "$JAILER" ] || { skip "no $JAILER (run make)"; return 1; }
	[ -n "$PROBE" ] || { skip "cannot build a static jail_probe (gcc -static failed)"; return 1; }
	ID=jt-$$-$RANDOM
	BASE=$TMP/base
	mkdir -p "$BASE"
	JAIL=$BASE/${1:-jail_probe}/$ID/root
	CG_PARENT=ember-jt-$$-$RANDOM
	NETNS_NAME="" JPID="" HPID="" REPORT=""
}

# jt_cleanup: ends the probe, removes cgroups and the netns this test made.
jt_cleanup() {
	local pid m
	[ -d "$JAIL/run" ] && touch "$JAIL/run/release" 2>/dev/null
	for pid in $HPID $JPID; do
		kill -0 "$pid" 2>/dev/null || continue
		wait_for not_running "$pid" || kill -9 "$pid" 2>/dev/null
	done
	[ -n "$JPID" ] && wait "$JPID" 2>/dev/null
	wait_for no_live_cgroup_procs
	for m in $(cgroup_mounts); do
		rmdir "$m/$CG_PARENT/$ID" "$m/$CG_PARENT" 2>/dev/null
	done
	[ -n "$NETNS_NAME" ] && ip netns del "$NETNS_NAME" 2>/dev/null
	return 0
}
not_running() { ! kill -0 "$1" 2>/dev/null; }
no_live_cgroup_procs() {
	local m
	for m in $(cgroup_mounts); do
		[ -s "$m/$CG_PARENT/$ID/cgroup.procs" ] && return 1
	done
	return 0
}

# Every cgroup hierarchy mount point (v1 and v2).
cgroup_mounts() { awk '$3 == "cgroup" || $3 == "cgroup2" { print $2 }' /proc/mounts; }
v1_mount_of() { # controller -> mount dir of its v1 hierarchy
	awk -v c="$1" '$3 == "cgroup" { n = split($4, o, ","); for (i = 1; i <= n; i++)
		if (o[i] == c) { print $2; exit } }' /proc/mounts
}
v2_mount() { awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts; }

# start_jailer ARGS...: run the jailer with the probe in the background. With
# setpriv(1) the jailer starts with supplementary groups it must drop.
start_jailer() {
	local pre=()
	command -v setpriv >/dev/null && pre=(setpriv --groups "5,6" --)
	"${pre[@]}" "$JAILER" --id "$ID" --exec-file "$PROBE" --uid $JT_UID --gid $JT_GID \
		--chroot-base-dir "$BASE" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null &
	JPID=$!
}

# wait_report: wait for the probe's report; sets REPORT and HPID (host pid).
wait_report() {
	if ! wait_for test -s "$JAIL/run/probe.txt"; then
		fail "no probe report: $(cat "$TMP/err")"
		return 1
	fi
	REPORT=$(cat "$JAIL/run/probe.txt")
	HPID=$(cat "$JAIL/jail_probe.pid" 2>/dev/null)
	[ -n "$HPID" ] || { fail "no pid file in the jail"; return 1; }
}

# release_probe: let the probe exit; the jailer's exit code must be 0.
release_probe() {
	touch "$JAIL/run/release"
	wait_for not_running "$HPID" || fail "probe did not exit"
	wait "$JPID"
	assert_eq 0 $? "jailer exit code"
	JPID=""
}

key() { printf '%s\n' "$REPORT" | sed -n "s/^$1=//p" | head -1; }

# run_bad ARGS...: a run that must fail; sets RC, ERR.
run_bad() {
	"$JAILER" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
	RC=$?
	ERR=$(cat "$TMP/err")
	[ "$RC" != 0 ] || fail "jailer $* succeeded"
}
bad_probe_run() { # extra args; standard id/exec/uid/gid/base
	run_bad --id "$ID" --exec-file "$PROBE" --uid $JT_UID --gid $JT_GID \
		--chroot-base-dir "$BASE" "$@"
}

# Nothing of the failed run may remain: no jail tree, no cgroup directory.
assert_no_leftovers() {
	local left m
	left=$(find "$BASE" -mindepth 1 | head -5)
	[ -z "$left" ] || fail "partial jail left behind: $left"
	for m in $(cgroup_mounts); do
		[ ! -e "$m/$CG_PARENT" ] || fail "cgroup left behind: $m/$CG_PARENT"
	done
}

status_field() { awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' "/proc/$1/status"; }

# ---- running jailed ---------------------------------------------------------
test_runs_jailed_as_uid_without_privileges() {
	jt_setup || return 0
	local expected actual minor
	FOO=bar start_jailer -- --api-sock /run/x.sock "two words" 7>"$TMP/inherited"
	wait_report || { jt_cleanup; return; }

	# argv: the jailer's --id and start times, then everything after --.
	assert_eq 10 "$(key argc)" argc
	assert_eq /jail_probe "$(key 'argv\[0\]')" argv0
	assert_eq "--id $ID --start-time-us" "$(key 'argv\[1\]') $(key 'argv\[2\]') $(key 'argv\[3\]')"
	[[ $(key 'argv\[4\]') =~ ^[0-9]+$ ]] || fail "start-time-us not a number: $(key 'argv\[4\]')"
	assert_eq --start-time-cpu-us "$(key 'argv\[5\]')"
	[[ $(key 'argv\[6\]') =~ ^[0-9]+$ ]] || fail "start-time-cpu-us not a number"
	assert_eq "--api-sock|/run/x.sock|two words" \
		"$(key 'argv\[7\]')|$(key 'argv\[8\]')|$(key 'argv\[9\]')" "forwarded args"

	# Identity and privileges, as the probe sees them...
	assert_eq "$JT_UID,$JT_UID,$JT_UID" "$(key uid)" uids
	assert_eq "$JT_GID,$JT_GID,$JT_GID" "$(key gid)" gids
	assert_eq 0 "$(key groups)" "supplementary groups"
	assert_eq "" "$(status_field "$HPID" Groups)" "host Groups"
	assert_eq 0000000000000000 "$(key cap_eff)" CapEff
	assert_eq 0000000000000000 "$(key cap_prm)" CapPrm
	assert_eq 0000000000000000 "$(key cap_inh)" CapInh
	assert_eq 1 "$(key no_new_privs)" no_new_privs
	assert_eq "Operation not permitted" "$(key setuid0)" "setuid(0)"
	# ...and as the host sees it.
	assert_eq 0000000000000000 "$(status_field "$HPID" CapEff)" "host CapEff"
	assert_eq 0000000000000000 "$(status_field "$HPID" CapPrm)" "host CapPrm"
	assert_eq 0000000000000000 "$(status_field "$HPID" CapAmb)" "host CapAmb"
	assert_eq "$JT_UID $JT_UID $JT_UID $JT_UID" "$(status_field "$HPID" Uid | tr -s '\t ' ' ')" "host Uid"
	assert_eq "$JT_GID $JT_GID $JT_GID $JT_GID" "$(status_field "$HPID" Gid | tr -s '\t ' ' ')" "host Gid"

	# Sanitized: no environment, no inherited fd 7, cwd is the jail root.
	assert_eq 0 "$(key env_count)" "environment size"
	assert_eq "" "$(key open_fds)" "inherited fds"
	assert_eq / "$(key cwd)" cwd
	assert_eq 2048,2048 "$(key rlimit_nofile)" "default no-file"

	# Its root is the jail: same inode, and it contains only what the jailer made.
	assert_eq "$(stat -c %d:%i "$JAIL")" "$(stat -L -c %d:%i "/proc/$HPID/root")" "root inode"
	expected="/dev dir 0700 $JT_UID $JT_GID
/dev/kvm chr 0600 $JT_UID $JT_GID 10:232
/dev/net dir 0700 $JT_UID $JT_GID
/dev/net/tun chr 0600 $JT_UID $JT_GID 10:200
/dev/urandom chr 0600 $JT_UID $JT_GID 1:9"
	minor=$(awk '$2 == "userfaultfd" { print $1 }' /proc/misc)
	[ -n "$minor" ] && expected+="
/dev/userfaultfd chr 0600 $JT_UID $JT_GID 10:$minor"
	expected+="
/jail_probe file 0755 $JT_UID $JT_GID
/jail_probe.pid file 0644 0 0
/run dir 0700 $JT_UID $JT_GID"
	actual=$(printf '%s\n' "$REPORT" | sed -n 's/^entry=//p' | sort)
	assert_eq "$(printf '%s\n' "$expected" | sort)" "$actual" "jail contents"
	assert_eq "" "$(printf '%s\n' "$REPORT" | grep '^entry_error=')" "unreadable entries"
	assert_eq "700 $JT_UID:$JT_GID" "$(stat -c '%a %u:%g' "$JAIL")" "jail root mode/owner"
	cmp -s "$PROBE" "$JAIL/jail_probe" || fail "copied binary differs from --exec-file"

	# The nodes work for the unprivileged process.
	[ -c /dev/kvm ] && assert_eq 12 "$(key kvm_api)" "KVM_GET_API_VERSION through /dev/kvm"
	assert_eq ok "$(key urandom_read)" "/dev/urandom read"
	[ -c /dev/net/tun ] && assert_eq ok "$(key tun_open)" "/dev/net/tun open"

	# Exec'd in place: the pid file holds the jailer's own pid.
	assert_eq "$JPID" "$HPID" "pid file"
	assert_eq "$JPID" "$(key pid)" "pid seen by the probe"
	release_probe
	assert_contains "$(cat "$TMP/out")" probe_done=1 "jailer stdout"
	jt_cleanup
}

test_new_pid_ns_makes_the_binary_pid_1() {
	jt_setup || return 0
	start_jailer --new-pid-ns
	wait_report || { jt_cleanup; return; }
	assert_eq 1 "$(key pid)" "pid inside the namespace"
	assert_eq "$HPID 1" "$(status_field "$HPID" NSpid | tr -s '\t ' ' ')" NSpid
	[ "$(readlink "/proc/$HPID/ns/pid")" != "$(readlink /proc/self/ns/pid)" ] ||
		fail "probe shares our PID namespace"
	assert_eq 0 "$(key 'argv\[6\]')" "start-time-cpu-us of a forked child"
	# The jailer itself returns as soon as the child is running.
	wait_for not_running "$JPID" || fail "jailer did not exit"
	wait "$JPID"
	assert_eq 0 $? "jailer exit code"
	JPID=""
	assert_eq 0000000000000000 "$(status_field "$HPID" CapEff)" "host CapEff"
	touch "$JAIL/run/release"
	wait_for not_running "$HPID" || fail "probe did not exit"
	jt_cleanup
}

test_daemonize_detaches_from_the_caller() {
	jt_setup || return 0
	local stat sid tty
	start_jailer --daemonize
	wait_for not_running "$JPID" || fail "jailer did not return"
	wait "$JPID"
	assert_eq 0 $? "jailer exit code"
	JPID=""
	wait_report || { jt_cleanup; return; }
	assert_eq "/dev/null /dev/null /dev/null" \
		"$(readlink "/proc/$HPID/fd/0") $(readlink "/proc/$HPID/fd/1") $(readlink "/proc/$HPID/fd/2")" \
		"daemon stdio"
	stat=$(sed 's/^.*) //' "/proc/$HPID/stat")
	sid=$(echo "$stat" | awk '{ print $4 }')
	tty=$(echo "$stat" | awk '{ print $5 }')
	[ "$sid" != "$(ps -o sid= $$ | tr -d ' ')" ] || fail "daemon still in our session"
	[ "$sid" != "$HPID" ] || fail "daemon is a session leader (it could get a terminal)"
	assert_eq 0 "$tty" "controlling terminal"
	assert_not_contains "$(cat "$TMP/out")" probe_done "jailer stdout"
	assert_eq "$JT_UID,$JT_UID,$JT_UID" "$(key uid)" uids
	touch "$JAIL/run/release"
	wait_for not_running "$HPID" || fail "probe did not exit"
	jt_cleanup
}

test_resource_limits_hold() {
	jt_setup || return 0
	start_jailer --resource-limit fsize=1048576 --resource-limit no-file=123
	wait_report || { jt_cleanup; return; }
	assert_eq 123,123 "$(key rlimit_nofile)" no-file
	assert_eq 1048576,1048576 "$(key rlimit_fsize)" fsize
	assert_eq "123 123" "$(awk '/^Max open files/ { print $4, $5 }' "/proc/$HPID/limits")" \
		"host view of no-file"
	release_probe
	jt_cleanup
}

test_joins_the_given_netns() {
	jt_setup || return 0
	command -v ip >/dev/null || { skip "no ip(8)"; return 0; }
	NETNS_NAME=ember-jt-$$-$RANDOM
	ip netns add "$NETNS_NAME" || { fail "ip netns add failed"; return; }
	start_jailer --netns "/run/netns/$NETNS_NAME"
	wait_report || { jt_cleanup; return; }
	assert_eq "net:[$(stat -L -c %i "/run/netns/$NETNS_NAME")]" "$(readlink "/proc/$HPID/ns/net")" \
		"network namespace"
	release_probe
	jt_cleanup
}

# ---- cgroups ----------------------------------------------------------------
test_cgroup_v1_values_and_membership() {
	jt_setup || return 0
	local cpu pids cpuset args=()
	cpu=$(v1_mount_of cpu) pids=$(v1_mount_of pids) cpuset=$(v1_mount_of cpuset)
	[ -n "$cpu" ] || { skip "no cgroup v1 cpu hierarchy on this host"; return 0; }
	args=(--cgroup cpu.shares=512)
	[ -n "$pids" ] && args+=(--cgroup pids.max=77)
	# cpuset.mems is left unset: the jailer must inherit it or the pid could not join.
	[ -n "$cpuset" ] && args+=(--cgroup cpuset.cpus=0)
	start_jailer --parent-cgroup "$CG_PARENT" "${args[@]}"
	wait_report || { jt_cleanup; return; }
	assert_eq 512 "$(cat "$cpu/$CG_PARENT/$ID/cpu.shares")" cpu.shares
	grep -qE "^[0-9]+:([^:]*,)?cpu(,[^:]*)?:/$CG_PARENT/$ID\$" "/proc/$HPID/cgroup" ||
		fail "not in the cpu cgroup: $(cat "/proc/$HPID/cgroup")"
	grep -qx "$HPID" "$cpu/$CG_PARENT/$ID/tasks" || fail "pid not in $cpu/$CG_PARENT/$ID/tasks"
	if [ -n "$pids" ]; then
		assert_eq 77 "$(cat "$pids/$CG_PARENT/$ID/pids.max")" pids.max
		grep -qE "^[0-9]+:pids:/$CG_PARENT/$ID\$" "/proc/$HPID/cgroup" || fail "not in the pids cgroup"
	fi
	if [ -n "$cpuset" ]; then
		assert_eq 0 "$(cat "$cpuset/$CG_PARENT/$ID/cpuset.cpus")" cpuset.cpus
		assert_eq "$(cat "$cpuset/cpuset.mems")" "$(cat "$cpuset/$CG_PARENT/$ID/cpuset.mems")" \
			"inherited cpuset.mems"
		grep -qE "^[0-9]+:cpuset:/$CG_PARENT/$ID\$" "/proc/$HPID/cgroup" || fail "not in the cpuset cgroup"
	fi
	release_probe
	jt_cleanup
}

test_cgroup_v2_values_and_membership() {
	jt_setup || return 0
	local v2 ctrl="" file="" value="" before
	v2=$(v2_mount)
	[ -n "$v2" ] || { skip "no cgroup2 hierarchy on this host"; return 0; }
	# A real controller when one is available, plus a core file every cgroup has.
	case " $(cat "$v2/cgroup.controllers") " in
	*" pids "*) ctrl=pids file=pids.max value=77 ;;
	*" memory "*) ctrl=memory file=memory.max value=268435456 ;;
	*" cpu "*) ctrl=cpu file=cpu.weight value=50 ;;
	*" hugetlb "*) [ -d /sys/kernel/mm/hugepages/hugepages-2048kB ] &&
		ctrl=hugetlb file=hugetlb.2MB.max value=4194304 ;;
	esac
	before=$(cat "$v2/cgroup.subtree_control")
	local args=(--cgroup-version 2 --parent-cgroup "$CG_PARENT" --cgroup cgroup.max.descendants=3)
	[ -n "$ctrl" ] && args+=(--cgroup "$file=$value")
	start_jailer "${args[@]}"
	wait_report || { jt_cleanup; return; }
	grep -qx "0::/$CG_PARENT/$ID" "/proc/$HPID/cgroup" ||
		fail "not in the v2 cgroup: $(cat "/proc/$HPID/cgroup")"
	grep -qx "$HPID" "$v2/$CG_PARENT/$ID/cgroup.procs" || fail "pid not in cgroup.procs"
	assert_eq 3 "$(cat "$v2/$CG_PARENT/$ID/cgroup.max.descendants")" cgroup.max.descendants
	if [ -n "$ctrl" ]; then
		assert_eq "$value" "$(cat "$v2/$CG_PARENT/$ID/$file")" "$file"
		assert_contains " $(cat "$v2/$CG_PARENT/cgroup.subtree_control") " " $ctrl " \
			"parent's subtree_control"
	fi
	release_probe
	jt_cleanup
	# The jailer enabled the controller in the root for the microVM; give it back.
	if [ -n "$ctrl" ] && [[ " $before " != *" $ctrl "* ]]; then
		echo "-$ctrl" >"$v2/cgroup.subtree_control" 2>/dev/null
	fi
	[ -n "$ctrl" ] || skip "cgroup v2 core file checked; no v2 controller available to test"
}

test_unknown_cgroup_file_leaves_nothing() {
	jt_setup || return 0
	local cpu v2 args
	cpu=$(v1_mount_of cpu) v2=$(v2_mount)
	if [ -n "$cpu" ]; then
		args=(--cgroup cpu.no_such_knob=1)
	elif [ -n "$v2" ]; then
		args=(--cgroup-version 2 --cgroup cgroup.no_such_knob=1)
	else
		skip "no cgroup hierarchy on this host"; return 0
	fi
	bad_probe_run --parent-cgroup "$CG_PARENT" "${args[@]}"
	assert_contains "$ERR" "unknown cgroup file" "error"
	assert_no_leftovers
	# Malformed ones are refused before anything is looked at.
	bad_probe_run --cgroup noequals
	assert_contains "$ERR" "expected <file>=<value>" "error"
	bad_probe_run --cgroup nodot=1
	assert_contains "$ERR" "expected <controller>.<property>" "error"
	bad_probe_run --cgroup ../../etc/passwd=1
	assert_contains "$ERR" "invalid cgroup file" "error"
	assert_no_leftovers
	jt_cleanup
}

test_cgroup_version_mismatch_is_refused() {
	jt_setup || return 0
	local v2 c tested=0 v2ctrls=""
	v2=$(v2_mount)
	[ -n "$v2" ] && v2ctrls=" $(cat "$v2/cgroup.controllers") "
	if [ -z "$(v1_mount_of cpu)$(v1_mount_of pids)$(v1_mount_of memory)" ] &&
		! grep -q ' cgroup ' /proc/mounts; then
		bad_probe_run --parent-cgroup "$CG_PARENT" --cgroup-version 1 --cgroup pids.max=5
		assert_contains "$ERR" "cgroup version mismatch" "v1 on a v2-only host"
		tested=1
	fi
	if [ -z "$v2" ]; then
		bad_probe_run --parent-cgroup "$CG_PARENT" --cgroup-version 2 --cgroup pids.max=5
		assert_contains "$ERR" "cgroup version mismatch" "v2 on a v1-only host"
		tested=1
	fi
	# Hybrid host: a controller that only v1 has, asked for with v2, and vice versa.
	for c in cpu memory pids cpuset blkio; do
		[ -n "$v2" ] && [ -n "$(v1_mount_of $c)" ] && [[ $v2ctrls != *" $c "* ]] || continue
		bad_probe_run --parent-cgroup "$CG_PARENT" --cgroup-version 2 --cgroup "$c.x=1"
		assert_contains "$ERR" "cgroup version mismatch" "v1-only controller $c with v2"
		tested=1
		break
	done
	for c in $v2ctrls; do
		[ -z "$(v1_mount_of "$c")" ] || continue
		bad_probe_run --parent-cgroup "$CG_PARENT" --cgroup-version 1 --cgroup "$c.x=1"
		assert_contains "$ERR" "cgroup version mismatch" "v2-only controller $c with v1"
		tested=1
		break
	done
	bad_probe_run --cgroup-version 3 --cgroup cpu.shares=2
	assert_contains "$ERR" "expected 1 or 2" "--cgroup-version 3"
	assert_no_leftovers
	jt_cleanup
	[ $tested = 1 ] || skip "host cgroup layout offers no version mismatch to test"
}

# ---- bad input --------------------------------------------------------------
test_invalid_ids_are_refused() {
	jt_setup || return 0
	local id long
	long=$(printf 'a%.0s' $(seq 65))
	for id in "../x" "$long" "" "a_b" "a/b" "a b"; do
		run_bad --id "$id" --exec-file "$PROBE" --uid $JT_UID --gid $JT_GID --chroot-base-dir "$BASE"
		assert_contains "$ERR" "invalid --id" "error for id '$id'"
	done
	assert_contains "$ERR" "character ' '" "error names the bad character"
	run_bad --id "$long" --exec-file "$PROBE" --uid $JT_UID --gid $JT_GID --chroot-base-dir "$BASE"
	assert_contains "$ERR" "65 characters" "error for a long id"
	assert_no_leftovers
	# 64 characters is the maximum and fine.
	ID=${long:1}
	JAIL=$BASE/jail_probe/$ID/root
	"$JAILER" --id "$ID" --exec-file "$PROBE" --uid $JT_UID --gid $JT_GID --chroot-base-dir "$BASE" \
		-- --no-wait >"$TMP/out" 2>"$TMP/err"
	assert_eq 0 $? "64-character id"
	assert_contains "$(cat "$TMP/out")" "argv[2]=$ID" "probe argv"
	jt_cleanup
}

test_exec_file_must_exist_and_not_be_a_symlink() {
	jt_setup || return 0
	run_bad --id "$ID" --exec-file "$TMP/nope" --uid $JT_UID --gid $JT_GID --chroot-base-dir "$BASE"
	assert_contains "$ERR" "exec file '$TMP/nope': No such file or directory" "missing exec file"
	ln -s "$PROBE" "$TMP/jail_probe"
	run_bad --id "$ID" --exec-file "$TMP/jail_probe" --uid $JT_UID --gid $JT_GID --chroot-base-dir "$BASE"
	assert_contains "$ERR" "is a symlink" "symlinked exec file"
	run_bad --id "$ID" --exec-file "$TMP" --uid $JT_UID --gid $JT_GID --chroot-base-dir "$BASE"
	assert_contains "$ERR" "not an executable regular file" "directory as exec file"
	# A dynamically linked binary without its loader in the jail fails before anything is made.
	cp /bin/true "$TMP/dyn"
	run_bad --id "$ID" --exec-file "$TMP/dyn" --uid $JT_UID --gid $JT_GID --chroot-base-dir "$BASE"
	assert_contains "$ERR" "needs the interpreter" "dynamic exec file"
	run_bad --id "$ID" --exec-file "$PROBE" --uid $JT_UID --gid $JT_GID --chroot-base-dir "$TMP/none"
	assert_contains "$ERR" "chroot base directory '$TMP/none': No such file" "missing base dir"
	assert_no_leftovers
	jt_cleanup
}

test_root_is_refused_unless_allowed() {
	jt_setup || return 0
	run_bad --id "$ID" --exec-file "$PROBE" --uid 0 --gid $JT_GID --chroot-base-dir "$BASE"
	assert_contains "$ERR" "refusing to run the jailed binary as root" "uid 0"
	assert_contains "$ERR" "--allow-root" "uid 0 hint"
	run_bad --id "$ID" --exec-file "$PROBE" --uid $JT_UID --gid 0 --chroot-base-dir "$BASE"
	assert_contains "$ERR" "refusing to run the jailed binary as root" "gid 0"
	run_bad --id "$ID" --exec-file "$PROBE" --uid -1 --gid $JT_GID --chroot-base-dir "$BASE"
	assert_contains "$ERR" "invalid --uid" "uid -1"
	assert_no_leftovers
	"$JAILER" --id "$ID" --exec-file "$PROBE" --uid 0 --gid 0 --allow-root \
		--chroot-base-dir "$BASE" -- --no-wait >"$TMP/out" 2>"$TMP/err"
	assert_eq 0 $? "--allow-root run"
	assert_contains "$(cat "$TMP/out")" "uid=0,0,0" "uid with --allow-root"
	jt_cleanup
}

test_netns_must_exist() {
	jt_setup || return 0
	bad_probe_run --netns "/run/netns/ember-jt-none-$$"
	assert_contains "$ERR" "network namespace '/run/netns/ember-jt-none-$$': No such file" "missing netns"
	assert_no_leftovers
	# A file that is not a netns fails at setns(), after the jail was made: all of it goes.
	bad_probe_run --netns /etc/hostname --parent-cgroup "$CG_PARENT"
	assert_contains "$ERR" "not a network namespace" "regular file as netns"
	assert_no_leftovers
	jt_cleanup
}

test_existing_destination_is_not_overwritten() {
	jt_setup || return 0
	local sum
	echo "victim" >"$TMP/victim"
	sum=$(sha256sum <"$TMP/victim")
	mkdir -p "$JAIL"
	ln -s "$TMP/victim" "$JAIL/jail_probe"
	bad_probe_run
	assert_contains "$ERR" "already exists and is a symlink" "symlink at the destination"
	rm "$JAIL/jail_probe"
	ln "$TMP/victim" "$JAIL/jail_probe"
	bad_probe_run
	assert_contains "$ERR" "already exists and is a hard link" "hard link at the destination"
	assert_eq "$sum" "$(sha256sum <"$TMP/victim")" "link target content"
	# What existed before stays; nothing new was added.
	assert_eq "$JAIL/jail_probe" "$(find "$JAIL" -mindepth 1)" "jail contents after refusal"
	jt_cleanup
}

test_retry_after_failure_succeeds() {
	jt_setup || return 0
	bad_probe_run --netns /etc/hostname
	start_jailer -- --no-wait
	wait "$JPID"
	assert_eq 0 $? "retry exit code"
	JPID=""
	assert_contains "$(cat "$TMP/out")" "argv[2]=$ID" "retry ran the probe"
	jt_cleanup
}

test_cli_version_help_and_unknown_options() {
	need_root || return 0
	[ -x "$JAILER" ] || { skip "no $JAILER"; return 0; }
	local out
	out=$("$JAILER" --version) || fail "--version failed"
	assert_contains "$out" "ember-jailer v" "--version"
	out=$("$JAILER" --help) || fail "--help failed"
	assert_contains "$out" "--exec-file" "--help"
	assert_contains "$out" "--allow-root" "--help"
	run_bad --bogus
	assert_contains "$ERR" "unknown option '--bogus'" "unknown option"
	run_bad --id x --exec-file /bin/true --uid 1 --gid 1 stray
	assert_contains "$ERR" "unexpected argument 'stray'" "positional argument"
	run_bad --id x --id y --exec-file /bin/true --uid 1 --gid 1
	assert_contains "$ERR" "given more than once" "repeated --id"
	run_bad --exec-file /bin/true --uid 1 --gid 1
	assert_contains "$ERR" "missing required option --id" "missing --id"
	run_bad --id x --exec-file /bin/true --uid 1 --gid 1 --resource-limit cpu=1
	assert_contains "$ERR" "unknown resource" "bad resource limit"
	run_bad --id x --exec-file /bin/true --uid 1 --gid 1 --parent-cgroup ../up
	assert_contains "$ERR" "invalid --parent-cgroup" "bad parent cgroup"
}

# ---- the real thing -----------------------------------------------------------
# Boots the test guest with ember inside the jail. Needs build/ember (the lead's),
# the test guest and /dev/kvm. ember is linked dynamically, so its loader and
# libraries are copied into the jail first; the kernel path is relative to the jail.
test_boots_test_guest_through_jail() {
	jt_setup ember || return 0
	[ -x "$EMBER" ] || { skip "no $EMBER yet"; return 0; }
	[ -f "$GUEST_ELF" ] || { skip "no test guest at $GUEST_ELF"; return 0; }
	need_kvm || return 0
	if ldd "$EMBER" 2>/dev/null | grep -q libasan; then
		skip "sanitizer builds of ember need /proc at exit (LeakSanitizer), which the jail does not have"
		return 0
	fi
	local lib
	mkdir -p "$JAIL"
	for lib in $(ldd "$EMBER" | grep -oE '/[^ ]+'); do
		mkdir -p "$JAIL$(dirname "$lib")"
		cp -L "$lib" "$JAIL$lib"
	done
	cp "$GUEST_ELF" "$JAIL/guest.elf"
	chown $JT_UID:$JT_GID "$JAIL/guest.elf"
	"$JAILER" --id "$ID" --exec-file "$EMBER" --uid $JT_UID --gid $JT_GID \
		--chroot-base-dir "$BASE" -- --api-sock /run/ember.sock \
		>"$TMP/out" 2>"$TMP/err" </dev/null &
	JPID=$!
	EMBER_PID=$JPID
	SOCK=$JAIL/run/ember.sock
	wait_for test -S "$SOCK" || { fail "API socket never appeared in the jail: $(cat "$TMP/err")"; jt_cleanup; return; }
	api_ok PUT /boot-source '{"kernel_image_path": "/guest.elf", "boot_args": "ember.test=hello"}' &&
		api_ok PUT /actions '{"action_type": "InstanceStart"}' || { jt_cleanup; return; }
	wait_exit 60 || fail "ember did not exit"
	assert_eq 0 "$EXIT_CODE" "ember exit code"
	assert_contains "$(cat "$TMP/out")" "hello from ember-test-guest" "guest output"
	JPID=""
	jt_cleanup
}

run_tests "$@"
