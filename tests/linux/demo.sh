#!/usr/bin/env bash
# make demo, with a real Linux guest: Debian's stock kernel with its root
# drive, a network interface and an entropy device, configured through curl
# over the API socket; the guest's own output; pause, snapshot, restore in a
# new ember process; the timings. Needs a /dev/kvm that runs Linux (make demo
# runs this inside the nested KVM host when this machine has none).
# Usage: tests/linux/demo.sh BUILD
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=$(cd "${1:-build}" && pwd)
EMBER=$BUILD/ember
L=$BUILD/linux
for f in "$EMBER" "$L/vmlinux" "$L/initramfs.cpio" "$L/rootfs.ext4"; do
	[ -e "$f" ] || { echo "demo: $f is missing (make all linux-guest BUILD=$BUILD)" >&2; exit 1; }
done

# The whole demo in a network namespace of its own: the tap and its address
# exist only there and vanish with it.
if [ "${EMBER_DEMO_NETNS:-}" != 1 ]; then
	EMBER_DEMO_NETNS=1 exec unshare --net -- "$0" "$@"
fi

DIR=$(mktemp -d /tmp/ember-demo.XXXXXX)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	rm -rf "$DIR"
}
trap cleanup EXIT

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
ms_since() { echo $(($(now_ms) - $1)); }

# call METHOD PATH [JSON]: show the curl command, run it, show the answer.
call() {
	local method=$1 path=$2 body=${3-} out code
	printf '$ curl --unix-socket %s -X %s http://localhost%s%s\n' "$SOCK" "$method" "$path" \
		"${body:+ -d '$body'}"
	out=$(curl -s --max-time 60 --unix-socket "$SOCK" -X "$method" "http://localhost$path" \
		${body:+-d "$body"} -w '\n%{http_code}')
	code=${out##*$'\n'}
	out=${out%$'\n'*}
	echo "  -> $code${out:+ $out}"
	case $code in 2??) ;; *) echo "demo: $method $path failed" >&2; exit 1 ;; esac
}

# start_ember NAME: an ember whose console goes to DIR/NAME.out and whose
# console input is the fifo DIR/NAME.in (the guest's command server reads it).
start_ember() {
	SOCK=$DIR/$1.sock OUT=$DIR/$1.out
	mkfifo "$DIR/$1.in"
	exec {IN}<>"$DIR/$1.in"
	"$EMBER" --api-sock "$SOCK" <"$DIR/$1.in" >"$OUT" 2>"$DIR/$1.log" &
	EMBER_PID=$!
	PIDS+=("$EMBER_PID")
	for _ in $(seq 1 500); do [ -S "$SOCK" ] && return 0; sleep 0.01; done
	echo "demo: ember's API socket never appeared: $(tail -3 "$DIR/$1.log")" >&2
	exit 1
}

# wait_line REGEX [TIMEOUT_S]: a guest report line "EMBER-TEST: REGEX" on the console.
wait_line() {
	local end=$((SECONDS + ${2:-600}))
	until grep -aqE "EMBER-TEST: ($1)" "$OUT"; do
		kill -0 "$EMBER_PID" 2>/dev/null || { echo "demo: ember exited: $(tail -3 "$DIR"/*.log)" >&2; exit 1; }
		[ $SECONDS -lt $end ] || { echo "demo: the guest never printed '$1'" >&2; exit 1; }
		sleep 0.1
	done
}

# guest N CMD: run CMD in the guest (its init's command server), show its output.
guest() {
	local from
	from=$(wc -l <"$OUT")
	echo "guest\$ $2"
	printf '%s %s\n' "$1" "$2" >&"$IN"
	wait_line "$1 rc=[0-9]+"
	tail -n +"$((from + 1))" "$OUT" | tr -d '\r' | grep -av "EMBER-TEST: $1 rc=" | sed 's/^/  | /'
}

ip tuntap add dev tap0 mode tap
ip addr add 169.254.100.1/30 dev tap0
ip link set tap0 up
cp --sparse=always "$L/rootfs.ext4" "$DIR/rootfs.ext4"

bold "Configure a VM through the API (Firecracker's, curl over a Unix socket)"
start_ember vm1
call PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 256}'
call PUT /boot-source "{\"kernel_image_path\": \"$L/vmlinux\", \"initrd_path\": \"$L/initramfs.cpio\", \"boot_args\": \"console=ttyS0 quiet reboot=k panic=1 pci=off initcall_blacklist=cmos_init cryptomgr.notests ember.t=cmd\"}"
call PUT /drives/rootfs "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$DIR/rootfs.ext4\", \"is_root_device\": true, \"is_read_only\": false}"
call PUT /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "06:00:a9:fe:64:02"}'
call PUT /entropy '{}'

bold "Boot Debian's stock kernel ($(cat "$L/version")); devices found through ACPI"
t0=$(now_ms)
call PUT /actions '{"action_type": "InstanceStart"}'
wait_line "cmd=ready"
boot_ms=$(ms_since "$t0")
echo "InstanceStart -> the guest's init ready: $boot_ms ms"
guest 1 "uname -a"
guest 2 "cat /proc/cmdline"
guest 3 "nproc; grep MemTotal /proc/meminfo"
guest 4 "cat /proc/partitions; mount | grep ' / '"
guest 5 "ip addr add 169.254.100.2/30 dev eth0 && ip link set eth0 up && ip addr show eth0"
guest 6 "ping -c 2 -W 5 169.254.100.1"
guest 7 "cat /sys/class/misc/hw_random/rng_current; head -c 16 /dev/hwrng | od -An -tx1"
guest 8 "echo written-before-the-snapshot > /root-note && sync && cat /root-note"

bold "Pause, snapshot, and restore in a new ember process"
call PATCH /vm '{"state": "Paused"}'
t0=$(now_ms)
call PUT /snapshot/create "{\"snapshot_path\": \"$DIR/vm.snap\", \"mem_file_path\": \"$DIR/vm.mem\", \"snapshot_type\": \"Full\"}"
create_ms=$(ms_since "$t0")
ls -l --block-size=K "$DIR/vm.snap" "$DIR/vm.mem" | sed 's/^/  /'
kill -9 "$EMBER_PID"; wait "$EMBER_PID" 2>/dev/null || true
echo "(the first ember process is gone)"
start_ember vm2
t0=$(now_ms)
call PUT /snapshot/load "{\"snapshot_path\": \"$DIR/vm.snap\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$DIR/vm.mem\"}, \"resume_vm\": true}"
load_ms=$(ms_since "$t0")
guest 9 "echo restored; cat /root-note; uptime"
guest 10 "ping -c 1 -W 5 169.254.100.1 | head -2"

bold "End the VM from inside: reboot -f (reboot=k ends the ember process with 0)"
printf '11 reboot -f\n' >&"$IN"
rc=0
wait "$EMBER_PID" || rc=$?
echo "ember exited with code $rc"
echo "  ember log: $(grep -c . "$DIR/vm2.log") lines, e.g.:"
grep -a -E "load snapshot|Received reset|exiting" "$DIR"/vm*.log | sed 's/^.*\] /    /' | head -5

bold "Timings (wall clock here; in the nested KVM host guest code is emulated, so these are not Ember's speed)"
printf '  %-44s %8s ms\n' "InstanceStart -> Linux init ready" "$boot_ms" \
	"PUT /snapshot/create (Full, 256 MiB)" "$create_ms" \
	"PUT /snapshot/load with resume_vm" "$load_ms"
[ "$rc" = 0 ]
