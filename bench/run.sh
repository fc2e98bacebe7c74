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
