#!/usr/bin/env bash
# CPU templates on real KVM with the test guest's cpuid scenario: PUT
# /cpu-config's CPUID modifiers reach the guest (a feature bit cleared, the
# stepping rewritten) and its MSR modifiers go through KVM_GET/SET_MSRS,
# the --config-file "cpu-config" section does the same, Firecracker's API
# errors for malformed templates and after boot (nothing changed), its
# start errors for entries KVM lacks and missing KVM capabilities, and the
# static templates by name on the vendors Firecracker allows them on.
#
# This machine's KVM shows the guest the host's leaf 1 ECX and leaf 7 EBX
# whatever KVM_SET_CPUID2 says (even without a template), so the cleared
# bit is one of leaf 0x80000001 ECX, which KVM does pass through.
. "$(dirname "$0")/lib.sh"

DE='An error occurred when deserializing the json body of a request: '
START='Start microvm error: '
LAHF=0x1 # leaf 0x80000001 ECX bit 0: LAHF/SAHF in 64-bit mode

# A template clearing LAHF, setting leaf 1 EAX[3:0] (stepping) to 1010, and
# IA32_PAT's PA7 (0x277 bits 63:56) to 1 (WC).
TEMPLATE='{
  "kvm_capabilities": ["!56"],
  "cpuid_modifiers": [
    {"leaf": "0x80000001", "subleaf": "0x0", "flags": 0,
     "modifiers": [{"register": "ecx", "bitmap": "0bxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx0"}]},
    {"leaf": "0x1", "subleaf": "0x0", "flags": 0,
     "modifiers": [{"register": "eax", "bitmap": "0b1010"}]}
  ],
  "msr_modifiers": [{"addr": "0x277", "bitmap": "0b00000001xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}]
}'

# cpuid_reg FILE LEAF REG: the register's value the guest printed for LEAF (e.g. 0x1.0x0);
# cpuid_reg FILE pat: the PAT MSR it read.
cpuid_reg() {
	if [ "$2" = pat ]; then sed -nE 's/^cpuid: pat=(0x[0-9a-f]+)$/\1/p' "$1"; return; fi
	grep -E "^cpuid: $2 " "$1" | sed -E "s/.* $3=(0x[0-9a-f]+).*/\1/"
}

# fresh_ember: start_ember after an earlier ember of the case (its socket file gone first).
fresh_ember() {
	rm -f "$TMP/api.sock"
	start_ember
}

boot_body() {
	printf '{"kernel_image_path": "%s", "boot_args": "console=ttyS0 reboot=k panic=1 ember.test=cpuid"}' "$GUEST_ELF"
}

# boot_cpuid [JSON]: the cpuid scenario with PUT /cpu-config JSON (if any) until it resets.
boot_cpuid() {
	fresh_ember || return 1
	api_ok PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}'
	[ $# -ge 1 ] && api_ok PUT /cpu-config "$1"
	api_ok PUT /boot-source "$(boot_body)"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_exit 20 || { fail "guest did not finish: $(tail -3 "$TMP/out" | tr '\n' '|')"; return 1; }
	grep -q '^cpuid: done' "$TMP/out" || { fail "no cpuid output: $(tail -3 "$TMP/out")"; return 1; }
}

test_template_reaches_guest() {
	need_kvm || return
	local ecx0 eax0 ecx1 eax1
	boot_cpuid || return
	ecx0=$(cpuid_reg "$TMP/out" 0x80000001.0x0 ecx)
	eax0=$(cpuid_reg "$TMP/out" 0x1.0x0 eax)
	[ $((ecx0 & LAHF)) != 0 ] || { skip "the host has no LAHF/SAHF in 64-bit mode"; return; }
	mv "$TMP/out" "$TMP/out.plain"
	boot_cpuid "$TEMPLATE" || return
	ecx1=$(cpuid_reg "$TMP/out" 0x80000001.0x0 ecx)
	eax1=$(cpuid_reg "$TMP/out" 0x1.0x0 eax)
	assert_eq "$(printf 0x%x $((ecx0 & ~LAHF)))" "$ecx1" "0x80000001 ECX with LAHF cleared" || return
	assert_eq "$(printf 0x%x $(((eax0 & ~0xf) | 0xa)))" "$eax1" "leaf 1 EAX with stepping 0xa" || return
	# IA32_PAT: its PA7 (bits 63:56, unused by the guest) UC (0) at reset, WC (1) by the template.
	assert_eq 0x0 "$(printf 0x%x $(($(cpuid_reg "$TMP/out.plain" pat) >> 56)))" "PAT PA7 without template" || return
	assert_eq 0x1 "$(printf 0x%x $(($(cpuid_reg "$TMP/out" pat) >> 56)))" "PAT PA7 from the template" || return
	assert_eq "$(printf 0x%x $(($(cpuid_reg "$TMP/out.plain" pat) & 0xffffffffffffff)))" \
		"$(printf 0x%x $(($(cpuid_reg "$TMP/out" pat) & 0xffffffffffffff)))" "PAT PA0-6 kept" || return
	# Everything else as without the template.
	assert_eq "$(cpuid_reg "$TMP/out.plain" 0x7.0x0 ebx)" "$(cpuid_reg "$TMP/out" 0x7.0x0 ebx)" "leaf 7 EBX"
}

test_config_file() {
	need_kvm || return
	cat >"$TMP/vm.json" <<JSON
{
  "cpu-config": {"cpuid_modifiers": [{"leaf": "0x1", "subleaf": "0x0", "flags": 0,
                 "modifiers": [{"register": "eax", "bitmap": "0b0101"}]}]},
  "machine-config": {"vcpu_count": 1, "mem_size_mib": 64},
  "boot-source": $(boot_body)
}
JSON
	"$EMBER" --no-api --config-file "$TMP/vm.json" >"$TMP/out" 2>>"$TMP/err" </dev/null
	assert_eq 0 "$?" "exit code" || return
	local eax
	eax=$(cpuid_reg "$TMP/out" 0x1.0x0 eax)
	assert_eq 5 $((eax & 0xf)) "stepping from the config file's template" || return
	# Firecracker's other form: the path of a template file.
	echo '{"cpuid_modifiers": [{"leaf": "0x1", "subleaf": "0x0", "flags": 0,
	       "modifiers": [{"register": "eax", "bitmap": "0b0110"}]}]}' >"$TMP/tpl.json"
	sed -i "s|\"cpu-config\": {.*|\"cpu-config\": \"$TMP/tpl.json\",|; /^                 \"modifiers\"/d" "$TMP/vm.json"
	"$EMBER" --no-api --config-file "$TMP/vm.json" >"$TMP/out" 2>>"$TMP/err" </dev/null
	assert_eq 0 "$?" "exit code with a template path" || return
	eax=$(cpuid_reg "$TMP/out" 0x1.0x0 eax)
	assert_eq 6 $((eax & 0xf)) "stepping from the template file" || return
	rm "$TMP/tpl.json"
	"$EMBER" --no-api --config-file "$TMP/vm.json" >"$TMP/out" 2>"$TMP/err2" </dev/null
	assert_eq 152 "$?" "exit code without the template file" || return
	assert_contains "$(cat "$TMP/err2")" \
		"Configuration for VMM from one single json failed: File operation error: No such file or directory (os error 2)"
}

test_api_errors() {
	need_kvm || return
	fresh_ember || return
	api_err PUT /cpu-config '{"cpuid_modifiers": [{"leaf": "1", "subleaf": "0x0", "flags": 0, "modifiers": []}]}'
	assert_contains "$BODY" "${DE}No supported number system prefix found in value [1]. Make sure to prefix the number with '0x' for hexadecimal numbers or '0b' for binary numbers. at line 1 column 33." || return
	api_err PUT /cpu-config '{"msr_modifiers": [{"addr": "0x10a", "bitmap": "0b2"}]}'
	assert_contains "$BODY" "${DE}Failed to parse string [0b2] as a bitmap - unknown character: 50 at line 1 column 52." || return
	api_err PUT /cpu-config '{"cpuid_modifiers": [{"leaf": "0x1", "subleaf": "0x0", "flags": 0, "modifiers": [{"register": "eax", "bitmap": "0b000000000000000000000000000000000"}]}]}'
	assert_contains "$BODY" "${DE}Failed to parse string [0b000000000000000000000000000000000] as a bitmap - string is too long at line 1 column 148." || return
	api_err PUT /cpu-config '{"cpuid_modifiers": [{"leaf": "0x1", "subleaf": "0x0", "flags": 0, "modifiers": [{"register": "rax", "bitmap": "0"}]}]}'
	assert_contains "$BODY" "${DE}Invalid CPUID register. Must be one of [eax, ebx, ecx, edx] at line 1 column 99." || return
	api_err PUT /cpu-config '{"kvm_capabilities": ["x"]}'
	assert_contains "$BODY" "${DE}Failed to parse string [x] as a kvm capability - can not convert to numeric: invalid digit found in string at line 1 column 25." || return
	api_err PUT /cpu-config '{"cpu": 1}'
	assert_contains "$BODY" "${DE}unknown field \`cpu\`, expected one of \`kvm_capabilities\`, \`cpuid_modifiers\`, \`msr_modifiers\` at line 1 column 6." || return
	# Refused templates changed nothing: the VM boots without any.
	api_ok PUT /cpu-config '{}'
	api_ok GET /vm/config
	assert_contains "$BODY" '"cpu-config":null' "GET /vm/config" || return
	api_ok GET /machine-config
	assert_not_contains "$BODY" 'cpu_template' "GET /machine-config" || return
	api_ok PUT /boot-source "$(boot_body | sed 's/ember.test=cpuid/ember.test=halt-forever/')"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	api_err PUT /cpu-config '{}' 'The requested operation is not supported after starting the microVM.'
}

# start_with JSON: PUT /cpu-config JSON, then InstanceStart, which must fail with TEXT.
start_fails() {
	fresh_ember || return 1
	api_ok PUT /cpu-config "$1"
	api_ok PUT /boot-source "$(boot_body)"
	api_err PUT /actions '{"action_type": "InstanceStart"}' "$2"
	stop_ember
}

test_start_errors() {
	need_kvm || return
	start_fails '{"cpuid_modifiers": [{"leaf": "0x4fffffff", "subleaf": "0x3", "flags": 0, "modifiers": []}]}' \
		"${START}System configuration error: Failed to create guest config: Template changes a CPUID entry not supported by KVM: Leaf: 4fffffff, Subleaf: 3" || return
	start_fails '{"kvm_capabilities": ["999999"]}' "${START}Kvm error: Missing KVM capabilities: 0xf423f" || return
	# An MSR KVM does not have: refused at vCPU setup (KVM_GET_MSRS stops at it).
	start_fails '{"msr_modifiers": [{"addr": "0x4b564dff", "bitmap": "0b1"}]}' \
		"${START}System configuration error: Failed to create guest config: Template changes an MSR entry not supported by KVM: Register Address: 4b564dff"
}

host_vendor() { awk -F': ' '/^vendor_id/ {print $2; exit}' /proc/cpuinfo; }
# The host's CPUID leaf 1 EAX family/model/stepping as Firecracker compares them.
host_fms() {
	awk -F': ' '/^cpu family/ {f=$2} /^model\t/ {m=$2} /^stepping/ {s=$2; exit}
		END {printf "%d %d %d\n", f, m, s}' /proc/cpuinfo
}

test_static_templates() {
	need_kvm || return
	local vendor fms wrong
	vendor=$(host_vendor); fms=$(host_fms)
	case $vendor in
	AuthenticAMD) wrong=T2 ;;
	GenuineIntel) wrong=T2A ;;
	*) skip "host vendor $vendor: no static template applies"; return ;;
	esac
	fresh_ember || return
	api_ok PUT /machine-config "{\"vcpu_count\": 1, \"mem_size_mib\": 64, \"cpu_template\": \"$wrong\"}"
	assert_contains "$HEADERS" "Deprecation: true" "deprecated field" || return
	api_ok GET /machine-config
	assert_contains "$BODY" "\"cpu_template\":\"$wrong\"" "GET /machine-config" || return
	api_ok PUT /boot-source "$(boot_body)"
	api_err PUT /actions '{"action_type": "InstanceStart"}' \
		"${START}Failed to get CPU template: CPU vendor mismatched between actual CPU and CPU template." || return
	stop_ember
	[ "$vendor" = AuthenticAMD ] || return 0
	# T2A: Milan (family 0x19 model 1 stepping 1) only.
	fresh_ember || return
	api_ok PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64, "cpu_template": "T2A"}'
	api_ok PUT /boot-source "$(boot_body)"
	if [ "$fms" != "25 1 1" ]; then
		api_err PUT /actions '{"action_type": "InstanceStart"}' \
			"${START}Failed to get CPU template: The current CPU model is not permitted to apply the CPU template."
		return
	fi
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_exit 20 || { fail "T2A guest did not finish"; return; }
	# T2A's leaf 1 EAX: family 6 model 0x3f stepping 2 (EAX[31:28] and [15:14] kept).
	assert_eq 0x306f2 "$(printf 0x%x $(($(cpuid_reg "$TMP/out" 0x1.0x0 eax) & 0x0fff3fff)))" "T2A leaf 1 EAX"
}

# snap_with TEMPLATE DIR: a halt-forever guest booted with PUT /cpu-config TEMPLATE,
# paused and snapshotted to DIR/vm.snap + DIR/vm.mem; its ember stopped.
snap_with() {
	mkdir -p "$2"
	fresh_ember || return 1
	api_ok PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}'
	api_ok PUT /cpu-config "$1"
	api_ok PUT /boot-source "$(boot_body | sed 's/ember.test=cpuid/ember.test=halt-forever/')"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_for grep -q halting "$TMP/out" || { fail "guest did not boot"; return 1; }
	api_ok PATCH /vm '{"state": "Paused"}'
	api_ok PUT /snapshot/create "{\"snapshot_path\": \"$2/vm.snap\", \"mem_file_path\": \"$2/vm.mem\"}"
	stop_ember
}

load_snap() { # DIR: PUT /snapshot/load of DIR's snapshot in a new ember (sets STATUS/BODY)
	fresh_ember || return 1
	api PUT /snapshot/load "{\"snapshot_path\": \"$1/vm.snap\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$1/vm.mem\"}, \"resume_vm\": true}"
}

# A snapshot records the custom template ("CPUT" section); a restore checks
# the host has every feature bit it sets, and keeps it for the next snapshot.
test_snapshot_records_template() {
	need_kvm || return
	local ecx bit=0 tpl
	boot_cpuid || return
	ecx=$(cpuid_reg "$TMP/out" 0x80000001.0x0 ecx)
	# A feature bit KVM does not offer here (not TOPOEXT, bit 22, which Ember sets on AMD).
	while [ $bit -lt 32 ] && { [ $((ecx >> bit & 1)) = 1 ] || [ $bit = 22 ]; }; do bit=$((bit + 1)); done
	[ $bit -lt 32 ] || { skip "every 0x80000001 ECX bit is set"; return; }

	snap_with "$TEMPLATE" "$TMP/s1" || return
	"$EMBER" --describe-snapshot "$TMP/s1/vm.snap" >"$TMP/describe" 2>&1
	assert_contains "$(cat "$TMP/describe")" "CPUT" "describe-snapshot lists the template section" || return
	load_snap "$TMP/s1" || return
	assert_eq 204 "$STATUS" "load of a snapshot with a template the host has: $BODY" || return
	# The restored VM keeps its template: its own snapshot records it again.
	api_ok PATCH /vm '{"state": "Paused"}'
	mkdir -p "$TMP/s2"
	api_ok PUT /snapshot/create "{\"snapshot_path\": \"$TMP/s2/vm.snap\", \"mem_file_path\": \"$TMP/s2/vm.mem\"}"
	stop_ember
	"$EMBER" --describe-snapshot "$TMP/s2/vm.snap" >"$TMP/describe2" 2>&1
	assert_contains "$(cat "$TMP/describe2")" "CPUT" "a restored VM's snapshot keeps the template" || return

	# A template exposing a feature KVM lacks boots (KVM takes any CPUID) but does not restore.
	tpl=$(printf '{"cpuid_modifiers": [{"leaf": "0x80000001", "subleaf": "0x0", "flags": 0, "modifiers": [{"register": "ecx", "bitmap": "0b1%s"}]}]}' \
		"$(printf 'x%.0s' $(seq 1 $bit))")
	snap_with "$tpl" "$TMP/s3" || return
	load_snap "$TMP/s3" || return
	assert_eq 400 "$STATUS" "load of a snapshot exposing a missing feature" || return
	assert_contains "$BODY" "The host CPU lacks CPUID leaf 0x80000001 subleaf 0x0 ECX bit $bit, which the snapshot's CPU template exposes"
}

run_tests "$@"
