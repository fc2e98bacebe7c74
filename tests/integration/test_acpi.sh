#!/usr/bin/env bash
# The ACPI tables Ember builds, checked by ACPICA's own tools (no KVM): for
# 2 vCPUs + 4 virtio devices (and the extremes, 1 + 0, 32 + 17 and, without
# VMGenID and VMClock, 32 + 19),
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
	for cfg in "2 4" "1 0" "32 17" "32 19"; do
		# shellcheck disable=SC2086
		dump "$TMP/t${cfg/ /-}" $cfg || return
		disassemble "$TMP/t${cfg/ /-}"
	done
	grep -q 'Device (V003)' "$TMP/t2-4/dsdt.dsl" || fail "no V003 in the 4-device DSDT"
	grep -q 'Device (V004)' "$TMP/t2-4/dsdt.dsl" && fail "V004 in the 4-device DSDT"
	[ "$(grep -c 'Processor Local APIC' "$TMP/t32-19/apic.dsl")" = 32 ] || fail "32 vCPUs: not 32 Local APICs"
	[ "$(grep -c '"LNRO0005"' "$TMP/t32-19/dsdt.dsl")" = 19 ] || fail "19 devices: not 19 LNRO0005"
	grep -q 'VGEN\|VCLK\|GED_' "$TMP/t32-19/dsdt.dsl" && fail "19 devices: no GSI is left for VGEN, VCLK, GED_"
}

# VMGenID, VMClock and the GED as iasl reads them back: the IDs Linux's
# drivers match, the ID's address in ADDR, the VMClock page in _CRS, and
# _EVT notifying each device on its own GSI (the two after the last virtio
# device's).
test_clone_devices_decoded() {
	need_iasl || return
	local cfg dsl gen clk want
	for cfg in "2 4" "1 0" "32 17"; do
		# shellcheck disable=SC2086
		dump "$TMP/c${cfg/ /-}" $cfg || return
		disassemble "$TMP/c${cfg/ /-}"
		# One line, comments dropped, runs of blanks as one space.
		dsl=$(sed 's://.*$::' "$TMP/c${cfg/ /-}/dsdt.dsl" | tr -s ' \t\n' ' ')
		gen=$(printf '0x%02X' $((5 + ${cfg#* }))); clk=$(printf '0x%02X' $((6 + ${cfg#* })))
		for want in 'Device (VGEN) {' 'Name (_HID, "VMGENCTR")' 'Name (_CID, "VM_Gen_Counter")' \
			'Name (ADDR, Package (0x02) { 0x000DFFF0, Zero })' \
			'Device (VCLK) {' 'Name (_HID, "AMZNC10C")' 'Name (_CID, "VMCLOCK")' \
			'Method (_STA, 0, NotSerialized) { Return (0x0F) }' \
			'QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable, ReadOnly, 0x0000000000000000, 0x00000000000DE000, 0x00000000000DEFFF, 0x0000000000000000, 0x0000000000001000, ,, , AddressRangeMemory, TypeStatic)' \
			'Device (GED) {' 'Name (_HID, "ACPI0013" /* Generic Event Device */)' \
			'Method (_EVT, 1, Serialized) {' \
			"Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, ) { 0x000000${gen#0x}, }" \
			"Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, ) { 0x000000${clk#0x}, }" \
			"If ((Arg0 == $gen)) { Notify (\\_SB.VGEN, 0x80) }" \
			"If ((Arg0 == $clk)) { Notify (\\_SB.VCLK, 0x80) }"; do
			grep -qF -- "$want" <<<"$dsl" || fail "$cfg: not in the disassembled DSDT: $want"
		done
	done
}

# Ember's bytes against iasl's: the 36-byte header differs only in the
# compiler ID/revision and so the checksum; everything after must be equal.
# One error is expected, and forced through (-f): Firecracker's VMGenID _HID,
# "VMGENCTR", which Linux's vmgenid driver matches, is no valid ACPI ID to
# iasl's compiler (its last four characters are not hex digits).
test_recompiles_to_same_bytes() {
	need_iasl || return
	local t out want
	dump "$TMP/t" 2 4 || return
	disassemble "$TMP/t"
	for t in $TABLES; do
		want=' 0 Errors, 0 Warnings, 0 Remarks'
		[ "$t" = dsdt ] && want=' 1 Errors, 0 Warnings, 0 Remarks'
		out=$(cd "$TMP/t" && iasl -f -oa -p "rt_$t" "$t.dsl" 2>&1) || { fail "iasl $t.dsl: $out"; continue; }
		grep -q "$want" <<<"$out" || fail "iasl $t.dsl: $(tail -1 <<<"$out")"
		if [ "$t" = dsdt ]; then
			grep -q '^Error    6035 .*_HID suffix must be all hex digits (NCTR)' <<<"$out" &&
				grep -q 'Name (_HID, "VMGENCTR")' <<<"$out" ||
				fail "iasl $t.dsl: not the one expected error: $(grep -A1 -B1 Error <<<"$out" | head -6)"
		fi
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
