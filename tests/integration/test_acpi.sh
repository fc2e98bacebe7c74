#!/usr/bin/env bash
# The ACPI tables Ember builds, checked by ACPICA's own tools (no KVM): for
# 2 vCPUs + 4 virtio devices (and the extremes, 1 + 0 and 32 + 19),
# acpi_dump writes every table; `iasl -d` must disassemble each without an
# error or warning, and the disassembly must compile back (iasl, no
# optimizations) to the very bytes Ember wrote: AML and table fields alike.
# iasl comes from Debian's acpica-tools (`make deps` installs it); without it
# every case FAILS, it does not skip.
. "$(dirname "$0")/lib.sh"

DUMP=$BUILD/tests/integration/acpi_dump
TABLES="xsdt facp apic dsdt"

need_iasl() {
	command -v iasl >/dev/null || { fail "iasl not found: install acpica-tools (apt-get install acpica-tools, or make deps)"; return 1; }
	[ -x "$DUMP" ] || { fail "$DUMP not built (make test-bins)"; return 1; }
}

# dump DIR VCPUS DEVICES: the tables as DIR/<name>.dat.
dump() {
	mkdir -p "$1" && "$DUMP" "$1" "$2" "$3" 2>"$TMP/dump.log" ||
		{ fail "acpi_dump $2 $3: $(cat "$TMP/dump.log")"; return 1; }
}

# disassemble DIR: iasl -d every table; any error or warning fails.
disassemble() {
	local t out
	for t in $TABLES; do
		out=$(cd "$1" && iasl -d "$t.dat" 2>&1) || { fail "iasl -d $1/$t.dat failed: $out"; continue; }
		if grep -qiE 'warning|error|\*\*\*\*' <<<"$out" "$1/$t.dsl"; then
			fail "iasl -d $t.dat complains: $(grep -iE 'warning|error|\*\*\*\*' <<<"$out" "$1/$t.dsl" | head -3)"
		fi
	done
}

test_disassembles_cleanly() {
	need_iasl || return
	local cfg
	for cfg in "2 4" "1 0" "32 19"; do
		# shellcheck disable=SC2086
		dump "$TMP/t${cfg/ /-}" $cfg || return
		disassemble "$TMP/t${cfg/ /-}"
	done
	grep -q 'Device (V003)' "$TMP/t2-4/dsdt.dsl" || fail "no V003 in the 4-device DSDT"
	grep -q 'Device (V004)' "$TMP/t2-4/dsdt.dsl" && fail "V004 in the 4-device DSDT"
	[ "$(grep -c 'Processor Local APIC' "$TMP/t32-19/apic.dsl")" = 32 ] || fail "32 vCPUs: not 32 Local APICs"
	[ "$(grep -c '"LNRO0005"' "$TMP/t32-19/dsdt.dsl")" = 19 ] || fail "19 devices: not 19 LNRO0005"
}

# Ember's bytes against iasl's: the 36-byte header differs only in the
# compiler ID/revision and so the checksum; everything after must be equal.
test_recompiles_to_same_bytes() {
	need_iasl || return
	local t out
	dump "$TMP/t" 2 4 || return
	disassemble "$TMP/t"
	for t in $TABLES; do
		out=$(cd "$TMP/t" && iasl -oa -p "rt_$t" "$t.dsl" 2>&1) || { fail "iasl $t.dsl: $out"; continue; }
		grep -q ' 0 Errors, 0 Warnings, 0 Remarks' <<<"$out" || fail "iasl $t.dsl: $(tail -1 <<<"$out")"
		# signature, length, revision; then OEM ID, OEM table ID, OEM revision
		cmp -s <(head -c 9 "$TMP/t/$t.dat") <(head -c 9 "$TMP/t/rt_$t.aml") ||
			fail "$t: signature, length or revision differs after recompiling"
		cmp -s <(head -c 28 "$TMP/t/$t.dat" | tail -c +11) <(head -c 28 "$TMP/t/rt_$t.aml" | tail -c +11) ||
			fail "$t: OEM fields differ after recompiling"
		cmp -s <(tail -c +37 "$TMP/t/$t.dat") <(tail -c +37 "$TMP/t/rt_$t.aml") ||
			fail "$t: iasl's recompiled body differs from Ember's"
	done
}

run_tests "$@"
