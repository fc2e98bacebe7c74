#!/usr/bin/env bash
# The layering of Ember's parts, checked from the #include lines. Each part
# may include only the parts listed for it (and itself); the order below is
# a strict one, so folders cannot include each other in a circle.
# Prints one PASS:/FAIL: line (tests/run.sh counts it); exit 1 on a violation.
set -u
cd "$(dirname "$0")/.."

# part: the parts it may use
declare -A allowed=(
	[base]=""
	[config]="base"
	[mem]="base"
	[devices]="base config mem"
	[seccomp]="base"
	[boot]="base config mem"
	[kvm]="base config mem devices boot seccomp"
	[snapshot]="base config mem devices kvm"
	[controller]="base config devices"
	[api]="base config seccomp controller"
	[vmm]="base config mem devices seccomp boot kvm snapshot controller api"
	[jailer]="base"
)

part_of() { # path -> part name
	case $1 in
	vmm/base/*) echo base ;; vmm/config/*) echo config ;; vmm/mem/*) echo mem ;;
	vmm/kvm/*) echo kvm ;; vmm/boot/*) echo boot ;; vmm/snapshot/*) echo snapshot ;;
	vmm/seccomp/*) echo seccomp ;; vmm/controller/*) echo controller ;; vmm/*) echo vmm ;;
	api/*) echo api ;; devices/*) echo devices ;; jailer/*) echo jailer ;; *) echo "" ;;
	esac
}

# Sources generated into a build dir (BUILD/gen/<path>, e.g. the built-in
# seccomp filters' BPF, BUILD/gen/vmm/seccomp/) belong to the part of <path>.
generated=$(find build -path '*/gen/*' -name '*.[ch]' 2>/dev/null)

bad=0
while IFS=: read -r file _ inc; do
	inc=${inc#*\"}; inc=${inc%\"*}
	from=$(part_of "${file#build*/gen/}"); to=$(part_of "$inc")
	[ -n "$to" ] || { echo "FAIL: layers: $file includes \"$inc\", which is no part's header"; bad=1; continue; }
	[ "$from" = "$to" ] && continue
	case " ${allowed[$from]} " in
	*" $to "*) ;;
	*) echo "FAIL: layers: $file ($from) includes $inc ($to); $from may use only: ${allowed[$from]:-nothing}"; bad=1 ;;
	esac
done < <(grep -Hn '^#include "' $(git ls-files 'vmm/*.[ch]' 'api/*.[ch]' 'devices/*.[ch]' 'jailer/*.[ch]') $generated)
[ $bad = 0 ] && echo "PASS: layers/no-include-cycles"
exit $bad
