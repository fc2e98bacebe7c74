#!/usr/bin/env bash
# make demo: boot the bundled test guest through the REST API, the way a
# Firecracker client would, and show what happened.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
EMBER=$BUILD/ember
GUEST=$BUILD/guest/test-guest.elf

if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "demo: /dev/kvm is missing or not accessible to $(id -un); Ember needs KVM." >&2
	exit 1
fi
dir=$(mktemp -d /tmp/ember-demo.XXXXXX)
trap 'kill -9 $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
sock=$dir/api.sock

ms() { date +%s%N | awk '{printf "%.3f", $1 / 1e6}'; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a - b}'; }
call() { # METHOD PATH [JSON]
	local t0 t1 out
	echo "\$ curl --unix-socket $sock -X $1 http://localhost$2 ${3:+-d '$3'}"
	t0=$(ms)
	if [ $# -ge 3 ]; then
		out=$(curl -s -w ' -> HTTP %{http_code}' --unix-socket "$sock" -X "$1" \
			-H 'Content-Type: application/json' -d "$3" "http://localhost$2")
	else
		out=$(curl -s -w ' -> HTTP %{http_code}' --unix-socket "$sock" -X "$1" "http://localhost$2")
	fi
	t1=$(ms)
	printf '  %s  (%s ms)\n' "$out" "$(sub "$t1" "$t0")"
}

echo "== starting ember (API socket $sock)"
t_spawn=$(ms)
"$EMBER" --api-sock "$sock" --boot-timer --level Info >"$dir/serial" 2>"$dir/log" </dev/null &
pid=$!
# At most 5 s, and not at all once ember has exited.
for _ in $(seq 5000); do
	[ -S "$sock" ] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.001
done
if [ ! -S "$sock" ]; then
	echo "demo: ember did not open its API socket (within 5 s); its log:" >&2
	sed 's/^/   | /' "$dir/log" >&2
	exit 1
fi
echo "   socket ready after $(sub "$(ms)" "$t_spawn") ms"
echo
call GET /
call PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 128}'
call PUT /boot-source "{\"kernel_image_path\": \"$GUEST\", \"boot_args\": \"console=ttyS0 reboot=k panic=1 ember.boottimer ember.test=hello\"}"
call GET /vm/config
call PUT /actions '{"action_type": "InstanceStart"}'
t_start=$(ms)
code=0
wait $pid || code=$?
t_end=$(ms)
echo
echo "== guest serial output"
sed 's/^/   | /' "$dir/serial"
echo
echo "== ember log"
sed 's/^/   | /' "$dir/log"
echo
echo "== ember exited with code $code, $(sub "$t_end" "$t_start") ms after InstanceStart"
echo "   (the guest's instructions are emulated on this nested-KVM host; see 'make bench' for VMM timings)"
