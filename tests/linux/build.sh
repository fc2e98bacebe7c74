#!/usr/bin/env bash
# Build the Linux guest artefacts from Debian packages (no root, no downloads
# beyond the package archive, which tests/vmhost/kernel.sh uses).
#
# Usage: tests/linux/build.sh OUT        (OUT: e.g. build/linux)
# Output:
#   OUT/vmlinuz          Debian's stock kernel (bzImage), the same kernel as the
#                        nested test host's (tests/vmhost/kernel.sh)
#   OUT/vmlinux          the uncompressed ELF, extracted from vmlinuz
#   OUT/version          the kernel version
#   OUT/initramfs.cpio   busybox-static, the virtio/vsock/ext4 modules with their
#                        dependencies (load order in /etc/ember-modules) and
#                        tests/linux/guest/init as /init
#   OUT/rootfs.ext4      64 MiB ext4 (mkfs.ext4 -d): busybox, socat with its
#                        libraries, /ember/init, /ember/hello
#   OUT/rootfs-part.img  the same filesystem in partition 1 of a DOS-labelled
#                        disk, PARTUUID $PART_UUID (see below)
# Each artefact is rebuilt only when a digest of its inputs changes.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PATH=$PATH:/sbin:/usr/sbin

# The modules the guest loads (dependencies are resolved from modules.dep).
MODULES="virtio_mmio virtio_blk virtio_net vmw_vsock_virtio_transport virtio_rng virtio_balloon virtio_pmem nd_pmem virtio_mem ext4"
DISK_ID=0x454d4252		# "EMBR": the DOS disk signature -> PARTUUID 454d4252-01
ROOTFS_MIB=64
HELLO="hello from the ember root filesystem"

die() { echo "linux/build.sh: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: $0 OUT"
mkdir -p "$1"
OUT=$(cd "$1" && pwd)

for t in busybox:busybox-static cpio:cpio modprobe:kmod mkfs.ext4:e2fsprogs sfdisk:fdisk \
	socat:socat xz:xz-utils ldd:libc-bin; do
	command -v "${t%%:*}" >/dev/null || die "${t%%:*} missing (Debian package ${t#*:})"
done
BUSYBOX=$(command -v busybox)
readelf -l "$BUSYBOX" 2>/dev/null | grep -q INTERP && die "$BUSYBOX is dynamically linked: install busybox-static"
SOCAT=$(command -v socat)

KDIR=$("$ROOT/tests/vmhost/kernel.sh") || die "tests/vmhost/kernel.sh failed"
KVER=$(cat "$KDIR/version")

# fresh NAME INPUTS...: true when OUT/NAME is up to date with INPUTS' digest;
# else false, and stamp NAME writes the digest after a successful build.
digest() { { printf '%s\n' "$@"; sha256sum "${@:2}" 2>/dev/null; } | sha256sum | cut -d' ' -f1; }
fresh() { [ -f "$OUT/$1" ] && [ "$(cat "$OUT/$1.stamp" 2>/dev/null)" = "$(digest "$@")" ]; }
stamp() { digest "$@" >"$OUT/$1.stamp"; }

TMPD=$(mktemp -d "$OUT/.build.XXXXXX")
trap 'rm -rf "$TMPD"' EXIT

# ---- kernel -------------------------------------------------------------------
if ! fresh vmlinux "$KDIR/vmlinuz" "$HERE/extract-vmlinux.sh"; then
	echo "linux/build.sh: kernel $KVER" >&2
	cp "$KDIR/vmlinuz" "$OUT/vmlinuz"
	"$HERE/extract-vmlinux.sh" "$OUT/vmlinuz" "$OUT/vmlinux"
	cp "$KDIR/config" "$OUT/config"
	echo "$KVER" >"$OUT/version"
	stamp vmlinux "$KDIR/vmlinuz" "$HERE/extract-vmlinux.sh"
fi

# ---- busybox tree (both images) ------------------------------------------------
busybox_tree() { # DIR
	mkdir -p "$1/bin"
	cp "$BUSYBOX" "$1/bin/busybox"
	local a
	for a in $("$BUSYBOX" --list); do
		[ "$a" = busybox ] || ln -sf busybox "$1/bin/$a"
	done
	ln -sfn bin "$1/sbin"
}

# A newc cpio entry with no data (directory or device node) in pure printf:
# mknod needs root, the kernel does not care who made the archive.
newc_entry() { # NAME MODE(octal) RDEVMAJOR RDEVMINOR
	local name=$1 namesize=$((${#1} + 1)) pad
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		0 $((8#$2)) 0 0 1 0 0 0 0 "$3" "$4" "$namesize" 0
	printf '%s\0' "$name"
	pad=$(((4 - (110 + namesize) % 4) % 4))
	[ "$pad" -eq 0 ] || head -c "$pad" /dev/zero
}

# ---- initramfs -------------------------------------------------------------------
module_files() {
	local m
	for m in $MODULES; do
		modprobe -d "$KDIR/modules" -S "$KVER" --show-depends "$m" ||
			die "module $m not found for $KVER"
	done | awk '$1 == "insmod" {print $2}' | sed "s#^$KDIR/modules/lib/modules/$KVER/##" | awk '!seen[$0]++'
}
MODFILES=$(module_files)
if ! fresh initramfs.cpio "$HERE/guest/init" "$HERE/build.sh" "$BUSYBOX" "$KDIR/version" /dev/null \
	|| [ "$(cat "$OUT/initramfs.modules" 2>/dev/null)" != "$MODFILES" ]; then
	echo "linux/build.sh: initramfs.cpio" >&2
	T=$TMPD/initramfs
	busybox_tree "$T"
	mkdir -p "$T"/{dev,proc,sys,tmp,newroot,etc,lib/modules}
	cp "$HERE/guest/init" "$T/init"
	chmod 755 "$T/init"
	: >"$T/ember-initramfs"
	for f in $MODFILES; do
		mkdir -p "$T/lib/modules/$(dirname "$f")"
		cp "$KDIR/modules/lib/modules/$KVER/$f" "$T/lib/modules/$f"
	done
	echo "$MODFILES" >"$T/etc/ember-modules"
	{
		# /dev/console must exist before /init runs (the kernel opens it for
		# init's stdin/stdout/stderr); a first archive holds just that node.
		newc_entry dev 040755 0 0
		newc_entry dev/console 020600 5 1
		newc_entry 'TRAILER!!!' 0 0 0
		(cd "$T" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible)
	} >"$TMPD/initramfs.cpio"
	mv "$TMPD/initramfs.cpio" "$OUT/initramfs.cpio"
	echo "$MODFILES" >"$OUT/initramfs.modules"
	stamp initramfs.cpio "$HERE/guest/init" "$HERE/build.sh" "$BUSYBOX" "$KDIR/version" /dev/null
fi

# ---- root filesystem ---------------------------------------------------------------
if ! fresh rootfs.ext4 "$HERE/guest/init" "$HERE/build.sh" "$BUSYBOX" "$SOCAT"; then
	echo "linux/build.sh: rootfs.ext4, rootfs-part.img" >&2
	R=$TMPD/rootfs
	busybox_tree "$R"
	mkdir -p "$R"/{dev,proc,sys,tmp,run,mnt,ember,usr/bin}
	cp "$HERE/guest/init" "$R/ember/init"
	chmod 755 "$R/ember/init"
	echo "$HELLO" >"$R/ember/hello"
	cp "$SOCAT" "$R/usr/bin/socat"
	for lib in $(ldd "$SOCAT" | grep -oE '/[^ ]+'); do
		mkdir -p "$R$(dirname "$lib")"
		cp -L "$lib" "$R$lib"
	done
	rm -f "$TMPD/rootfs.ext4"
	mkfs.ext4 -q -F -L ember-root -U 454d4252-0000-4000-8000-000000000001 \
		-E root_owner=0:0 -d "$R" "$TMPD/rootfs.ext4" "${ROOTFS_MIB}M" >/dev/null ||
		die "mkfs.ext4 failed"
	# Partition 1 at 1 MiB of a DOS-labelled disk, same filesystem.
	truncate -s $((ROOTFS_MIB + 2))M "$TMPD/rootfs-part.img"
	printf 'label: dos\nlabel-id: %s\nstart=2048, size=%d, type=83\n' \
		"$DISK_ID" $((ROOTFS_MIB * 2048)) | sfdisk -q "$TMPD/rootfs-part.img" >/dev/null ||
		die "sfdisk failed"
	dd if="$TMPD/rootfs.ext4" of="$TMPD/rootfs-part.img" bs=1M seek=1 conv=notrunc,sparse status=none
	mv "$TMPD/rootfs.ext4" "$OUT/rootfs.ext4"
	mv "$TMPD/rootfs-part.img" "$OUT/rootfs-part.img"
	stamp rootfs.ext4 "$HERE/guest/init" "$HERE/build.sh" "$BUSYBOX" "$SOCAT"
fi
echo "$OUT"
