#!/usr/bin/env bash
# Where KVM tests can run on this machine. Prints one line:
#   direct          here, on /dev/kvm
#   nested          inside tests/vmhost/vmhost.sh run (a QEMU-TCG VM with a working /dev/kvm)
#   none: <reason>  nowhere; the KVM tests skip with this reason
# Usage: tests/kvm_mode.sh [--for tiny|linux]
#   tiny  (default) Ember's small test guest: direct when /dev/kvm is
#         read/writable and KVM_CREATE_VM works on it.
#   linux a real Linux kernel: direct only when, in addition, the CPU has
#         hardware virtualization (vmx/svm in /proc/cpuinfo); without it a
#         /dev/kvm (e.g. an emulated one) cannot boot Linux in useful time.
# Otherwise nested when `tests/vmhost/vmhost.sh check` succeeds, else none.
# EMBER_TEST_KVM=direct|nested|none[: reason] overrides the answer.
set -u
cd "$(dirname "$0")/.."

what=tiny
case ${1-} in
--for) what=${2-}; shift 2 ;;
--for=*) what=${1#--for=}; shift ;;
"") ;;
*) echo "usage: tests/kvm_mode.sh [--for tiny|linux]" >&2; exit 2 ;;
esac
case $what in tiny | linux) ;; *) echo "kvm_mode.sh: --for tiny|linux, not '$what'" >&2; exit 2 ;; esac

case ${EMBER_TEST_KVM:-} in
"") ;;
direct | nested) echo "$EMBER_TEST_KVM"; exit 0 ;;
none) echo "none: EMBER_TEST_KVM=none"; exit 0 ;;
none:*) echo "$EMBER_TEST_KVM"; exit 0 ;;
*) echo "kvm_mode.sh: EMBER_TEST_KVM must be direct, nested or none, not '$EMBER_TEST_KVM'" >&2; exit 2 ;;
esac

# Why KVM cannot run here (empty: it can).
direct_problem() {
	if [ ! -e /dev/kvm ]; then
		echo "no /dev/kvm"
	elif [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
		echo "/dev/kvm is not read/writable by $(id -un)"
	elif ! command -v python3 >/dev/null; then
		echo "python3 missing (needed to probe KVM_CREATE_VM)"
	elif ! err=$(python3 -c '
import fcntl, os, sys
KVM_GET_API_VERSION, KVM_CREATE_VM = 0xAE00, 0xAE01
fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
if fcntl.ioctl(fd, KVM_GET_API_VERSION, 0) != 12:
    sys.exit("KVM API version is not 12")
os.close(fcntl.ioctl(fd, KVM_CREATE_VM, 0))
' 2>&1); then
		echo "KVM_CREATE_VM fails: $(printf '%s' "$err" | tail -n 1)"
	elif [ "$what" = linux ] && ! grep -qwE 'vmx|svm' /proc/cpuinfo; then
		echo "the CPU has no hardware virtualization (no vmx/svm flag): /dev/kvm cannot boot Linux in useful time"
	fi
}

problem=$(direct_problem)
if [ -z "$problem" ]; then
	echo direct
	exit 0
fi
if [ -x tests/vmhost/vmhost.sh ] || [ -f tests/vmhost/vmhost.sh ]; then
	if vm=$(bash tests/vmhost/vmhost.sh check 2>&1); then
		echo nested
		exit 0
	fi
	echo "none: $problem; nested host unusable: $(printf '%s' "$vm" | head -n 3 | tr '\n' ';' | sed 's/;$//')"
	exit 0
fi
echo "none: $problem; no tests/vmhost/vmhost.sh for a nested host"
