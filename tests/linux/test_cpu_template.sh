#!/usr/bin/env bash
# A custom CPU template seen by Linux: PUT /cpu-config clears CPUID feature
# bits the host (and so KVM) has, LAHF/SAHF in 64-bit mode (leaf 0x80000001
# ECX bit 0) and BMI1 (leaf 7 subleaf 0 EBX bit 3) when the host has it; the
# guest's /proc/cpuinfo then lacks lahf_lm (and bmi1) and still shows
# flags the template leaves alone (lm; bmi2, in bmi1's register). Not
# AVX2: Linux drops it itself when the guest has no usable XSAVE (as in the
# nested host), so its absence proves nothing.
. "$(dirname "$0")/lib.sh"

host_has() { grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -qx "$1"; }

X31='xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' # 31 bits kept

test_cleared_flags_absent() {
	need_linux || return
	local tpl bmi=""
	host_has lahf_lm || { skip "the host has no lahf_lm"; return; }
	tpl="{\"leaf\": \"0x80000001\", \"subleaf\": \"0x0\", \"flags\": 0,
	      \"modifiers\": [{\"register\": \"ecx\", \"bitmap\": \"0b${X31}0\"}]}"
	if host_has bmi1 && host_has bmi2; then
		bmi=1
		tpl="$tpl, {\"leaf\": \"0x7\", \"subleaf\": \"0x0\", \"flags\": 1,
		      \"modifiers\": [{\"register\": \"ebx\", \"bitmap\": \"0b0xxx\"}]}"
	fi
	vm_spawn "$TMP/a" || return
	linux_config cmd 1 128
	api_ok PUT /cpu-config "{\"cpuid_modifiers\": [$tpl]}"
	vm_start
	wait_guest "cmd=ready" || { stop_all; return; }
	# The flags the template keeps are there (the check can see flags at all).
	guest_ok f0 "grep -m1 '^flags' /proc/cpuinfo | grep -qw lm" || { stop_all; return; }
	guest_cmd f1 "grep -m1 '^flags' /proc/cpuinfo | grep -qw lahf_lm" || { stop_all; return; }
	assert_eq 1 "$GRC" "grep lahf_lm in the guest's /proc/cpuinfo (1: absent)" || { stop_all; return; }
	if [ -n "$bmi" ]; then
		guest_ok f2 "grep -m1 '^flags' /proc/cpuinfo | grep -qw bmi2" || { stop_all; return; }
		guest_cmd f3 "grep -m1 '^flags' /proc/cpuinfo | grep -qw bmi1" || { stop_all; return; }
		assert_eq 1 "$GRC" "grep bmi1 in the guest's /proc/cpuinfo (1: absent)" || { stop_all; return; }
	fi
	echo "    host has lahf_lm${bmi:+ and bmi1}; the guest has neither${bmi:+ (bmi2 kept)}"
	stop_all
}

run_linux_tests "$@"
