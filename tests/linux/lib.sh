#!/usr/bin/env bash
# Helpers for the Linux guest suite, on top of tests/integration/lib.sh (its
# PASS:/FAIL:/SKIP: protocol, api/api_ok/api_err, assert_*). A script sources
# this file, defines test_* functions and ends with `run_tests "$@"`.
#
# The guest (tests/linux/guest/init) reports on the serial console with
# lines "EMBER-TEST: key=value ..."; ember's stdout (the console) goes to
# DIR/out of each VM, its stdin is the fifo DIR/in (the console's input, for
# the guest's command server, scenario "cmd").
#
# Environment: EMBER_BUILD (build dir: ember, BUILD/linux/ from
# tests/linux/build.sh, BUILD/tests/integration/ helpers),
# EMBER_LINUX_TIMEOUT (seconds a guest gets to boot or answer; default 150),
# EMBER_LINUX_CASE_BUDGET (seconds one case may spend waiting on guests in
# all; default 4 x EMBER_LINUX_TIMEOUT), EMBER_LINUX_KEEP (a dir: each case's
# console/stderr files are copied there).
#
# A case stops waiting at its first failure: every later wait_guest,
# guest_cmd and expect_exit of that case fails at once. Without that, a
# guest that stopped answering made each remaining step of the case wait its
# full timeout, and the case printed nothing for longer than the nested
# host's stall limit (900 s), which ended the whole suite.
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"
# Case names "linux-boot/boot_1_vcpu": distinct from tests/integration's.
SCRIPT_NAME=linux-${SCRIPT_NAME#test_}

LINUX=$BUILD/linux
VMLINUX=$LINUX/vmlinux
BZIMAGE=$LINUX/vmlinuz
INITRD=$LINUX/initramfs.cpio
ROOTFS=$LINUX/rootfs.ext4
ROOTFS_PART=$LINUX/rootfs-part.img
ROOTFS_PARTUUID=454d4252-01
LTIMEOUT=${EMBER_LINUX_TIMEOUT:-150}
CASE_BUDGET=${EMBER_LINUX_CASE_BUDGET:-$((LTIMEOUT * 4))}
# Each case's deadline: run_tests makes a new TMP per case.
eval "_it_new_tmp() $(declare -f _new_tmp | tail -n +2)"
_new_tmp() { _it_new_tmp; CASE_END=$((SECONDS + CASE_BUDGET)); }
CASE_END=$((SECONDS + CASE_BUDGET))

# wait_left T: T capped to what is left of the case's budget (0 when the case
# already failed or ran out of time; the caller then fails without waiting).
wait_left() {
	local left=$((CASE_END - SECONDS))
	[ -z "$_fail_msg" ] || left=0
	[ "$left" -gt 0 ] || left=0
	echo $(($1 < left ? $1 : left))
}
# Quiet console (each byte costs ~0.45 ms when the guest runs emulated); no
# PCI; i8042 as Firecracker sets it up except i8042.nopnp (the controller is
# found through its PNP0303 ACPI device; with nopnp Linux falls back to legacy
# IRQ 1, the probe fails with -22 and Ctrl-Alt-Del reaches nobody); no
# rtc_cmos probe (15-18 s of port I/O on a machine without a CMOS RTC); no
# crypto self-tests.
BASE_ARGS="console=ttyS0 quiet reboot=k panic=1 pci=off i8042.noaux i8042.nomux i8042.dumbkbd initcall_blacklist=cmos_init cryptomgr.notests tsc=reliable no_timer_check mitigations=off"

# api in this suite: once the case failed, no call waits (a VMM thread that
# stopped answering made every later call wait out curl's limit, and the
# case sat silent past the nested host's 900 s stall limit); each call's
# limit is what is left of the case's budget, at most 120 s; a call that
# times out reports where ember's threads are.
eval "_it_api() $(declare -f api | tail -n +2)"
api() {
	if [ -n "$_fail_msg" ]; then
		STATUS=000 BODY="" HEADERS=""
		return 0
	fi
	local limit=$(($(wait_left 120) + 1))
	EMBER_API_MAX_TIME=$limit _it_api "$@"
	if [ "$STATUS" = 000 ] && grep -qs 'timed out' "$TMP/curl-err"; then
		fail "$1 $2: no answer within $limit s; ember threads: $(threads_of "$EMBER_PID")"
	fi
}

# threads_of PID: each thread's name, state and kernel wait channel.
threads_of() {
	local t
	for t in /proc/"$1"/task/*; do
		printf '%s:%s:%s ' "$(cat "$t/comm" 2>/dev/null)" \
			"$(awk '{print $3}' "$t/stat" 2>/dev/null)" "$(cat "$t/wchan" 2>/dev/null)"
	done
}

PIDS=()
declare -A VM_FD=()

need_linux() {
	need_kvm || return 1
	local f
	for f in "$VMLINUX" "$BZIMAGE" "$INITRD" "$ROOTFS" "$ROOTFS_PART"; do
		[ -f "$f" ] || { fail "missing $f (make linux-guest BUILD=$BUILD)"; return 1; }
	done
}

# vm_spawn DIR [ember args]: an ember with DIR/api.sock, DIR/out, DIR/err and
# DIR/in (a fifo held open here: the guest console's input); current VM.
vm_spawn() {
	local dir=$1 fd
	shift
	mkdir -p "$dir"
	rm -f "$dir/in"
	mkfifo "$dir/in"
	exec {fd}<>"$dir/in"
	VM_FD[$dir]=$fd
	SOCK=$dir/api.sock
	VM=$dir
	"${EMBER_WRAP[@]}" "$EMBER" --api-sock "$SOCK" "$@" <"$dir/in" >"$dir/out" 2>"$dir/err" &
	EMBER_PID=$!
	PIDS+=("$EMBER_PID")
	wait_for test -S "$SOCK" || { fail "API socket never appeared in $dir: $(cat "$dir/err")"; return 1; }
}
EMBER_WRAP=()

# talk_to DIR PID: api calls, wait_exit and guest_* at that VM.
talk_to() { VM=$1; SOCK=$1/api.sock; EMBER_PID=$2; }

kill_vm() {
	[ -n "$EMBER_PID" ] || return 0
	reap "$EMBER_PID"
	EMBER_PID=""
}

# Every VM (and helper in PIDS) ends; fifos closed; sanitizer reports fail.
# reap PID: SIGKILL and reap it; a process that does not die within 30 s
# (stuck in the kernel: D state) is a failure, reported with where it hangs,
# never an endless wait.
reap() {
	local p=$1 st end=$((SECONDS + 30))
	kill -9 "$p" 2>/dev/null
	while [ -e "/proc/$p" ]; do
		st=$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)
		[ "$st" = Z ] && break
		if [ "$SECONDS" -ge "$end" ]; then
			fail "pid $p ($(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-60)) still alive 30 s after SIGKILL: state $st, wchan $(cat "/proc/$p/wchan" 2>/dev/null), stack $(head -5 "/proc/$p/stack" 2>/dev/null | awk '{print $2}' | tr '\n' ' ')"
			return 1
		fi
		nap 0.2
	done
	wait "$p" 2>/dev/null
	return 0
}

stop_all() {
	local p d
	for p in "${PIDS[@]}"; do reap "$p"; done
	PIDS=()
	EMBER_PID=""
	for d in "${!VM_FD[@]}"; do exec {VM_FD[$d]}>&-; done
	VM_FD=()
	# EMBER_LINUX_KEEP=DIR: every case's VM dirs (out, err) kept for a look.
	if [ -n "${EMBER_LINUX_KEEP:-}" ]; then
		local keep=$EMBER_LINUX_KEEP/$SCRIPT_NAME.${FUNCNAME[1]}
		mkdir -p "$keep" && for d in "$TMP"/*/; do
			[ -f "$d/out" ] && mkdir -p "$keep/$(basename "$d")" && cp "$d"/out "$d"/err "$keep/$(basename "$d")/" 2>/dev/null
		done
	fi
	if grep -qsE 'Sanitizer|runtime error:' "$TMP"/*/err; then
		fail "sanitizer report in an ember's stderr: $(grep -lsE 'Sanitizer|runtime error:' "$TMP"/*/err)"
	fi
}

# linux_config SCENARIO [VCPUS] [MEM_MIB] [EXTRA_ARGS] [KERNEL]: machine config
# and boot source (initramfs always) of the current VM.
linux_config() {
	local t=$1 vcpus=${2:-1} mem=${3:-128} extra=${4-} kernel=${5:-$VMLINUX}
	api_ok PUT /machine-config "{\"vcpu_count\": $vcpus, \"mem_size_mib\": $mem}"
	api_ok PUT /boot-source "{\"kernel_image_path\": \"$kernel\", \"initrd_path\": \"$INITRD\",
		\"boot_args\": \"$BASE_ARGS ember.t=$t${extra:+ $extra}\"}"
}

vm_start() { api_ok PUT /actions '{"action_type": "InstanceStart"}'; }

# The guest's report lines of DIR (default: current VM), "EMBER-TEST: " cut.
guest_lines() { tr -d '\r' <"${1:-$VM}/out" 2>/dev/null | sed -n 's/^.*EMBER-TEST: //p'; }

# nap S: sleep without a fork (every process costs when the host itself runs
# emulated, and polling loops would take CPU from the guest).
_nap_fifo=$(mktemp -u /tmp/ember-lnx-nap.XXXXXX)
mkfifo "$_nap_fifo" && exec {NAP_FD}<>"$_nap_fifo" && rm -f "$_nap_fifo"
nap() { read -r -t "$1" -u "$NAP_FD" _ || true; }

# wait_guest REGEX [TIMEOUT_S] [DIR]: a report line matching REGEX (grep -E,
# anchored) appears; fails after the timeout or when ember exits first.
# One grep per 0.25 s.
wait_guest() {
	local re="EMBER-TEST: ($1)"$'\r'"?\$" t dir=${3:-$VM} pid=$EMBER_PID
	[ -z "$_fail_msg" ] || return 1
	t=$(wait_left "${2:-$LTIMEOUT}")
	local end=$((SECONDS + t))
	while :; do
		grep -aqE "$re" "$dir/out" 2>/dev/null && return 0
		if [ -n "$pid" ] && [ "$dir" = "$VM" ] && ! kill -0 "$pid" 2>/dev/null; then
			grep -aqE "$re" "$dir/out" 2>/dev/null && return 0
			fail "ember exited before the guest printed '$1': $(guest_tail "$dir")"
			return 1
		fi
		[ "$SECONDS" -lt "$end" ] || break
		nap 0.25
	done
	fail "no '$1' from the guest within $t s: $(guest_tail "$dir")"
	return 1
}
guest_tail() { tr -d '\r' <"${1:-$VM}/out" 2>/dev/null | tail -n 4 | tr '\n' '|'; }

# gval KEY [DIR]: the value of the last KEY=... the guest reported.
gval() {
	guest_lines "${2:-$VM}" | tr ' ' '\n' | sed -n "s/^$1=//p" | tail -n 1
}

# guest_cmd ID CMD: run CMD in the guest's command server (scenario cmd),
# wait for "ID rc=N"; sets GRC=N. Output lines of CMD: guest_lines.
GRC=""
# guest_send ID CMD: hand CMD to the command server, wait for nothing (reboot -f).
# The server reads one line per command: newlines and tabs become spaces.
guest_send() {
	local c=${2//$'\n'/ }
	printf '%s %s\n' "$1" "${c//$'\t'/ }" >&"${VM_FD[$VM]}"
}
guest_cmd() {
	local id=$1 cmd=$2 t=${3:-$LTIMEOUT}
	GRC=""
	[ -z "$_fail_msg" ] || return 1
	guest_send "$id" "$cmd"
	wait_guest "$id rc=[0-9]+" "$t" || return 1
	GRC=$(guest_lines | sed -n "s/^$id rc=//p" | tail -n 1)
}
# guest_ok ID CMD: as guest_cmd, and CMD must succeed.
guest_ok() {
	guest_cmd "$@" || return 1
	[ "$GRC" = 0 ] || { fail "guest command '$2' failed (rc=$GRC): $(guest_tail)"; return 1; }
}

# still_running: the current ember has not exited (a device exchange must
# not end the VM, e.g. through a seccomp violation: exit 148).
still_running() {
	[ -n "$EMBER_PID" ] && kill -0 "$EMBER_PID" 2>/dev/null && return 0
	local rc=gone
	[ -n "$EMBER_PID" ] && { wait "$EMBER_PID"; rc=$?; EMBER_PID=""; }
	fail "ember exited during the test (exit $rc): $(grep -v 'API server\|request was' "$VM/err" 2>/dev/null | tail -n 2 | tr '\n' '|')"
	return 1
}

# expect_exit CODE [TIMEOUT]: the current ember ends with CODE.
expect_exit() {
	local t end
	[ -z "$_fail_msg" ] || return 1
	t=$(wait_left "${2:-$LTIMEOUT}")
	end=$((SECONDS + t))
	while kill -0 "$EMBER_PID" 2>/dev/null; do
		[ "$SECONDS" -lt "$end" ] || { fail "ember did not exit within $t s"; return 1; }
		nap 0.2
	done
	wait "$EMBER_PID"
	EXIT_CODE=$?
	EMBER_PID=""
	assert_eq "$1" "$EXIT_CODE" "ember exit code"
}

# count_check FILES...: the count=N lines of FILES together (raw bytes
# concatenated: a line cut by the snapshot joins up) run 1..max with no gap
# and no repeat; sets COUNT_MAX.
count_check() {
	local got
	got=$(cat "$@" | tr -d '\r' | sed -n 's/^.*EMBER-TEST: count=\([0-9]*\)$/\1/p')
	COUNT_MAX=$(printf '%s\n' "$got" | tail -n 1)
	[ -n "$COUNT_MAX" ] || { fail "no count lines in $*"; return 1; }
	if [ "$got" != "$(seq 1 "$COUNT_MAX")" ]; then
		# Files, not <(...): the nested host may have no /dev/fd.
		seq 1 "$COUNT_MAX" >"$TMP/count.want"
		echo "$got" >"$TMP/count.got"
		fail "count lines of $* are not 1..$COUNT_MAX once each: $(diff "$TMP/count.want" "$TMP/count.got" | head -6 | tr '\n' ' ')"
		return 1
	fi
}

# A copy of an image (writable per case), sparse.
img_copy() { cp --sparse=always "$1" "$2"; }

run_linux_tests() {
	run_tests "$@"
}
