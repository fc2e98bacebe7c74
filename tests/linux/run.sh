#!/usr/bin/env bash
# The Linux guest suite: every tests/linux/test_*.sh against one build dir,
# then one line "N passed, N failed, N skipped" and the wall time.
# Usage: tests/linux/run.sh [BUILD] [SCRIPT[:TEST]]...
#   BUILD   build dir holding ember and linux/ (default build)
#   SCRIPT  only these scripts (e.g. test_boot, or test_boot:test_pause_resume)
# Needs a usable /dev/kvm able to run Linux: run it inside the nested host,
#   tests/vmhost/vmhost.sh run -- tests/linux/run.sh BUILD   (make linux-test)
# Exit status: 0 when nothing failed.
set -u
cd "$(dirname "$0")/../.."
b=${1:-build}
shift || true
case $b in /*) ;; *) b=$PWD/$b ;; esac
scripts=()
if [ $# -gt 0 ]; then
	for s in "$@"; do scripts+=("$s"); done
else
	for s in tests/linux/test_*.sh; do scripts+=("$(basename "${s%.sh}")"); done
fi
passed=0 failed=0 skipped=0 fails=()
t0=$(date +%s)
for s in "${scripts[@]}"; do
	name=${s%%:*} filter=""
	[ "$name" != "$s" ] && filter=${s#*:}
	echo "== linux: $name"
	ts=$(date +%s)
	# A log file, not <(...): the nested host may have no /dev/fd.
	log=$(mktemp)
	EMBER_BUILD=$b bash "tests/linux/$name.sh" $filter 2>&1 | tee "$log"
	while IFS= read -r line; do
		case $line in
		PASS:*) passed=$((passed + 1)) ;;
		FAIL:*) failed=$((failed + 1)); fails+=("${line#FAIL: }") ;;
		SKIP:*) skipped=$((skipped + 1)) ;;
		esac
	done <"$log"
	rm -f "$log"
	echo "== linux: $name: $(($(date +%s) - ts)) s"
done
echo
for f in "${fails[@]}"; do echo "failed: $f"; done
echo "linux: $passed passed, $failed failed, $skipped skipped in $(($(date +%s) - t0)) s"
[ "$failed" -eq 0 ]
