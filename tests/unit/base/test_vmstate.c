// SPDX-License-Identifier: Apache-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/base/crc64.h"
#include "vmm/base/vmstate.h"

#define TAG_A VMSTATE_TAG('T', 'S', 'T', 'A')
#define TAG_B VMSTATE_TAG('T', 'S', 'T', 'B')

/* A small file: section A/0 with every kind of value, an empty B/7. */
static void build_sample(struct vmstate_writer *w)
{
	static const uint8_t blob[5] = {1, 2, 3, 4, 5};

	vmstate_writer_init(w);
	vmstate_section_begin(w, TAG_A, 0);
	vmstate_put_u8(w, 0xab);
	vmstate_put_u16(w, 0xbeef);
	vmstate_put_u32(w, 0xdeadbeef);
	vmstate_put_u64(w, 0x0123456789abcdefULL);
	vmstate_put_bool(w, true);
	vmstate_put_blob(w, blob, sizeof(blob));
	vmstate_put_str(w, "hello");
	vmstate_put_str(w, NULL);
	vmstate_put_str(w, "");
	vmstate_section_end(w);
	vmstate_section_begin(w, TAG_B, 7);
	vmstate_section_end(w);
	assert_int_equal(vmstate_writer_finish(w), 0);
}

/* Recompute the trailing CRC after a test edited the body on purpose. */
static void fix_crc(uint8_t *data, size_t len)
{
	uint64_t crc = crc64(0, data, len - 8);

	for (int i = 0; i < 8; i++)
		data[len - 8 + i] = (uint8_t)(crc >> (8 * i));
}

static void test_encoding_is_exact(void **state)
{
	struct vmstate_writer w;
	const uint8_t expect_head[] = {
	    'E',
	    'M',
	    'B',
	    'E',
	    'R',
	    'V',
	    'M',
	    'S', /* magic, little endian */
	    VMSTATE_VERSION_MAJOR,
	    0,
	    VMSTATE_VERSION_MINOR,
	    0,
	    VMSTATE_VERSION_PATCH,
	    0,
	    0,
	    0,
	    'T',
	    'S',
	    'T',
	    'A',
	    0,
	    0,
	    0,
	    0, /* tag, instance 0 */
	    42,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0, /* payload length */
	    0xab,
	    0xef,
	    0xbe,
	    0xef,
	    0xbe,
	    0xad,
	    0xde,
	    0xef,
	    0xcd,
	    0xab,
	    0x89,
	    0x67,
	    0x45,
	    0x23,
	    0x01,
	    1,
	    5,
	    0,
	    0,
	    0,
	    1,
	    2,
	    3,
	    4,
	    5,
	    5,
	    0,
	    0,
	    0,
	    'h',
	    'e',
	    'l',
	    'l',
	    'o',
	    0xff,
	    0xff,
	    0xff,
	    0xff,
	    0,
	    0,
	    0,
	    0, /* NULL string, empty string */
	    'T',
	    'S',
	    'T',
	    'B',
	    7,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	};
	uint64_t crc;

	(void)state;
	/* VMSTATE_TAG packs the first letter into the low byte. */
	assert_int_equal(TAG_A, 0x41545354);
	build_sample(&w);
	assert_int_equal(w.len, sizeof(expect_head) + 8);
	assert_memory_equal(w.buf, expect_head, sizeof(expect_head));
	crc = crc64(0, w.buf, sizeof(expect_head));
	for (int i = 0; i < 8; i++)
		assert_int_equal(w.buf[sizeof(expect_head) + i], (uint8_t)(crc >> (8 * i)));
	vmstate_writer_free(&w);
}

static void test_round_trip(void **state)
{
	struct vmstate_writer w;
	struct vmstate_file f;
	struct vmstate_reader r;
	uint8_t blob[5];
	char err[256], *s;

	(void)state;
	build_sample(&w);
	assert_int_equal(vmstate_open(&f, w.buf, w.len, err, sizeof(err)), 0);
	assert_int_equal(f.version.major, VMSTATE_VERSION_MAJOR);
	assert_true(vmstate_find(&f, TAG_A, 0, &r));
	assert_int_equal(vmstate_get_u8(&r), 0xab);
	assert_int_equal(vmstate_get_u16(&r), 0xbeef);
	assert_int_equal(vmstate_get_u32(&r), 0xdeadbeef);
	assert_int_equal(vmstate_get_u64(&r), 0x0123456789abcdefULL);
	assert_true(vmstate_get_bool(&r));
	vmstate_get_blob(&r, blob, sizeof(blob));
	assert_int_equal(blob[0], 1);
	assert_int_equal(blob[4], 5);
	s = vmstate_get_str(&r);
	assert_string_equal(s, "hello");
	free(s);
	assert_null(vmstate_get_str(&r));
	assert_int_equal(r.err, 0);
	s = vmstate_get_str(&r);
	assert_string_equal(s, "");
	free(s);
	assert_int_equal(vmstate_reader_end(&r), 0);
	assert_true(vmstate_find(&f, TAG_B, 7, &r));
	assert_int_equal(r.len, 0);
	assert_false(vmstate_find(&f, TAG_B, 0, &r));
	assert_false(vmstate_find(&f, VMSTATE_TAG('N', 'O', 'N', 'E'), 0, &r));
	vmstate_writer_free(&w);
}

static void test_iteration_in_file_order(void **state)
{
	struct vmstate_writer w;
	struct vmstate_file f;
	struct vmstate_reader r;
	uint32_t tag, inst;
	size_t pos = 0;
	char err[256];

	(void)state;
	build_sample(&w);
	assert_int_equal(vmstate_open(&f, w.buf, w.len, err, sizeof(err)), 0);
	assert_true(vmstate_next(&f, &pos, &tag, &inst, &r));
	assert_int_equal(tag, TAG_A);
	assert_int_equal(inst, 0);
	assert_int_equal(r.len, 42);
	assert_true(vmstate_next(&f, &pos, &tag, &inst, &r));
	assert_int_equal(tag, TAG_B);
	assert_int_equal(inst, 7);
	assert_false(vmstate_next(&f, &pos, &tag, &inst, &r));
	vmstate_writer_free(&w);
}

/* Flipping any single bit anywhere (CRC included) is caught by the CRC. */
static void test_every_bit_flip_fails_crc(void **state)
{
	struct vmstate_writer w;
	struct vmstate_file f;
	char err[256];

	(void)state;
	build_sample(&w);
	for (size_t bit = 0; bit < w.len * 8; bit++) {
		w.buf[bit / 8] ^= 1u << (bit % 8);
		assert_int_equal(vmstate_open(&f, w.buf, w.len, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "CRC64 validation failed: "));
		w.buf[bit / 8] ^= 1u << (bit % 8);
	}
	vmstate_writer_free(&w);
}

/* Every truncation fails cleanly, with Firecracker's message when shorter than the CRC. */
static void test_truncation(void **state)
{
	struct vmstate_writer w;
	struct vmstate_file f;
	char err[256];

	(void)state;
	build_sample(&w);
	for (size_t len = 0; len < w.len; len++) {
		uint8_t *copy = malloc(len ? len : 1);

		memcpy(copy, w.buf, len);
		assert_int_equal(vmstate_open(&f, copy, len, err, sizeof(err)), -EINVAL);
		if (len < 8)
			assert_string_equal(err, "Snapshot file is smaller than CRC length.");
		free(copy);
	}
	vmstate_writer_free(&w);
}

static int open_with_version(uint16_t major, uint16_t minor, uint16_t patch, char *err,
			     size_t errlen)
{
	const struct vmstate_version v = {major, minor, patch};
	struct vmstate_writer w;
	struct vmstate_file f;
	int ret;

	vmstate_writer_init_version(&w, &v);
	vmstate_section_begin(&w, TAG_A, 0);
	vmstate_put_u32(&w, 42);
	vmstate_section_end(&w);
	assert_int_equal(vmstate_writer_finish(&w), 0);
	ret = vmstate_open(&f, w.buf, w.len, err, errlen);
	vmstate_writer_free(&w);
	return ret;
}

static void test_version_rule(void **state)
{
	char err[256], want[64];

	(void)state;
	/* Same major, minor not above ours, any patch: loads. */
	assert_int_equal(
	    open_with_version(VMSTATE_VERSION_MAJOR, VMSTATE_VERSION_MINOR, 0, err, sizeof(err)),
	    0);
	assert_int_equal(
	    open_with_version(VMSTATE_VERSION_MAJOR, VMSTATE_VERSION_MINOR, 999, err, sizeof(err)),
	    0);
	/* A newer minor, another major (either way): refused, the file's version named. */
	assert_int_equal(open_with_version(VMSTATE_VERSION_MAJOR, VMSTATE_VERSION_MINOR + 1, 0, err,
					   sizeof(err)),
			 -EINVAL);
	snprintf(want, sizeof(want), "Invalid data version: %u.%u.0", VMSTATE_VERSION_MAJOR,
		 VMSTATE_VERSION_MINOR + 1);
	assert_string_equal(err, want);
	assert_int_equal(open_with_version(VMSTATE_VERSION_MAJOR + 1, 0, 0, err, sizeof(err)),
			 -EINVAL);
	snprintf(want, sizeof(want), "Invalid data version: %u.0.0", VMSTATE_VERSION_MAJOR + 1);
	assert_string_equal(err, want);
	assert_int_equal(open_with_version(VMSTATE_VERSION_MAJOR - 1, 0, 0, err, sizeof(err)),
			 -EINVAL);
}

static void test_bad_magic_with_valid_crc(void **state)
{
	struct vmstate_writer w;
	struct vmstate_file f;
	char err[256];

	(void)state;
	build_sample(&w);
	memcpy(w.buf, "\x01\x02\x03\x04\x42\x43\x44\x45", 8);
	fix_crc(w.buf, w.len);
	assert_int_equal(vmstate_open(&f, w.buf, w.len, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "Magic value does not match arch: 4991188237847560705");
	vmstate_writer_free(&w);
}

/* A section length pointing past the end (with a valid CRC) is refused, not followed. */
static void test_bad_framing_with_valid_crc(void **state)
{
	struct vmstate_writer w;
	struct vmstate_file f;
	char err[256];

	(void)state;
	build_sample(&w);
	w.buf[VMSTATE_HEADER_SIZE + 8] = 0xff; /* section A length: 255 */
	fix_crc(w.buf, w.len);
	assert_int_equal(vmstate_open(&f, w.buf, w.len, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "serialization/deserialization"));
	w.buf[VMSTATE_HEADER_SIZE + 8] = 42;
	memset(w.buf + VMSTATE_HEADER_SIZE + 9, 0xff, 7); /* 2^64 - something */
	fix_crc(w.buf, w.len);
	assert_int_equal(vmstate_open(&f, w.buf, w.len, err, sizeof(err)), -EINVAL);
	vmstate_writer_free(&w);
}

static void test_reader_bounds(void **state)
{
	static const uint8_t payload[] = {5, 0, 0, 0, 'a', 'b', 'c', 2};
	struct vmstate_reader r = {payload, sizeof(payload), 0, 0};
	uint8_t small[4];
	size_t n;

	(void)state;
	/* Blob length 5 but a 4-byte destination: an error, the destination zeroed. */
	memset(small, 0x77, sizeof(small));
	vmstate_get_blob(&r, small, sizeof(small));
	assert_int_equal(r.err, -EINVAL);
	assert_int_equal(small[0], 0);
	/* Errors stick: later gets return zeroes. */
	assert_int_equal(vmstate_get_u32(&r), 0);

	r = (struct vmstate_reader){payload, sizeof(payload), 0, 0};
	assert_null(vmstate_get_blob_ref(&r, &n)); /* 5 bytes announced, 4 left */
	assert_int_equal(n, 0);
	assert_int_equal(r.err, -EINVAL);

	r = (struct vmstate_reader){payload + 7, 1, 0, 0};
	vmstate_get_bool(&r); /* 2 is not a boolean */
	assert_int_equal(r.err, -EINVAL);

	r = (struct vmstate_reader){payload, sizeof(payload), 0, 0};
	vmstate_get_u16(&r);
	assert_int_equal(vmstate_reader_end(&r), -EINVAL); /* bytes left over */
	assert_int_equal(vmstate_get_u64(&r), 0);	   /* only 6 left */
	assert_int_equal(r.err, -EINVAL);
}

static void test_strings_are_checked(void **state)
{
	static const uint8_t with_nul[] = {3, 0, 0, 0, 'a', 0, 'b'};
	static const uint8_t too_long[] = {0x01, 0x10, 0, 0};
	struct vmstate_reader r = {with_nul, sizeof(with_nul), 0, 0};

	(void)state;
	assert_null(vmstate_get_str(&r));
	assert_int_equal(r.err, -EINVAL);
	r = (struct vmstate_reader){too_long, sizeof(too_long), 0, 0};
	assert_null(vmstate_get_str(&r));
	assert_int_equal(r.err, -EINVAL);
}

static void test_writer_errors(void **state)
{
	struct vmstate_writer w;
	void *big = calloc(1, VMSTATE_MAX_SIZE);

	(void)state;
	/* Nested sections and an unclosed one are programming errors. */
	vmstate_writer_init(&w);
	vmstate_section_begin(&w, TAG_A, 0);
	vmstate_section_begin(&w, TAG_B, 0);
	assert_int_equal(vmstate_writer_finish(&w), -EINVAL);
	vmstate_writer_free(&w);
	vmstate_writer_init(&w);
	vmstate_section_begin(&w, TAG_A, 0);
	assert_int_equal(vmstate_writer_finish(&w), -EINVAL);
	vmstate_writer_free(&w);
	/* Past VMSTATE_MAX_SIZE: -E2BIG, not a huge allocation. */
	vmstate_writer_init(&w);
	vmstate_section_begin(&w, TAG_A, 0);
	vmstate_put_bytes(&w, big, VMSTATE_MAX_SIZE);
	vmstate_section_end(&w);
	assert_int_equal(vmstate_writer_finish(&w), -E2BIG);
	vmstate_writer_free(&w);
	free(big);
}

static void test_peek_version(void **state)
{
	struct vmstate_writer w;
	struct vmstate_version v;
	const struct vmstate_version future = {VMSTATE_VERSION_MAJOR + 3, 2, 1};

	(void)state;
	vmstate_writer_init_version(&w, &future);
	assert_int_equal(vmstate_writer_finish(&w), 0);
	assert_int_equal(vmstate_peek_version(w.buf, w.len, &v), 0);
	assert_int_equal(v.major, VMSTATE_VERSION_MAJOR + 3);
	assert_int_equal(v.minor, 2);
	assert_int_equal(v.patch, 1);
	assert_false(vmstate_version_compatible(&v));
	assert_int_equal(vmstate_peek_version(w.buf, 10, &v), -EINVAL);
	vmstate_writer_free(&w);
}

static void test_read_file(void **state)
{
	char path[] = "/tmp/ember-test-vmstate-XXXXXX", err[256];
	struct vmstate_writer w;
	uint8_t *data;
	size_t len;
	int fd;

	(void)state;
	assert_int_equal(vmstate_read_file("/nonexistent/vmstate", &data, &len, err, sizeof(err)),
			 -ENOENT);
	assert_string_equal(err,
			    "Failed to open snapshot file: No such file or directory (os error 2)");
	build_sample(&w);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, w.buf, w.len), (ssize_t)w.len);
	assert_int_equal(vmstate_read_file(path, &data, &len, err, sizeof(err)), 0);
	assert_int_equal(len, w.len);
	assert_memory_equal(data, w.buf, len);
	free(data);
	/* Larger than the limit: refused before reading. */
	assert_int_equal(ftruncate(fd, VMSTATE_MAX_SIZE + 1), 0);
	assert_int_equal(vmstate_read_file(path, &data, &len, err, sizeof(err)), -EFBIG);
	assert_null(data);
	close(fd);
	unlink(path);
	vmstate_writer_free(&w);
}

static void test_tag_name(void **state)
{
	char name[5];

	(void)state;
	vmstate_tag_name(VMSTATE_TAG('V', 'C', 'P', 'U'), name);
	assert_string_equal(name, "VCPU");
	vmstate_tag_name(0x00ff4142, name);
	assert_string_equal(name, "BA??");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_encoding_is_exact),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_iteration_in_file_order),
	    cmocka_unit_test(test_every_bit_flip_fails_crc),
	    cmocka_unit_test(test_truncation),
	    cmocka_unit_test(test_version_rule),
	    cmocka_unit_test(test_bad_magic_with_valid_crc),
	    cmocka_unit_test(test_bad_framing_with_valid_crc),
	    cmocka_unit_test(test_reader_bounds),
	    cmocka_unit_test(test_strings_are_checked),
	    cmocka_unit_test(test_writer_errors),
	    cmocka_unit_test(test_peek_version),
	    cmocka_unit_test(test_read_file),
	    cmocka_unit_test(test_tag_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
