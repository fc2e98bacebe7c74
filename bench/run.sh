#!/usr/bin/env bash
# make bench: run the benchmarks against BUILD (default build), table + BUILD/bench.json.
set -eu
cd "$(dirname "$0")/.."
b=${1:-build}
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "bench: /dev/kvm is not usable here; the benchmarks need KVM" >&2
	exit 1
fi
"$b/bench/bench" "$b" "$b/bench.json" "${BENCH_RUNS:-21}"
echo "written: $b/bench.json"
# Device throughput, host side only (no vCPU); its 64 MiB test file lives in $b while it runs.
"$b/bench/bench_devices" "$b/bench-devices.json" "${BENCH_DEVICE_RUNS:-5}" "$b"
echo "written: $b/bench-devices.json"
# Snapshots: load to first guest output, create, Diff, clone memory (issue #5).
"$b/bench/bench_snapshot" "$b" "$b/bench-snapshot.json" "${BENCH_SNAPSHOT_RUNS:-11}"
echo "written: $b/bench-snapshot.json"
