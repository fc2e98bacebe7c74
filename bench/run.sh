#!/usr/bin/env bash
# make bench: run the benchmarks against BUILD (default build), tables + BUILD/bench*.json.
# Every benchmark program runs even when an earlier one failed; the exit status
# is 1 if any of them failed (a FAILED row, a crash, or its time limit), 0
# otherwise. Without a usable /dev/kvm the guest-booting figures are reported
# as skipped (bench), the snapshot benchmarks are skipped, and the device
# benchmarks (host side only, no vCPU) run as usual.
set -u
cd "$(dirname "$0")/.."
b=${1:-build}
kvm=1
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	kvm=0
	echo "bench: /dev/kvm is not usable here: benchmarks that run a guest are skipped" >&2
fi
failed=()

# run NAME LIMIT_S CMD...: one benchmark program, with a time limit.
run() {
	local name=$1 limit=$2 rc
	shift 2
	timeout -k 10 "$limit" "$@"
	rc=$?
	if [ $rc = 124 ] || [ $rc = 137 ]; then
		echo "bench: $name FAILED: did not finish within $limit s" >&2
		failed+=("$name (timeout)")
	elif [ $rc != 0 ]; then
		echo "bench: $name FAILED (exit $rc)" >&2
		failed+=("$name")
	fi
}

run bench 1200 "$b/bench/bench" "$b" "$b/bench.json" "${BENCH_RUNS:-21}"
echo "written: $b/bench.json"
# Device throughput, host side only (no vCPU); its 64 MiB test file lives in $b while it runs.
run bench_devices 1200 "$b/bench/bench_devices" "$b/bench-devices.json" "${BENCH_DEVICE_RUNS:-5}" "$b"
echo "written: $b/bench-devices.json"
# The API under load: keep-alive and connection-per-request clients, default
# seccomp filters, RSS before/after (issue #8); no guest, so no /dev/kvm needed.
run bench_api_load 1200 python3 -u bench/api_load.py "$b" "$b/bench-api-load.json" "${BENCH_API_RUNS:-3}"
echo "written: $b/bench-api-load.json"
# Snapshots: load to first guest output, create, Diff, clone memory (issue #5).
if [ $kvm = 1 ]; then
	run bench_snapshot 1200 "$b/bench/bench_snapshot" "$b" "$b/bench-snapshot.json" "${BENCH_SNAPSHOT_RUNS:-11}"
	echo "written: $b/bench-snapshot.json"
else
	echo "bench_snapshot: skipped: no usable /dev/kvm"
fi
# A real Linux kernel to init, Ember against QEMU's -M microvm on the same
# kernel, initramfs and /dev/kvm (issue #11): directly where /dev/kvm runs
# Linux, else inside the nested KVM host, where guest code is emulated and
# only the ratio means something.
linux_mode=$(tests/kvm_mode.sh --for linux)
linux_bench=(python3 -u bench/linux_boot.py "$b" "$b/bench-linux.json" "${BENCH_LINUX_RUNS:-5}")
case $linux_mode in
direct) run bench_linux 3600 "${linux_bench[@]}" ;;
nested) run bench_linux 5400 tests/vmhost/vmhost.sh run --timeout 5300 -- "${linux_bench[@]}" ;;
*) echo "bench_linux: skipped: $linux_mode" ;;
esac
if [ ${#failed[@]} -gt 0 ]; then
	echo "bench: FAILED: ${failed[*]}" >&2
	exit 1
fi
