# Shared by the jailer test scripts (sourced after lib.sh): the jailer, the
# jail's uid/gid, and a static jail_probe built once per script run.
JAILER=$BUILD/ember-jailer
JT_UID=4321
JT_GID=4322
PROBE=""
PROBE_DIR=""

# The probe must be static (the jail has no libraries). The Makefile links
# integration binaries dynamically, so unless its build is static, a static
# copy is built here once per script run (only when it can be used: root).
build_probe() {
	local built=$BUILD/tests/integration/jail_probe
	[ "$(id -u)" = 0 ] || return 0
	if [ -x "$built" ] && ldd "$built" 2>&1 | grep -q 'not a dynamic executable'; then
		PROBE=$built
		return 0
	fi
	PROBE_DIR=$(mktemp -d /tmp/ember-jprobe.XXXXXX)
	trap 'rm -rf "$PROBE_DIR"' EXIT
	if "${CC:-gcc}" -static -O1 -o "$PROBE_DIR/jail_probe" \
		"$ROOT/tests/integration/jail_probe.c" 2>"$PROBE_DIR/build.log"; then
		PROBE=$PROBE_DIR/jail_probe
	fi
}
build_probe
