#!/usr/bin/env bash
# Rate limiters on real devices, real KVM, the default seccomp filters: the
# test guest's blk-bench loop (one sector read at a time, from ring 3: about
# 10,000 requests/s unthrottled here) against a drive with a limiter, and
# the entropy device with one.
#
# Throttling is measured by COUNTS: the VMM's own metrics (blk_read_count,
# blk_throttled, ...) flushed every half second. Each flushed line holds the
# change since the previous one and its utc_timestamp_ms, so a window's count
# is checked against what the bucket can have handed out in that window
# (what it held at the start, at most its size, plus the refill). Unthrottled,
# every request of these runs completes inside the first window.
. "$(dirname "$0")/lib.sh"

FLUSH_INTERVAL=0.5

now_ms() { date +%s%3N; }

# boot_blk_bench REQUESTS RATE_LIMITER_JSON: a 1 MiB drive "disk" with the
# limiter, metrics to $TMP/metrics, the guest running blk-bench=REQUESTS.
# Sets START_MS to just before InstanceStart.
boot_blk_bench() {
	need_kvm || return 1
	truncate -s 1M "$TMP/disk.img"
	: >"$TMP/metrics"
	start_ember || return 1
	api_ok PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}'
	api_ok PUT /boot-source "{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 reboot=k panic=1 ember.test=blk-bench=$1\"}"
	api_ok PUT /drives/disk "{\"drive_id\": \"disk\", \"path_on_host\": \"$TMP/disk.img\", \"is_root_device\": false, \"rate_limiter\": $2}"
	api_ok PUT /metrics "{\"metrics_path\": \"$TMP/metrics\"}"
	[ -z "$_fail_msg" ] || return 1
	START_MS=$(now_ms)
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	[ -z "$_fail_msg" ]
}

# One FlushMetrics while ember runs (not recorded for the schema check: the
# VM may exit between the liveness check and the request).
flush_metrics() {
	kill -0 "$EMBER_PID" 2>/dev/null || return 1
	curl -s -o /dev/null --unix-socket "$SOCK" -X PUT -H 'Content-Type: application/json' \
		--data-binary '{"action_type": "FlushMetrics"}' http://localhost/actions
}

# flush_until_exit MAX_S: flush every FLUSH_INTERVAL until ember exits (it
# writes a last line on exit), then reap it.
flush_until_exit() {
	local i
	for i in $(seq 1 $(($1 * 2))); do
		sleep "$FLUSH_INTERVAL"
		flush_metrics || break
	done
	wait_exit 10 || fail "guest did not finish within $1 s"
}

# series NAME: "<utc_timestamp_ms> <value>" for each flushed line.
series() {
	local line t v
	while IFS= read -r line; do
		t=$(grep -o '"utc_timestamp_ms":[0-9]*' <<<"$line" | cut -d: -f2)
		v=$(grep -o "\"$1\":[0-9]*" <<<"$line" | head -1 | cut -d: -f2)
		[ -n "$t" ] && echo "$t ${v:-0}"
	done <"$TMP/metrics"
}

total() { series "$1" | awk '{s += $2} END {print s + 0}'; }

# check_windows NAME SIZE PER_S SLACK: in every window between flushes (the
# first from START_MS), NAME grew by at most SIZE + PER_S * seconds + SLACK.
# Prints the per-window counts; fails on the first window over its bound.
check_windows() {
	local name=$1 size=$2 rate=$3 slack=$4 verdict
	verdict=$(series "$name" | awk -v prev="$START_MS" -v size="$size" -v rate="$rate" \
		-v slack="$slack" '
		{ dt = ($1 - prev) / 1000; bound = size + rate * dt + slack
		  printf "%s in %.2fs (max %.0f); ", $2, dt, bound
		  if ($2 > bound) bad = 1; prev = $1 }
		END { print (bad ? "OVER" : "ok") }')
	WINDOWS=$verdict
	case $verdict in *OVER) fail "$name above the limit: $verdict" ;; esac
}

# flush_until_total NAME N MAX_S: flush every FLUSH_INTERVAL (the sampling
# period) until NAME's total reaches N; fails after MAX_S.
flush_until_total() {
	local i
	for i in $(seq 1 $(($3 * 2))); do
		flush_metrics || return 1
		[ "$(total "$1")" -ge "$2" ] && return 0
		sleep "$FLUSH_INTERVAL"
	done
	return 1
}

# Windows in which NAME moved at all.
active_windows() { series "$1" | awk '$2 > 0 {n++} END {print n + 0}'; }

# ops: 10 requests at once, then 10 per second.
test_ops_limit_paces_requests() {
	boot_blk_bench 30 '{"ops": {"size": 10, "refill_time": 1000}}' || return
	flush_until_exit 20
	assert_contains "$(cat "$TMP/out")" "blk-bench: 30 requests" "guest output"
	assert_eq 30 "$(total blk_read_count)" "reads counted"
	check_windows blk_read_count 10 10 1
	# 20 requests past the bucket at 10/s: spread over >= 3 half-second windows.
	[ "$(active_windows blk_read_count)" -ge 3 ] ||
		fail "reads not spread out over time: $WINDOWS"
	# Nearly every request past the burst found the bucket empty and waited for the timer.
	[ "$(total blk_throttled)" -ge 15 ] || fail "only $(total blk_throttled) throttle events"
}

# bandwidth: 512-byte sectors, a 5120-byte bucket refilled every second = 10 reads/s.
test_bandwidth_limit_paces_bytes() {
	boot_blk_bench 30 '{"bandwidth": {"size": 5120, "refill_time": 1000}}' || return
	flush_until_exit 20
	assert_contains "$(cat "$TMP/out")" "blk-bench: 30 requests" "guest output"
	assert_eq $((30 * 512)) "$(total blk_read_bytes)" "bytes read"
	check_windows blk_read_bytes 5120 5120 512
	[ "$(active_windows blk_read_bytes)" -ge 3 ] ||
		fail "reads not spread out over time: $WINDOWS"
}

# one_time_burst comes on top of the bucket, once.
test_one_time_burst_then_rate() {
	boot_blk_bench 40 '{"ops": {"size": 5, "one_time_burst": 20, "refill_time": 1000}}' || return
	flush_until_exit 20
	assert_contains "$(cat "$TMP/out")" "blk-bench: 40 requests" "guest output"
	assert_eq 40 "$(total blk_read_count)" "reads counted"
	# 25 at once, then 5 per second for the last 15 (about 3 s).
	check_windows blk_read_count 25 5 1
	[ "$(active_windows blk_read_count)" -ge 4 ] ||
		fail "reads not spread out over time: $WINDOWS"
}

# PATCH /drives after boot: a throttled guest (2 reads/s; 200 would take 100 s)
# is set free by disabling the bucket (size 0), and finishes at once.
test_patch_lifts_the_limit() {
	local before after
	boot_blk_bench 200 '{"ops": {"size": 2, "refill_time": 1000}}' || return
	# Throttled for real: the bucket (2) spent and refilled at least once.
	flush_until_total blk_read_count 4 10 || fail "no throttled progress: $(total blk_read_count) reads"
	before=$(total blk_read_count)
	check_windows blk_read_count 2 2 1
	[ "$before" -lt 20 ] || fail "not throttled before PATCH: $before reads"
	api_ok PATCH /drives/disk '{"drive_id": "disk", "rate_limiter": {"ops": {"size": 0, "refill_time": 0}}}'
	flush_until_exit 10
	assert_contains "$(cat "$TMP/out")" "blk-bench: 200 requests" "guest output"
	after=$(total blk_read_count)
	assert_eq 200 "$after" "reads counted"
}

# PATCH can also put a limit on a drive that had none.
test_patch_adds_a_limit() {
	boot_blk_bench 100000 '{}' || return
	# The benchmark is running unthrottled.
	flush_until_total blk_read_count 100 10 || { fail "the benchmark never ran: $(total blk_read_count) reads"; return; }
	api_ok PATCH /drives/disk '{"drive_id": "disk", "rate_limiter": {"ops": {"size": 5, "refill_time": 500}}}'
	flush_metrics
	local mark t0 t1 reads
	mark=$(wc -l <"$TMP/metrics")
	t0=$(series blk_read_count | tail -1 | cut -d' ' -f1)
	# A measured window of at least 1.5 s after the PATCH (sampled every
	# FLUSH_INTERVAL): long enough for the bucket plus several refills.
	while flush_metrics; do
		t1=$(series blk_read_count | tail -1 | cut -d' ' -f1)
		[ $((t1 - t0)) -ge 1500 ] && break
		sleep "$FLUSH_INTERVAL"
	done
	reads=$(tail -n +$((mark + 1)) "$TMP/metrics" | grep -o '"blk_read_count":[0-9]*' | cut -d: -f2 |
		awk '{s += $1} END {print s + 0}')
	# At most the new bucket plus 10/s over the measured window (+1 in flight).
	[ "$reads" -le $((5 + 10 * (t1 - t0) / 1000 + 1)) ] ||
		fail "$reads reads in the $((t1 - t0)) ms after the PATCH (limit 5 + 10/s)"
	[ "$reads" -ge 1 ] || fail "no reads at all after the PATCH"
	stop_ember
}

# A request larger than the whole bucket still goes through once (Firecracker's
# over-consumption): the entropy device with an 8-byte bucket serves 16 bytes.
test_entropy_over_consumption() {
	need_kvm || return
	: >"$TMP/metrics"
	start_ember || return
	api_ok PUT /boot-source "{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 reboot=k panic=1 ember.test=rng\"}"
	api_ok PUT /entropy '{"rate_limiter": {"bandwidth": {"size": 8, "refill_time": 1000}, "ops": {"size": 1, "refill_time": 1000}}}'
	api_ok PUT /metrics "{\"metrics_path\": \"$TMP/metrics\"}"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_exit 30 || fail "guest did not exit"
	assert_contains "$(cat "$TMP/out")" "rng: ok" "guest output"
	assert_eq 16 "$(total rng_bytes)" "entropy bytes served"
	assert_eq 0 "$(total rng_throttled)" "throttle events"
}

run_tests "$@"
