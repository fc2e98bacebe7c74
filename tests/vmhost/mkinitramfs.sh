#!/usr/bin/env bash
# Build the nested test host's initramfs: static busybox, tests/vmhost/init,
# the static kvm_keepalive and the kernel modules the host needs before its
# root (the build machine's /, over 9p) is mounted, with their dependencies.
#
# Usage: tests/vmhost/mkinitramfs.sh [KERNEL]
#   KERNEL: an unpacked kernel dir (kernel.sh's output); default: run kernel.sh.
#   Prints the initramfs path (VMHOST_DIR/initramfs.cpio) on stdout.
#   Rebuilds only when an input changed (kernel version, module list, init,
#   busybox, kvm_keepalive, this script); the inputs' digest is kept in
#   VMHOST_DIR/initramfs.stamp.
# Environment: VMHOST_DIR (default <repo>/build/vmhost), EMBER_KERNEL_DIR
#   (see kernel.sh), CC (for kvm_keepalive, through vmhost.mk).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
VMHOST_DIR=${VMHOST_DIR:-$ROOT/build/vmhost}
PATH=$PATH:/sbin:/usr/sbin

# Loaded by init in this order, with these parameters. Everything else is
# loaded on demand from the full module tree once the root is mounted.
MODULES=(
	virtio_pci     # the transport of everything below
	virtio_console # CMD's output channel (a virtio-serial port)
	virtio_rng     # entropy, so nothing inside waits for the CRNG
	9pnet_virtio 9p # the host root and the checkout
	"kvm_amd nested=0" # what the tests are for; no nesting a third level
	tun veth bridge loop # tap devices, veth pairs in network namespaces
)

die() {
	echo "mkinitramfs.sh: $*" >&2
	exit 1
}

need_tools() {
	local t
	for t in busybox:busybox-static cpio:cpio depmod:kmod modprobe:kmod make:make; do
		command -v "${t%%:*}" >/dev/null || die "${t%%:*} missing (Debian package ${t#*:})"
	done
	# A dynamic busybox would need a libc in the initramfs.
	readelf -l "$(command -v busybox)" 2>/dev/null | grep -q INTERP &&
		die "$(command -v busybox) is dynamically linked: install busybox-static"
	true
}

# Print every .ko (relative to the module tree) that MODULES need, in load order.
module_files() { # KDIR KVER
	local spec name deps
	for spec in "${MODULES[@]}"; do
		name=${spec%% *}
		deps=$(modprobe -d "$1/modules" -S "$2" --show-depends "$name") ||
			die "module $name not found for kernel $2"
		awk '$1 == "insmod" {print $2}' <<<"$deps"
	done | sed "s#^$1/modules/##" | awk '!seen[$0]++'
}

# A digest of every input; equal digest = equal initramfs.
inputs_digest() { # KVER KEEPALIVE MODULE_FILES
	{
		echo "$1"
		printf '%s\n' "${MODULES[@]}" "$3"
		sha256sum "$HERE/init" "$HERE/mkinitramfs.sh" "$(command -v busybox)" "$2"
	} | sha256sum | cut -d' ' -f1
}

# Assemble the tree in TREE and write the newc archive to OUT.
build() { # KDIR KVER KEEPALIVE MODULE_FILES TREE OUT
	local kdir=$1 kver=$2 keepalive=$3 files=$4 tree=$5 out=$6 f spec
	mkdir -p "$tree"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,host,vmrun,etc/vmhost,lib/modules/"$kver"}
	cp "$(command -v busybox)" "$tree/bin/busybox"
	cp "$keepalive" "$tree/bin/kvm_keepalive"
	cp "$HERE/init" "$tree/init"
	chmod 0755 "$tree/init" "$tree/bin/busybox" "$tree/bin/kvm_keepalive"
	for f in $files; do
		mkdir -p "$tree/$(dirname "$f")"
		cp "$kdir/modules/$f" "$tree/$f"
	done
	cp "$kdir/modules/lib/modules/$kver"/modules.{order,builtin,builtin.modinfo} \
		"$tree/lib/modules/$kver/" 2>/dev/null || true
	depmod -b "$tree" "$kver"
	for spec in "${MODULES[@]}"; do echo "$spec"; done >"$tree/etc/vmhost/modules"
	(cd "$tree" && find . -mindepth 1 | LC_ALL=C sort |
		cpio --quiet -o -H newc -R 0:0 --reproducible) >"$out"
}

main() {
	need_tools
	local kdir kver keepalive files digest out
	kdir=${1:-$("$HERE/kernel.sh")}
	kdir=$(cd "$kdir" && pwd -P) # modprobe prints the paths under it as given
	kver=$(cat "$kdir/version")
	mkdir -p "$VMHOST_DIR"
	VMHOST_DIR=$(cd "$VMHOST_DIR" && pwd)
	# Concurrent callers (parallel test runs) wait for the first to finish.
	exec 9>"$VMHOST_DIR/.lock"
	flock 9
	keepalive=$VMHOST_DIR/kvm_keepalive
	out=$VMHOST_DIR/initramfs.cpio
	make --no-print-directory -s -C "$ROOT" -f tests/vmhost/vmhost.mk \
		VMHOST_DIR="$VMHOST_DIR" vmhost-keepalive >&2 || die "building kvm_keepalive failed"
	# Fast path: nothing newer than the archive and built for this kernel.
	if [ -f "$out" ] && [ "$(cat "$out.kver" 2>/dev/null)" = "$kver" ] &&
		[ -z "$(find "$HERE/init" "$HERE/mkinitramfs.sh" "$(command -v busybox)" \
			"$keepalive" -newer "$out" 2>/dev/null)" ]; then
		echo "$out"
		return
	fi
	files=$(module_files "$kdir" "$kver")
	digest=$(inputs_digest "$kver" "$keepalive" "$files")
	if [ -f "$out" ] && [ "$(cat "$out.stamp" 2>/dev/null)" = "$digest" ]; then
		touch "$out"
		echo "$kver" >"$out.kver"
		echo "$out"
		return
	fi
	echo "mkinitramfs.sh: building $out ($kver)" >&2
	TMPD=$(mktemp -d "$VMHOST_DIR/.initramfs.XXXXXX")
	trap 'rm -rf "$TMPD"' EXIT
	build "$kdir" "$kver" "$keepalive" "$files" "$TMPD/tree" "$TMPD/initramfs.cpio"
	mv "$TMPD/initramfs.cpio" "$out"
	echo "$digest" >"$out.stamp"
	echo "$kver" >"$out.kver"
	echo "$out"
}

main "$@"
