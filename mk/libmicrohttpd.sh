#!/bin/sh
# A private, static, HTTPS-free libmicrohttpd for Ember (issue #12).
#
#   mk/libmicrohttpd.sh fetch CACHE_DIR APT_DIR
#       Downloads Debian's libmicrohttpd source package (.dsc + tarballs) into
#       CACHE_DIR with `apt-get source --download-only`, using a private apt
#       state in APT_DIR: its own sources.list holding deb-src lines for the
#       Debian/Ubuntu archives the machine already uses, its own lists and
#       cache. The machine's apt configuration is only read, never changed.
#       Does nothing when CACHE_DIR already holds a source package.
#   mk/libmicrohttpd.sh build CACHE_DIR WORK_DIR PREFIX
#       Unpacks the cached source (dpkg-source -x, Debian's patches applied)
#       in WORK_DIR, applies Ember's own patches (mk/patches/libmicrohttpd-*.patch,
#       in name order: each says what it changes and why), configures it
#       without HTTPS, static only, with nothing Ember does not use, and
#       installs it into PREFIX (PREFIX/lib/pkgconfig holds libmicrohttpd.pc).
#       Works offline. Rebuilt only when PREFIX's stamp does not name the
#       cached .dsc, these options and the patches' checksums.
#
# Environment: MHD_SOURCE_PACKAGE (default libmicrohttpd), CC, JOBS,
# MHD_FETCH_TRIES (attempts at apt-get update and source, default 5).
set -eu
# Called from make: the caller's make variables must not reach libmicrohttpd's Makefiles.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES

pkg=${MHD_SOURCE_PACKAGE:-libmicrohttpd}
patches_dir=$(cd "$(dirname "$0")" && pwd)/patches
mode=${1:-}

die() { echo "libmicrohttpd: $*" >&2; exit 1; }
abspath() { mkdir -p "$1" && (cd "$1" && pwd); }

# Every `deb` entry of the machine's own apt sources (one-line and deb822
# formats) that points at a Debian or Ubuntu archive, printed as
# "OPTIONS URI SUITE COMPONENTS...", once each (OPTIONS: "[...]" or "-").
configured_archives() {
	etc=$(apt-config shell d Dir::Etc/d | sed "s/^d='\(.*\)'$/\1/")
	list=$(apt-config shell f Dir::Etc::sourcelist/f | sed "s/^f='\(.*\)'$/\1/")
	parts=$(apt-config shell p Dir::Etc::sourceparts/d | sed "s/^p='\(.*\)'$/\1/")
	: "${etc:=/etc/apt/}" "${list:=${etc}sources.list}" "${parts:=${etc}sources.list.d/}"
	{
		for f in "$list" "$parts"/*.list; do
			[ -f "$f" ] || continue
			# deb [options] uri suite component...
			sed -e 's/#.*//' "$f" | awk '$1 == "deb" {
				$1 = ""; sub(/^ +/, ""); opts = "-"
				if ($0 ~ /^\[/) { opts = $0; sub(/\].*/, "]", opts); sub(/^[^]]*\] */, "") }
				if (NF >= 2) print opts, $0 }'
		done
		for f in "$parts"/*.sources; do
			[ -f "$f" ] || continue
			awk '
			function flush() {
				if (types ~ /(^| )deb( |$)/ && enabled !~ /^[Nn]o/)
					for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++)
						print (key_file == "" ? "-" : "[signed-by=" key_file "]"), u[i], s[j], comps
				types = ""; comps = ""; enabled = ""; key_file = ""; nu = 0; ns = 0
			}
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			/^[^ \t]/ {
				key = tolower($1); sub(/:$/, "", key); $1 = ""; sub(/^ +/, "")
				if (key == "types") types = $0
				else if (key == "uris") nu = split($0, u, " ")
				else if (key == "suites") ns = split($0, s, " ")
				else if (key == "components") comps = $0
				else if (key == "enabled") enabled = $0
				else if (key == "signed-by" && $0 ~ /^\//) key_file = $0
			}
			END { flush() }' "$f"
		done
	} | awk '{ rest = $0; sub(/^(\[[^]]*\]|-) +/, "", rest); split(rest, a, " ")
		if (a[1] ~ /(debian|ubuntu)/ && a[1] !~ /ppa/ && !seen[$0]++) print }'
}

fetch() {
	cache=$(abspath "$1")
	apt=$(abspath "$2")
	if ls "$cache"/${pkg}_*.dsc >/dev/null 2>&1; then
		echo "libmicrohttpd: source already cached: $(ls "$cache"/${pkg}_*.dsc)"
		return 0
	fi
	command -v apt-get >/dev/null || die "apt-get not found: this build fetches Debian's source package"
	command -v dpkg-source >/dev/null || die "dpkg-source not found: install dpkg-dev (make deps)"
	mkdir -p "$apt/etc/sources.list.d" "$apt/etc/preferences.d" "$apt/state/lists/partial" \
		"$apt/cache/archives/partial"
	archives=$(configured_archives)
	[ -n "$archives" ] || die "no Debian/Ubuntu 'deb' source found in the apt configuration"
	printf '%s\n' "$archives" | sed -e 's/^- //' -e 's/^/deb-src /' >"$apt/etc/sources.list"
	echo "libmicrohttpd: private apt sources ($apt/etc/sources.list):"
	sed 's/^/    /' "$apt/etc/sources.list"
	set -- -o Dir::Etc::SourceList="$apt/etc/sources.list" \
		-o Dir::Etc::SourceParts="$apt/etc/sources.list.d" \
		-o Dir::Etc::PreferencesParts="$apt/etc/preferences.d" \
		-o Dir::State="$apt/state" -o Dir::State::Lists="$apt/state/lists" \
		-o Dir::State::status=/var/lib/dpkg/status \
		-o Dir::Cache="$apt/cache" -o Dir::Cache::archives="$apt/cache/archives" \
		-o Debug::NoLocking=1
	# apt drops to its _apt user for downloads when root; the private dirs
	# are ours, so download as the caller instead.
	[ "$(id -u)" != 0 ] || set -- "$@" -o APT::Sandbox::User=root
	set -- "$@" -o Acquire::Retries=3
	# A mirror in the middle of a sync answers with index files of the wrong
	# size ("Mirror sync in progress?") for a minute or two: try again later.
	tries=${MHD_FETCH_TRIES:-5}
	n=1
	until apt-get -q "$@" update >"$apt/update.log" 2>&1 &&
		! grep -q '^E: ' "$apt/update.log"; do
		[ "$n" -lt "$tries" ] || {
			cat "$apt/update.log" >&2; die "apt-get update (private state in $apt) failed $n times"; }
		echo "libmicrohttpd: apt-get update failed (try $n of $tries: $(grep -m1 '^E: ' "$apt/update.log" |
			cut -c1-160)); again in $((n * 20)) s"
		sleep $((n * 20))
		n=$((n + 1))
	done
	tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
	n=1
	until (cd "$tmp" && apt-get -q "$@" source --download-only "$pkg") >"$apt/source.log" 2>&1; do
		rm -f "$tmp"/*
		if [ "$n" -ge "$tries" ]; then
			cat "$apt/source.log" >&2
			rm -rf "$tmp"
			die "apt-get source $pkg failed $n times"
		fi
		echo "libmicrohttpd: apt-get source failed (try $n of $tries); again in $((n * 20)) s"
		sleep $((n * 20))
		n=$((n + 1))
	done
	mv "$tmp"/* "$cache"/
	rmdir "$tmp"
	echo "libmicrohttpd: cached $(cd "$cache" && ls ${pkg}_*.dsc) in $cache"
}

# configure options: no HTTPS (no GnuTLS), static only, no docs, examples,
# curl-based tests, or features Ember's API server does not use. epoll
# stays: api/api_server.c starts the daemon with MHD_USE_EPOLL.
CONFIGURE_OPTS="--disable-https --enable-static --disable-shared --with-pic
	--disable-doc --disable-examples --disable-curl --disable-nls
	--disable-bauth --disable-dauth --disable-postprocessor --disable-httpupgrade
	--disable-sendfile --without-gnutls --enable-epoll=yes --enable-itc=eventfd
	--disable-dependency-tracking"

build() {
	cache=$(abspath "$1")
	work=$(abspath "$2")
	prefix=$(abspath "$3")
	dsc=$(ls "$cache"/${pkg}_*.dsc 2>/dev/null | sort -V | tail -1) ||
		true
	[ -n "$dsc" ] || die "no source package cached in $cache: run 'make deps' (needs network once)"
	patches=$(ls "$patches_dir"/libmicrohttpd-*.patch 2>/dev/null) || true
	sums=$(cd "$patches_dir" 2>/dev/null && sha256sum libmicrohttpd-*.patch 2>/dev/null) || true
	want="$(basename "$dsc") ${CC:-cc} $CONFIGURE_OPTS $sums"
	up_to_date() {
		[ -f "$prefix/lib/libmicrohttpd.a" ] && [ "$(cat "$prefix/.stamp" 2>/dev/null)" = "$want" ]
	}
	up_to_date && return 0
	# One build at a time per WORK_DIR (several makes may share a build dir).
	if command -v flock >/dev/null && [ -z "${MHD_LOCKED:-}" ]; then
		MHD_LOCKED=1 flock "$work/.lock" "$0" build "$1" "$2" "$3"
		return
	fi
	up_to_date && return 0
	command -v dpkg-source >/dev/null || die "dpkg-source not found: install dpkg-dev (make deps)"
	echo "libmicrohttpd: building $(basename "$dsc" .dsc) (static, no HTTPS) into $prefix" >&2
	src=$work/src
	rm -rf "$src" "$prefix"
	dpkg-source --no-check -q -x "$dsc" "$src" >"$work/unpack.log" 2>&1 || {
		cat "$work/unpack.log" >&2; die "dpkg-source -x failed"; }
	for p in $patches; do
		patch -d "$src" -p1 -s --no-backup-if-mismatch <"$p" >"$work/patch.log" 2>&1 || {
			cat "$work/patch.log" >&2; die "$(basename "$p") does not apply"; }
	done
	# Debian's patches may touch configure.ac/Makefile.am; the shipped
	# configure and Makefile.in are used as they are (no autotools needed).
	find "$src" -name configure -o -name Makefile.in -o -name config.h.in -o -name aclocal.m4 |
		xargs touch
	# shellcheck disable=SC2086
	(cd "$src" && ./configure --prefix="$prefix" $CONFIGURE_OPTS CC="${CC:-cc}" \
		CFLAGS="-Os -g0 -ffunction-sections -fdata-sections") >"$work/configure.log" 2>&1 || {
		tail -40 "$work/configure.log" >&2; die "configure failed (log: $work/configure.log)"; }
	(cd "$src/src/microhttpd" && make -j"${JOBS:-$(nproc 2>/dev/null || echo 2)}" &&
		make install) >"$work/make.log" 2>&1 || {
		tail -40 "$work/make.log" >&2; die "make failed (log: $work/make.log)"; }
	(cd "$src/src/include" && make install && cd "$src" && make install-pkgconfigDATA) \
		>>"$work/make.log" 2>&1 || {
		tail -40 "$work/make.log" >&2; die "install failed (log: $work/make.log)"; }
	[ -f "$prefix/lib/pkgconfig/libmicrohttpd.pc" ] || die "no libmicrohttpd.pc in $prefix"
	grep -q 'define HTTPS_SUPPORT' "$src/MHD_config.h" && die "HTTPS support still enabled"
	printf '%s\n' "$want" >"$prefix/.stamp"
}

case $mode in
fetch) [ $# = 3 ] || die "usage: $0 fetch CACHE_DIR APT_DIR"; fetch "$2" "$3" ;;
build) [ $# = 4 ] || die "usage: $0 build CACHE_DIR WORK_DIR PREFIX"; build "$2" "$3" "$4" ;;
archives) configured_archives ;;
*) die "usage: $0 fetch CACHE_DIR APT_DIR | build CACHE_DIR WORK_DIR PREFIX" ;;
esac
