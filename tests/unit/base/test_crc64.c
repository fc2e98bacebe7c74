// SPDX-License-Identifier: Apache-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "vmm/base/crc64.h"

/* Bit-at-a-time reference straight from the definition (reflected Jones polynomial). */
static uint64_t crc64_bitwise(uint64_t crc, const uint8_t *p, size_t len)
{
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc & 1) ? (crc >> 1) ^ 0x95ac9329ac4bc9b5ULL : crc >> 1;
	}
	return crc;
}

/* The published check value of CRC-64/Jones (also Redis' crc64 test vector). */
static void test_check_value(void **state)
{
	(void)state;
	assert_int_equal(crc64(0, "123456789", 9), 0xe9c6d914c4b8d9caULL);
}

static void test_empty_keeps_crc(void **state)
{
	(void)state;
	assert_int_equal(crc64(0, "", 0), 0);
	assert_int_equal(crc64(0x1234, NULL, 0), 0x1234);
}

/* Every length and alignment around the 8-byte slicing agrees with the bitwise form. */
static void test_matches_bitwise_reference(void **state)
{
	uint8_t buf[300];

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	for (size_t off = 0; off < 9; off++)
		for (size_t len = 0; len + off <= sizeof(buf); len += 7)
			assert_int_equal(crc64(0, buf + off, len),
					 crc64_bitwise(0, buf + off, len));
}

static void test_incremental_equals_one_shot(void **state)
{
	const char *text = "Ember snapshots are checksummed with CRC-64/Jones";
	size_t len = strlen(text);

	(void)state;
	for (size_t split = 0; split <= len; split++) {
		uint64_t crc = crc64(0, text, split);

		assert_int_equal(crc64(crc, text + split, len - split), crc64(0, text, len));
	}
}

/* Any single flipped bit changes the checksum. */
static void test_detects_bit_flips(void **state)
{
	uint8_t buf[64];
	uint64_t good;

	(void)state;
	memset(buf, 0xa5, sizeof(buf));
	good = crc64(0, buf, sizeof(buf));
	for (size_t bit = 0; bit < sizeof(buf) * 8; bit++) {
		buf[bit / 8] ^= 1u << (bit % 8);
		assert_int_not_equal(crc64(0, buf, sizeof(buf)), good);
		buf[bit / 8] ^= 1u << (bit % 8);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_check_value),
	    cmocka_unit_test(test_empty_keeps_crc),
	    cmocka_unit_test(test_matches_bitwise_reference),
	    cmocka_unit_test(test_incremental_equals_one_shot),
	    cmocka_unit_test(test_detects_bit_flips),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
