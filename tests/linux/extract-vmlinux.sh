#!/usr/bin/env bash
# Extract the uncompressed ELF vmlinux from a bzImage.
#   tests/linux/extract-vmlinux.sh BZIMAGE OUT
# The setup header (Documentation/x86/boot.rst) locates the compressed kernel:
# setup_sects (0x1f1; 0 means 4) gives where the protected-mode part starts,
# payload_offset (0x248) and payload_length (0x24c) locate the payload in it.
# The payload's magic picks the decompressor (xz, gzip, zstd, lz4, bzip2,
# lzma); its trailing 4-byte size word is ignored (--single-stream etc.).
set -euo pipefail
die() { echo "extract-vmlinux: $*" >&2; exit 1; }
[ $# -eq 2 ] || die "usage: $0 BZIMAGE OUT"
img=$1 out=$2
[ -f "$img" ] || die "no such file: $img"

u8() { od -An -v -tu1 -j "$1" -N 1 "$img" | tr -d ' '; }
u32() { od -An -v -tu4 -j "$1" -N 4 "$img" | tr -d ' '; }
hex() { od -An -v -tx1 -j "$1" -N "$2" "$img" | tr -d ' \n'; }

[ "$(hex 0x202 4)" = 48647253 ] || die "$img: no 'HdrS' setup header (not a bzImage)"
setup_sects=$(u8 0x1f1)
[ "$setup_sects" -ne 0 ] || setup_sects=4
pm_start=$(((setup_sects + 1) * 512))
payload_offset=$(u32 0x248)
payload_length=$(u32 0x24c)
[ "$payload_length" -gt 0 ] || die "$img: payload_length is 0 (boot protocol < 2.08?)"
start=$((pm_start + payload_offset))
size=$(stat -c %s "$img")
[ $((start + payload_length)) -le "$size" ] || die "$img: payload beyond the end of the file"

magic=$(hex "$start" 6)
case $magic in
fd377a585a00*) dec=(xz -dc --single-stream) ;;
1f8b*) dec=(gzip -dc) ;;
28b52ffd*) dec=(zstd -dcq) ;;
02214c18*) dec=(lz4 -dcq) ;;
425a68*) dec=(bzip2 -dcq) ;;
5d0000*) dec=(xz -dc --format=lzma) ;;
*) die "$img: unknown payload magic $magic" ;;
esac
command -v "${dec[0]}" >/dev/null || die "${dec[0]} missing (needed for this payload)"

tmp=$out.tmp.$$
trap 'rm -f "$tmp"' EXIT
dd if="$img" bs=64K iflag=skip_bytes,count_bytes skip="$start" count="$payload_length" status=none |
	"${dec[@]}" >"$tmp" ||
	die "${dec[*]} failed on the payload"
[ "$(od -An -tx1 -N 4 "$tmp" | tr -d ' ')" = 7f454c46 ] || die "the decompressed payload is not an ELF file"
chmod 644 "$tmp"
mv "$tmp" "$out"
trap - EXIT
