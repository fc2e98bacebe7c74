#!/usr/bin/env bash
# The Linux guest suite: every tests/linux/test_*.sh against one build dir,
# their PLAN:/PASS:/FAIL:/SKIP: lines, then "linux: N passed, N failed, N
# skipped in S s".
# Usage: tests/linux/run.sh [BUILD] [SCRIPT[:TEST]]...
#   BUILD   build dir holding ember (default build); its linux/ artefacts are
#           brought up to date first (tests/linux/build.sh; nothing to do when
#           fresh; EMBER_LINUX_NOBUILD=1 skips that)
#   SCRIPT  only these scripts (e.g. test_boot, or test_boot:test_pause_resume)
# Environment: EMBER_LINUX_JOBS (scripts run at once; default 1).
#        tests/linux/run.sh --supports BUILD
#   exit 0 when the suite can run against BUILD: an ember that is no
#   sanitizer build (ASan/UBSan under a TCG-emulated host is too slow for
#   Linux guests, and LeakSanitizer cannot run in the jail).
# Needs a /dev/kvm able to run Linux: inside the nested host,
#   tests/vmhost/vmhost.sh run -- tests/linux/run.sh BUILD   (make linux-test)
# Exit status: 0 when nothing failed.
set -u
cd "$(dirname "$0")/../.."
if [ "${1-}" = --supports ]; then
	b=${2:-build}
	[ -x "$b/ember" ] || exit 1
	grep -aq -e __asan_init -e __ubsan_handle "$b/ember" && exit 1
	exit 0
fi
b=${1:-build}
shift || true
case $b in /*) ;; *) b=$PWD/$b ;; esac
scripts=()
if [ $# -gt 0 ]; then
	for s in "$@"; do scripts+=("$s"); done
else
	for s in tests/linux/test_*.sh; do scripts+=("$(basename "${s%.sh}")"); done
fi
t0=$SECONDS
if [ "${EMBER_LINUX_NOBUILD:-0}" != 1 ]; then
	tests/linux/build.sh "$b/linux" >/dev/null ||
		echo "linux: tests/linux/build.sh $b/linux failed; the cases fail on missing artefacts"
fi
# Scripts run in EMBER_LINUX_JOBS parallel queues (default 1; 2 can pay off
# in a nested host with VMHOST_CPUS=2 on otherwise idle cores).
jobs=${EMBER_LINUX_JOBS:-1}
logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT
touch "$logdir/none.log"
run_script() { # SCRIPT[:TEST] LOG
	local name=${1%%:*} filter="" ts=$SECONDS
	[ "$name" != "$1" ] && filter=${1#*:}
	# Lines stream as they come (one write each: whole lines even with two
	# queues printing) and are kept for the count.
	EMBER_BUILD=$b bash "tests/linux/$name.sh" $filter 2>&1 </dev/null |
		while IFS= read -r line; do printf '%s\n' "$line"; printf '%s\n' "$line" >>"$2"; done
	echo "linux: $name took $((SECONDS - ts)) s"
}
queue() { # INDEX: every jobs-th script from INDEX
	local i
	for ((i = $1; i < ${#scripts[@]}; i += jobs)); do
		run_script "${scripts[$i]}" "$logdir/$i.log"
	done
}
qpids=()
for ((q = 0; q < jobs; q++)); do
	queue "$q" &
	qpids+=($!)
done
wait "${qpids[@]}"
passed=$(cat "$logdir"/*.log | grep -c '^PASS:')
failed=$(cat "$logdir"/*.log | grep -c '^FAIL:')
skipped=$(cat "$logdir"/*.log | grep -c '^SKIP:')
echo "linux: $passed passed, $failed failed, $skipped skipped in $((SECONDS - t0)) s"
[ "$failed" -eq 0 ]
