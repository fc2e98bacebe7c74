#!/usr/bin/env bash
# The nested KVM test host: run a command inside a QEMU (TCG, emulated AMD SVM)
# VM that boots Debian's stock kernel with kvm_amd loaded, so the command sees
# a working /dev/kvm even where this machine has none. The VM's root is this
# machine's / (read-only, 9p) with the checkout shared read-write at the same
# path, so the project's binaries and scripts run unchanged. See README.md.
#
#   vmhost.sh check
#       exit 0 and print the kernel version when everything is present; else
#       exit 1 with one line per missing thing, naming the Debian package.
#   vmhost.sh run [--timeout S] [--stall S] [--env NAME]... -- CMD [ARG]...
#       boot the VM, run CMD as root in the caller's cwd (which must be
#       visible inside: under the checkout, or a read-only host path),
#       stream its stdout+stderr to our stdout, exit with its status.
#       Environment passed in: PATH, CI, EMBER_*, each --env NAME.
#       --timeout S  whole run limit (default: none)
#       --stall S    limit on CMD printing nothing (default VMHOST_STALL or 900);
#                    VMHOST_HEARTBEAT s (180) when the inner host's
#                    heartbeat has stopped too
#       Infrastructure failures print one "vmhost: ..." line on stderr and
#       exit 125. A one-line timing summary goes to stderr at the end.
# Environment: VMHOST_MEM (default 8G), VMHOST_CPUS (1), VMHOST_BOOT_TIMEOUT
#   (seconds, default 300), VMHOST_DIR, EMBER_KERNEL_DIR (see kernel.sh),
#   VMHOST_CGROUP=hybrid (cgroup v1 controllers + v2 at
#   /sys/fs/cgroup/unified, like systemd's hybrid layout; default: v2 only),
#   VMHOST_APPEND (extra kernel arguments), VMHOST_STALL, VMHOST_HEARTBEAT,
#   VMHOST_DUMP_WAIT (see stalled), VMHOST_KICK (see kick_cpu). The console of the last run is kept in
#   VMHOST_DIR/last-console.log.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export VMHOST_DIR=${VMHOST_DIR:-$ROOT/build/vmhost}
INFRA=125

QEMU=qemu-system-x86_64
RUN="" QEMU_PID="" TAIL_PID=""

infra() {
	echo "vmhost: $*" >&2
	exit $INFRA
}

# ---- check -------------------------------------------------------------------
# Lines "tool:Debian package" the host needs on this machine.
TOOLS="$QEMU:qemu-system-x86 busybox:busybox-static modprobe:kmod depmod:kmod cpio:cpio
xz:xz-utils dpkg-deb:dpkg apt-get:apt make:make cc:gcc readelf:binutils setpriv:util-linux
flock:util-linux tail:coreutils"

missing_tools() {
	local t bin
	PATH=$PATH:/sbin:/usr/sbin
	for t in $TOOLS; do
		bin=${t%%:*}
		command -v "$bin" >/dev/null || echo "$bin missing: install the Debian package ${t#*:}"
	done
	if command -v busybox >/dev/null && readelf -l "$(command -v busybox)" 2>/dev/null | grep -q INTERP; then
		echo "busybox is dynamically linked: install the Debian package busybox-static"
	fi
	if command -v cc >/dev/null && [ ! -e "$(cc -print-file-name=libc.a)" ]; then
		echo "static libc missing: install the Debian package libc6-dev"
	fi
}

# The kernel version: the unpacked one, else the one kernel.sh would fetch.
kernel_version() {
	local kdir=${EMBER_KERNEL_DIR:-$ROOT/build/kernel} pkg
	if [ -z "${EMBER_KERNEL_PKG:-}" ] && [ -f "$kdir/current/version" ]; then
		cat "$kdir/current/version"
		return
	fi
	pkg=${EMBER_KERNEL_PKG:-$(apt-cache depends linux-image-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ {print $2; exit}')}
	[ -n "$pkg" ] && echo "${pkg#linux-image-} (not fetched yet)"
}

cmd_check() {
	local missing kver
	missing=$(missing_tools)
	kver=$(kernel_version || true)
	[ -n "$kver" ] || missing+=${missing:+$'\n'}"kernel: apt-cache knows no linux-image-amd64: run apt-get update"
	if [ -n "$missing" ]; then
		echo "$missing"
		return 1
	fi
	echo "vmhost: ready, kernel $kver"
}

# ---- run ---------------------------------------------------------------------
# shellcheck disable=SC2317 # trap handlers
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$QEMU_PID" ]; then
		kill -KILL "$QEMU_PID" 2>/dev/null || true
		wait "$QEMU_PID" 2>/dev/null || true
	fi
	if [ -n "$TAIL_PID" ]; then
		kill "$TAIL_PID" 2>/dev/null || true
		wait "$TAIL_PID" 2>/dev/null || true
	fi
	if [ -n "$RUN" ]; then
		cp "$RUN/console" "$VMHOST_DIR/last-console.log" 2>/dev/null || true
		rm -rf "$RUN"
	fi
	exit "$rc"
}

# shellcheck disable=SC2317 # trap handler
on_signal() { # NAME CODE
	echo "vmhost: interrupted by SIG$1" >&2
	exit "$2"
}

# A SIGKILLed run (its QEMU dies with it) can only leave its temp dir behind:
# remove those whose vmhost.sh is gone.
sweep_stale_runs() {
	local d pid
	for d in "${TMPDIR:-/tmp}"/vmhost.*; do
		pid=$(cat "$d/pid" 2>/dev/null) || continue
		[ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null && rm -rf "$d"
	done
	true
}

# The script the init runs in the chroot: environment, cwd, CMD.
write_cmd() { # CWD ENV_NAMES CMD...
	local cwd=$1 names=$2 name
	shift 2
	{
		echo "export HOME=/root USER=root LOGNAME=root"
		for name in $names; do
			[ -n "${!name+set}" ] && printf 'export %s=%q\n' "$name" "${!name}"
		done
		printf 'cd -- %q 2>/dev/null || { echo "vmhost: %s is not visible inside the host" >&2; exit %d; }\n' \
			"$cwd" "$cwd" $INFRA
		printf 'exec'
		printf ' %q' "$@"
		echo
	} >"$RUN/cmd"
}

env_names() { # EXTRA_NAMES
	local names="PATH CI $*"
	names+=" $(compgen -e | grep '^EMBER_' || true)"
	# shellcheck disable=SC2086 # one line, single spaces
	echo $names
}

start_qemu() { # KDIR INITRAMFS
	# One vCPU by default: with two, multi-threaded TCG makes every cross-CPU
	# TLB flush (each fork, exec, munmap) a rendezvous of both vCPU threads,
	# which stalls whenever the host's cores are busy. Measured on 2 busy
	# cores: test_boot.sh 101 s with one vCPU, 260 s with two; boot 9 s vs
	# 13 s. It also rules out the cross-CPU text-patching lock-up.
	local kdir=$1 initramfs=$2 mem=${VMHOST_MEM:-8G} cpus=${VMHOST_CPUS:-1}
	# Boot-time savers under TCG: pci=noacpi (PCI interrupts routed without
	# running the ACPI link methods: ~0.2 s per virtio device), no crypto
	# self-tests, no IO-APIC timer check, one UART probed, no speculation
	# mitigations (nothing to protect; they cost every syscall).
	# sysrq_always_enabled: qemu_view's SysRq keys on a stall.
	local append="console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init mitigations=off sysrq_always_enabled"
	append+=" pci=noacpi cryptomgr.notests no_timer_check 8250.nr_uarts=1 ${VMHOST_APPEND:-}"
	local share=security_model=none,multidevs=remap
	# EPYC: a CPU model with SVM that TCG emulates. Minus what TCG lacks
	# anyway (it would only warn about each).
	local cpu=EPYC,-rdseed,-sha-ni,-fxsr-opt,-misalignsse,-3dnowprefetch,-osvw,-topoext,-nrip-save,-xsavec
	# The uncompressed ELF boots through PVH; decompressing vmlinuz under TCG
	# costs several seconds.
	local image=$kdir/vmlinux
	[ -f "$image" ] || image=$kdir/vmlinuz
	: >"$RUN/out"
	# pdeathsig: even a SIGKILLed vmhost.sh takes its QEMU along.
	setpriv --pdeathsig KILL "$QEMU" -nodefaults -no-user-config -display none -no-reboot \
		-accel tcg,thread=multi -cpu "$cpu" -smp "$cpus" -m "$mem" \
		-kernel "$image" -initrd "$initramfs" -append "$append" \
		-serial "file:$RUN/console" -monitor "unix:$RUN/monitor.sock,server=on,wait=off" \
		-device virtio-serial-pci,id=vser -chardev "file,id=out,path=$RUN/out" \
		-device virtserialport,bus=vser.0,chardev=out,name=vmhost.out \
		-device virtio-rng-pci \
		-virtfs "local,path=$RUN/share,mount_tag=vmhost.run,$share" \
		-virtfs "local,path=/,mount_tag=vmhost.root,$share,readonly=on" \
		-virtfs "local,path=$ROOT,mount_tag=vmhost.tree,$share" \
		</dev/null >"$RUN/qemu.log" 2>&1 &
	QEMU_PID=$!
}

# The last console lines, for a failed boot.
console_tail() {
	local f=$VMHOST_DIR/last-console.log
	cp "$RUN/console" "$f" 2>/dev/null || return 0
	echo "vmhost: console of the failed run: $f" >&2
	tail -n "${VMHOST_TAIL_LINES:-15}" "$f" | sed 's/^/vmhost:   /' >&2
}

# One HMP command to QEMU's monitor; its answer on stdout, or a line saying
# QEMU's main loop did not answer within 10 s (the monitor runs in it).
monitor() { # COMMAND
	python3 - "$RUN/monitor.sock" "$1" <<'PY'
import re, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
def until_prompt():
    buf = b""
    while not buf.endswith(b"(qemu) "):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    return buf
try:
    s.connect(sys.argv[1])
    until_prompt()
    s.sendall(sys.argv[2].encode() + b"\n")
    out = until_prompt().decode(errors="replace")
except OSError as e:
    print(f"(QEMU's monitor did not answer: {e})")
    sys.exit(0)
out = re.sub(r"\x1b\[[0-9;]*[A-Za-z]|\r", "", out).replace("(qemu) ", "")
print("\n".join(l for l in out.splitlines()[1:] if l.strip()))
PY
}

# What the inner host's CPU and kernel are doing, from outside it: QEMU's view
# of the vCPU (running or halted, where), then the kernel's own SysRq dumps on
# the console (all messages shown, blocked tasks, each CPU's backtrace). The
# PS/2 keyboard reaches the kernel even when its user space or 9p is stuck.
qemu_view() {
	local key
	monitor "info status" | sed 's/^/vmhost: qemu: /' >&2
	monitor "info registers" | grep -E '^(RIP|RSP|CR0|CR3)|HLT' | sed 's/^/vmhost: qemu: /' >&2
	for key in 8 w l; do
		monitor "sendkey alt-sysrq-$key" >/dev/null
	done
}

# CMD printed nothing for long (see supervise): ask the inner host for its
# tasks (init's dump_tasks over 9p, to the console) and QEMU for what it
# sees, then the console's tail says where things stopped; the inner
# kernel's own messages (hung tasks, lock-ups, OOM) are there too. No answer
# within VMHOST_DUMP_WAIT s (60): its user space or its 9p is stuck.
stalled() { # WHY
	local _ wait=${VMHOST_DUMP_WAIT:-60}
	local answered="did not answer within $wait s (frozen)"
	: >"$RUN/share/dump-request"
	qemu_view
	for _ in $(seq 1 $((wait * 5))); do
		[ -f "$RUN/share/dumped" ] && { answered="answered"; break; }
		kill -0 "$QEMU_PID" 2>/dev/null || break
		{ sleep 0.2; } 2>/dev/null
	done
	VMHOST_TAIL_LINES=150 console_tail
	infra "$1 (stall); the inner host $answered the task dump"
}

# Every VMHOST_KICK s (5): a Shift key press on the inner host's PS/2
# keyboard, which is an interrupt and nothing else (no console reads it).
# QEMU's emulated CPU was seen sitting halted in the idle loop for minutes,
# its timer interrupt never delivered ("soft lockup - CPU#0 stuck for 168s!
# [swapper/0:0]" once woken, the TSC 180 s on against the HPET's wrapped
# 8 s), until the stall's SysRq keys woke it and the run went on. Any
# interrupt ends such a sleep: with this one it lasts seconds, and the log
# says when it happened.
kick_cpu() { # NOW KICK
	local age
	age=$(heartbeat_age "$1")
	monitor "sendkey shift" >/dev/null
	[ "$age" -ge $((3 * $2 + 5)) ] &&
		echo "vmhost: no heartbeat from the inner host for $age s; woke its CPU with a key press" >&2
	return 0
}

# Seconds since the inner host's init last touched share/alive (every 5 s),
# or since it booted.
heartbeat_age() { # NOW
	local last
	last=$(stat -c %Y "$RUN/share/alive" 2>/dev/null) || last=${T_BOOTED%.*}
	echo $(($1 - last))
}

now() { date +%s.%N; }
# When QEMU wrote the file for the inner host: exact, unlike our polling.
mtime() { stat -c %.9Y "$1"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", b - a}'; }

# Wait for the status file, watching QEMU, the boot, the timeout and stalls.
supervise() { # TIMEOUT STALL
	local timeout=$1 stall=$2 boot_limit=${VMHOST_BOOT_TIMEOUT:-300}
	local heartbeat=${VMHOST_HEARTBEAT:-180} kick=${VMHOST_KICK:-5} last_kick=0
	local t0 t size last_size=-1 last_change
	t0=$(date +%s)
	last_change=$t0
	while :; do
		[ -f "$RUN/share/status" ] && return 0
		if [ -f "$RUN/share/error" ]; then
			console_tail
			infra "inner host: $(cat "$RUN/share/error")"
		fi
		if ! kill -0 "$QEMU_PID" 2>/dev/null; then
			[ -f "$RUN/share/status" ] && return 0
			local how=0
			{ wait "$QEMU_PID"; } 2>/dev/null || how=$?
			QEMU_PID=""
			how=$([ "$how" -gt 128 ] && echo "killed by signal $((how - 128))" || echo "status $how")
			sed 's/^/vmhost: qemu: /' "$RUN/qemu.log" >&2
			console_tail
			[ -z "$T_BOOTED" ] && infra "QEMU exited ($how) before the inner host booted"
			infra "QEMU exited ($how) before CMD finished"
		fi
		t=$(date +%s)
		if [ -z "$T_BOOTED" ]; then
			if [ -f "$RUN/share/booted" ]; then
				T_BOOTED=$(mtime "$RUN/share/booted")
				last_change=$t last_kick=$t
			elif [ $((t - t0)) -ge "$boot_limit" ]; then
				console_tail
				infra "the inner host did not boot within $boot_limit s"
			fi
		else
			[ $((t - last_kick)) -ge "$kick" ] && { kick_cpu "$t" "$kick"; last_kick=$t; }
			size=$(stat -c %s "$RUN/out")
			[ "$size" != "$last_size" ] && last_size=$size last_change=$t
			[ $((t - last_change)) -ge "$stall" ] && stalled "CMD printed nothing for $stall s"
			# Silent and no heartbeat either: the whole inner host (or its
			# 9p) is stuck, and waiting out STALL would only cost time.
			[ $((t - last_change)) -ge "$heartbeat" ] && [ "$(heartbeat_age "$t")" -ge "$heartbeat" ] &&
				stalled "CMD printed nothing for $((t - last_change)) s, nor the inner host's heartbeat for $(heartbeat_age "$t") s"
		fi
		[ "$timeout" -gt 0 ] && [ $((t - t0)) -ge "$timeout" ] && { console_tail; infra "timeout after $timeout s"; }
		# Bash reports a background job killed by a signal ("Killed  setpriv ...")
		# while it waits for a foreground command: not on our stderr.
		{ sleep 0.2; } 2>/dev/null
	done
}

cmd_run() {
	local timeout=0 stall=${VMHOST_STALL:-900} extra=""
	while [ $# -gt 0 ]; do
		case $1 in
		--timeout) timeout=${2:?--timeout needs seconds}; shift 2 ;;
		--stall) stall=${2:?--stall needs seconds}; shift 2 ;;
		--env) extra+=" ${2:?--env needs a name}"; shift 2 ;;
		--) shift; break ;;
		*) usage ;;
		esac
	done
	[ $# -gt 0 ] || usage
	[[ $timeout =~ ^[0-9]+$ && $stall =~ ^[0-9]+$ ]] || usage

	local missing kdir initramfs status t_start t_end
	missing=$(missing_tools)
	[ -z "$missing" ] || infra "$(echo "$missing" | head -n1) (vmhost.sh check lists all)"
	trap cleanup EXIT
	trap 'on_signal INT 130' INT
	trap 'on_signal TERM 143' TERM
	kdir=$("$HERE/kernel.sh") || infra "fetching the kernel failed"
	initramfs=$("$HERE/mkinitramfs.sh" "$kdir") || infra "building the initramfs failed"

	sweep_stale_runs
	RUN=$(mktemp -d "${TMPDIR:-/tmp}/vmhost.XXXXXX")
	echo $$ >"$RUN/pid"
	mkdir "$RUN/share"
	printf 'VMHOST_CHECKOUT=%q\nVMHOST_MODULES=%q\n' "$ROOT" \
		"$kdir/modules/lib/modules/$(cat "$kdir/version")" >"$RUN/share/config"
	[ "${VMHOST_CGROUP:-v2}" = hybrid ] && echo "VMHOST_CGROUP=hybrid" >>"$RUN/share/config"
	write_cmd "$PWD" "$(env_names "$extra")" "$@"
	cp "$RUN/cmd" "$RUN/share/cmd"

	T_BOOTED=""
	t_start=$(now)
	start_qemu "$kdir" "$initramfs"
	# CMD's output as it arrives; tail ends by itself once QEMU is gone.
	tail -c +1 -s 0.2 -f --pid="$QEMU_PID" "$RUN/out" &
	TAIL_PID=$!
	supervise "$timeout" "$stall"
	status=$(cat "$RUN/share/status")
	T_BOOTED=$(mtime "$RUN/share/booted")
	t_end=$(mtime "$RUN/share/status")
	wait_qemu_exit
	wait "$TAIL_PID" || true
	TAIL_PID=""
	echo "vmhost: boot $(secs "$t_start" "$T_BOOTED") s, command $(secs "$T_BOOTED" "$t_end") s, exit $status" >&2
	return "$status"
}

# The init powers off right after writing the status; give it a bounded while.
wait_qemu_exit() {
	local _
	for _ in $(seq 1 100); do
		kill -0 "$QEMU_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$QEMU_PID" 2>/dev/null || true
	wait "$QEMU_PID" 2>/dev/null || true
	QEMU_PID=""
}

usage() {
	sed -n '/^#   vmhost.sh check/,/^# Environment/p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

main() {
	case ${1-} in
	check) cmd_check ;;
	run) shift; cmd_run "$@" ;;
	*) usage ;;
	esac
}

# On one line: bash reads a script as it runs it, so a run in progress must
# not read further once main returns, e.g. after the file was edited.
main "$@"; exit
