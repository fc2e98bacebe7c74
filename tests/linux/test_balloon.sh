#!/usr/bin/env bash
# Linux's virtio_balloon driver on Ember's balloon: inflating by N MiB takes
# the memory from the guest (MemTotal falls: no deflate_on_oom) and gives it
# back to the host (ember's resident memory falls), GET /balloon/statistics
# carries the guest's own numbers, deflating returns the memory; with
# deflate_on_oom an allocation beyond what is left succeeds, the driver
# giving pages back under pressure.
. "$(dirname "$0")/lib.sh"

MEM_MIB=256
INFLATE_MIB=96

# rss_kb: ember's resident memory (guest RAM it holds included).
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$EMBER_PID/status"; }

# meminfo ID: the guest reports MemTotal and MemFree (kB) as total= free=.
meminfo() {
	guest_ok "$1" "say total=\$(awk '/^MemTotal:/ {print \$2}' /proc/meminfo) free=\$(awk '/^MemFree:/ {print \$2}' /proc/meminfo)"
}

# stats_field NAME: from the last GET /balloon/statistics body.
stats_field() { printf '%s' "$BODY" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }

# actual_is MIB: the guest's balloon holds MIB (GET /balloon/statistics).
actual_is() {
	api GET /balloon/statistics
	[ "$STATUS" = 200 ] && [ "$(stats_field actual_mib)" = "$1" ]
}

# wait_actual MIB: wait (bounded in time, not in tries) for the driver to reach
# MIB, one GET a second.
wait_actual() {
	local end=$((SECONDS + $(wait_left "$LTIMEOUT")))
	while [ "$SECONDS" -lt "$end" ]; do
		actual_is "$1" && return 0
		nap 1
	done
	fail "the balloon never reached $1 MiB: $BODY"
	return 1
}

balloon_vm() { # DIR DEFLATE_ON_OOM MEM_MIB
	vm_spawn "$1" || return 1
	linux_config cmd 1 "$3"
	api_ok PUT /balloon "{\"amount_mib\": 0, \"deflate_on_oom\": $2, \"stats_polling_interval_s\": 1}"
	vm_start
	wait_guest "cmd=ready"
}

test_inflate_deflate_memory_and_stats() {
	need_linux || return
	local total0 free0 rss_touched rss_inflated total1 free1 guest_total
	balloon_vm "$TMP/a" false "$MEM_MIB" || { stop_all; return; }
	guest_ok d0 "test -d /sys/bus/virtio/drivers/virtio_balloon" || { stop_all; return; }
	# Touch nearly all free guest memory (ember's RSS grows), then free it in
	# the guest: whichever pages the driver takes, the host holds them.
	guest_ok t0 "mkdir -p /tmp/m && mount -t tmpfs -o size=240m none /tmp/m && n=\$((\$(awk '/^MemFree:/ {print \$2}' /proc/meminfo) / 1024 - 24)) && dd if=/dev/zero of=/tmp/m/f bs=1M count=\$n 2>/dev/null && rm /tmp/m/f"
	meminfo m0
	total0=$(gval total) free0=$(gval free)
	rss_touched=$(rss_kb)

	api_ok PATCH /balloon "{\"amount_mib\": $INFLATE_MIB}"
	wait_actual "$INFLATE_MIB" || { stop_all; return; }
	meminfo m1
	total1=$(gval total) free1=$(gval free)
	rss_inflated=$(rss_kb)
	echo "    balloon: MemTotal $total0 -> $total1 kB, MemFree $free0 -> $free1 kB, ember VmRSS $rss_touched -> $rss_inflated kB"
	[ $((total0 - total1)) -ge $((INFLATE_MIB * 1024)) ] ||
		fail "MemTotal fell by $((total0 - total1)) kB, not ${INFLATE_MIB} MiB"
	[ $((free0 - free1)) -ge $((INFLATE_MIB * 1024 * 9 / 10)) ] ||
		fail "MemFree fell by $((free0 - free1)) kB only"
	[ $((rss_touched - rss_inflated)) -ge $((INFLATE_MIB * 1024 / 2)) ] ||
		fail "ember's RSS fell by $((rss_touched - rss_inflated)) kB only (inflated ${INFLATE_MIB} MiB)"

	# The guest's numbers: total_memory is its MemTotal, in bytes.
	api_ok GET /balloon/statistics
	echo "    statistics: $BODY"
	assert_eq $((INFLATE_MIB * 256)) "$(stats_field target_pages)" "target_pages"
	guest_total=$(stats_field total_memory)
	[ -n "$guest_total" ] && [ $((guest_total / 1024)) = "$total1" ] ||
		fail "total_memory $guest_total is not the guest's MemTotal $total1 kB"
	for f in free_memory available_memory disk_caches major_faults minor_faults; do
		[ -n "$(stats_field $f)" ] || fail "no $f in the statistics"
	done

	api_ok PATCH /balloon '{"amount_mib": 0}'
	wait_actual 0 || { stop_all; return; }
	meminfo m2
	assert_eq "$total0" "$(gval total)" "MemTotal after deflating"
	guest_ok u1 "dd if=/dev/zero of=/tmp/m/g bs=1M count=160 2>/dev/null && rm /tmp/m/g"
	still_running || { stop_all; return; }
	guest_send q1 "reboot -f"
	expect_exit 0 60
	stop_all
}

test_deflate_on_oom_lets_allocation_succeed() {
	need_linux || return
	local before after
	# 256 MiB: with 128 the kernel and initramfs leave the driver less than 96 MiB to take.
	balloon_vm "$TMP/b" true "$MEM_MIB" || { stop_all; return; }
	guest_ok t0 "mkdir -p /tmp/m && mount -t tmpfs -o size=240m none /tmp/m"
	api_ok PATCH /balloon '{"amount_mib": 96}'
	wait_actual 96 || { stop_all; return; }
	meminfo m0
	before=$(gval free)
	# More than is free: only pages the balloon gives back make this fit.
	guest_ok a1 "dd if=/dev/zero of=/tmp/m/f bs=1M count=$(((before / 1024) + 24)) 2>/dev/null" $((LTIMEOUT * 2)) ||
		{ stop_all; return; }
	api_ok GET /balloon/statistics
	after=$(stats_field actual_mib)
	echo "    deflate_on_oom: MemFree before $before kB, balloon 96 -> $after MiB"
	[ -n "$after" ] && [ "$after" -lt 96 ] || fail "the balloon gave nothing back: $BODY"
	still_running || { stop_all; return; }
	guest_send q1 "reboot -f"
	expect_exit 0 60
	stop_all
}

run_linux_tests "$@"
