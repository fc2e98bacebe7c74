#!/usr/bin/env bash
# virtio-rng (PUT /entropy) on real KVM: the test guest reads 16 bytes from
# the device; they must be 32 hex digits, not all zero, and differ between
# two boots. Without PUT /entropy the guest finds no entropy device.
. "$(dirname "$0")/lib.sh"

# boot_rng [ENTROPY_JSON]: one boot of the rng scenario; RNG_HEX = the hex the guest read.
RNG_HEX=""
boot_rng() {
	start_ember || return 1
	[ $# -ge 1 ] && api_ok PUT /entropy "$1"
	api_ok PUT /boot-source \
		"{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 reboot=k ember.test=rng\"}"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_exit 30 || fail "guest did not exit"
	assert_eq 0 "$EXIT_CODE" "exit code"
	RNG_HEX=$(grep -oE '^rng: [0-9a-f]{32}$' "$TMP/out" | cut -d' ' -f2)
}

test_sixteen_random_bytes() {
	need_kvm || return
	local first second
	boot_rng '{}' || return
	first=$RNG_HEX
	assert_contains "$(cat "$TMP/out")" "virtio-rng at 0xd0001000 irq 5 id 4" "device list"
	assert_contains "$(cat "$TMP/out")" "rng: ok" "guest verdict"
	[ ${#first} = 32 ] || fail "no 32-hex-digit line from the guest: $(cat "$TMP/out")"
	[ "$first" != 00000000000000000000000000000000 ] || fail "all zero"
	mv "$TMP/out" "$TMP/out.1"
	boot_rng '{"rate_limiter": {"bandwidth": {"size": 4096, "refill_time": 100}}}' || return
	second=$RNG_HEX
	[ ${#second} = 32 ] || fail "no 32-hex-digit line from the second guest: $(cat "$TMP/out")"
	[ "$first" != "$second" ] || fail "two boots read the same 16 bytes: $first"
}

test_no_entropy_device_without_put() {
	need_kvm || return
	boot_rng || return
	assert_contains "$(cat "$TMP/out")" "rng: no device" "guest output"
	assert_not_contains "$(cat "$TMP/out")" "virtio_mmio.device=" "command line"
}

test_entropy_in_vm_config() {
	start_ember || return
	api_ok PUT /entropy '{"rate_limiter": {"ops": {"size": 10, "one_time_burst": 5, "refill_time": 1000}}}'
	api_ok GET /vm/config
	assert_contains "$BODY" '"entropy":{"rate_limiter":{"bandwidth":null,"ops":{"size":10,"one_time_burst":5,"refill_time":1000}}}' "GET /vm/config"
	api_ok PUT /entropy '{}'
	api_ok GET /vm/config
	assert_contains "$BODY" '"entropy":{"rate_limiter":null}' "replaced"
}

run_tests "$@"
