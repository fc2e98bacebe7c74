#!/usr/bin/env bash
# Fetch and unpack Debian's current stock amd64 kernel (no root needed once
# `apt-get update` has run). It is both the kernel of the nested KVM test host
# (tests/vmhost/vmhost.sh) and the Linux guest Ember boots in the Linux tests.
#
# Usage: tests/vmhost/kernel.sh [KERNEL_DIR]
#   KERNEL_DIR defaults to $EMBER_KERNEL_DIR, else <repo>/build/kernel.
#   Prints the absolute path of the unpacked kernel dir on stdout (one line),
#   progress on stderr. Idempotent: an already unpacked version is not
#   downloaded or unpacked again. Exit 1 with a message on failure.
#
# Layout (KVER e.g. 6.1.0-57-amd64):
#   KERNEL_DIR/KVER/vmlinuz        bzImage (Debian's boot/vmlinuz-KVER)
#   KERNEL_DIR/KVER/vmlinux        the same kernel uncompressed (ELF, with the
#                                  PVH entry note); QEMU boots it ~6x faster
#                                  under TCG than decompressing vmlinuz itself
#   KERNEL_DIR/KVER/config         the kernel's .config
#   KERNEL_DIR/KVER/System.map     Debian ships a stub here (the real one is
#                                  in linux-image-KVER-dbg)
#   KERNEL_DIR/KVER/version        KVER, one line
#   KERNEL_DIR/KVER/modules/lib/modules/KVER/...   depmod'ed module tree:
#       modprobe -d KERNEL_DIR/KVER/modules -S KVER NAME   resolves dependencies
#   KERNEL_DIR/current -> KVER     symlink to the newest fetched version
#   KERNEL_DIR/cache/*.deb         the downloaded package
# Environment: EMBER_KERNEL_PKG overrides the package (e.g.
#   linux-image-6.1.0-57-amd64); default: what linux-image-amd64 depends on.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

die() {
	echo "kernel.sh: $*" >&2
	exit 1
}

# The versioned image package the linux-image-amd64 metapackage points to now.
# apt-cache takes a second: its answer is kept in DEST/.resolved until apt's
# package lists change (apt-get update).
resolve_pkg() { # DEST
	if [ -n "${EMBER_KERNEL_PKG:-}" ]; then
		echo "$EMBER_KERNEL_PKG"
		return
	fi
	local pkg lists=/var/lib/apt/lists
	if [ -s "$1/.resolved" ] && [ "$1/.resolved" -nt "$lists" ]; then
		cat "$1/.resolved"
		return
	fi
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ {print $2; exit}')
	[ -n "$pkg" ] || die "apt-cache knows no linux-image-amd64; run 'apt-get update' (as root) first"
	echo "$pkg" >"$1/.resolved"
	echo "$pkg"
}

# Download PKG into CACHE unless a .deb of it is already there; print its path.
download() { # PKG CACHE
	local pkg=$1 cache=$2 deb
	deb=$(find_deb "$pkg" "$cache")
	if [ -z "$deb" ]; then
		echo "kernel.sh: downloading $pkg" >&2
		# apt-get download writes to the cwd; a partial file never gets the final name.
		# As root, apt would warn that its _apt sandbox user cannot write here.
		local sandbox=()
		[ "$(id -u)" = 0 ] && sandbox=(-o APT::Sandbox::User=root)
		(cd "$cache" && apt-get download -q "${sandbox[@]}" "$pkg" >&2) ||
			die "apt-get download $pkg failed (network? 'apt-get update'?)"
		deb=$(find_deb "$pkg" "$cache")
		[ -n "$deb" ] || die "apt-get download left no ${pkg}_*.deb in $cache"
	fi
	echo "$deb"
}

find_deb() { # PKG CACHE
	local f
	for f in "$2/$1"_*.deb; do
		[ -f "$f" ] && { echo "$f"; return; }
	done
	true
}

# Unpack DEB into DEST/KVER with the layout above; the work happens in a temp
# dir renamed into place at the end, so an interrupted run leaves no half tree.
unpack() { # DEB DEST KVER
	local deb=$1 dest=$2 kver=$3 tmp
	tmp=$(mktemp -d "$dest/.unpack.XXXXXX")
	TMPD=$tmp
	trap 'rm -rf "$TMPD"' EXIT
	echo "kernel.sh: unpacking $(basename "$deb")" >&2
	dpkg-deb -x "$deb" "$tmp/root"
	local out=$tmp/$kver
	mkdir -p "$out/modules/lib/modules"
	mv "$tmp/root/boot/vmlinuz-$kver" "$out/vmlinuz"
	mv "$tmp/root/boot/config-$kver" "$out/config"
	mv "$tmp/root/boot/System.map-$kver" "$out/System.map"
	mv "$tmp/root/lib/modules/$kver" "$out/modules/lib/modules/$kver"
	depmod -b "$out/modules" "$kver"
	echo "$kver" >"$out/version"
	rm -rf "${dest:?}/$kver"
	mv "$out" "$dest/$kver"
	rm -rf "$tmp"
	trap - EXIT
}

# Uncompress the bzImage's payload (Debian builds with CONFIG_KERNEL_XZ) into
# an ELF vmlinux next to it, atomically.
extract_vmlinux() { # KDIR
	local k=$1 off
	grep -qx 'CONFIG_KERNEL_XZ=y' "$k/config" || die "$k/vmlinuz is not XZ-compressed; cannot extract vmlinux"
	command -v xz >/dev/null || die "xz missing (Debian package xz-utils)"
	off=$(LC_ALL=C grep -obUaP -m1 '\xfd7zXZ\x00' "$k/vmlinuz" | head -n1 | cut -d: -f1)
	[ -n "$off" ] || die "no XZ stream found in $k/vmlinuz"
	# The stream is followed by the bzImage's trailer: read one stream only
	# (and xz stops reading there: no pipe, or tail's SIGPIPE fails it).
	xz -dc --single-stream <(tail -c +$((off + 1)) "$k/vmlinuz") >"$k/vmlinux.tmp" ||
		die "decompressing $k/vmlinuz failed"
	[ "$(head -c4 "$k/vmlinux.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] ||
		die "$k/vmlinuz's payload is not an ELF image"
	mv "$k/vmlinux.tmp" "$k/vmlinux"
}

main() {
	local dest=${1:-${EMBER_KERNEL_DIR:-$ROOT/build/kernel}}
	command -v dpkg-deb >/dev/null || die "dpkg-deb missing (Debian package dpkg)"
	command -v depmod >/dev/null || command -v /sbin/depmod >/dev/null ||
		die "depmod missing (Debian package kmod)"
	PATH=$PATH:/sbin:/usr/sbin
	mkdir -p "$dest/cache"
	dest=$(cd "$dest" && pwd)
	# Concurrent callers (parallel test runs) wait for the first to finish.
	exec 9>"$dest/.lock"
	flock 9

	local pkg kver
	pkg=$(resolve_pkg "$dest")
	kver=${pkg#linux-image-}
	if [ ! -f "$dest/$kver/version" ]; then
		unpack "$(download "$pkg" "$dest/cache")" "$dest" "$kver"
		# Older packages are kept in the cache only while current.
		find "$dest/cache" -name 'linux-image-*.deb' ! -name "${pkg}_*.deb" -delete
	fi
	[ -f "$dest/$kver/vmlinux" ] || extract_vmlinux "$dest/$kver"
	# Replaced atomically (rename): a reader never finds it missing.
	if [ "$(readlink "$dest/current" 2>/dev/null)" != "$kver" ]; then
		ln -sfn "$kver" "$dest/.current.tmp"
		mv -T "$dest/.current.tmp" "$dest/current"
	fi
	echo "$dest/$kver"
}

main "$@"
