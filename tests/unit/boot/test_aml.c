// SPDX-License-Identifier: Apache-2.0
/*
 * The AML emitter against hand-assembled bytes from the ACPI 6.5 spec
 * (chapter 20 grammar, 6.4 resource descriptors): integer prefixes at every
 * width boundary, PkgLength at every encoding boundary (63/64 and 4095/4096
 * total bytes), names, EISA IDs, methods, and whole devices as iasl encodes
 * them. Errors latch and poison the buffer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/boot/aml.h"

#define BYTES(...) ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})

static void expect_bytes(struct aml_buf *b, const uint8_t *want, size_t len)
{
	assert_int_equal(aml_error(b), 0);
	assert_int_equal(b->len, len);
	assert_memory_equal(b->data, want, len);
	aml_free(b);
}

/* ---- integers ---------------------------------------------------------------- */

static void check_integer(uint64_t v, const uint8_t *want, size_t len)
{
	struct aml_buf b;

	aml_init(&b);
	aml_integer(&b, v);
	expect_bytes(&b, want, len);
}

static void test_integer_smallest_encoding(void **state)
{
	(void)state;
	check_integer(0, BYTES(0x00));	     /* ZeroOp */
	check_integer(1, BYTES(0x01));	     /* OneOp */
	check_integer(2, BYTES(0x0a, 0x02)); /* BytePrefix */
	check_integer(0xff, BYTES(0x0a, 0xff));
	check_integer(0x100, BYTES(0x0b, 0x00, 0x01)); /* WordPrefix */
	check_integer(0xffff, BYTES(0x0b, 0xff, 0xff));
	check_integer(0x10000, BYTES(0x0c, 0x00, 0x00, 0x01, 0x00)); /* DWordPrefix */
	check_integer(0xffffffff, BYTES(0x0c, 0xff, 0xff, 0xff, 0xff));
	check_integer(0x100000000ULL,
		      BYTES(0x0e, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00)); /* QWord */
	check_integer(UINT64_MAX, BYTES(0x0e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff));
}

/* ---- PkgLength ----------------------------------------------------------------- */

static void check_pkg_length(size_t body, const uint8_t *want, size_t len)
{
	uint8_t out[4];

	assert_int_equal(aml_pkg_length(body, out), (int)len);
	assert_memory_equal(out, want, len);
}

/* The encoded value is the total: body plus the PkgLength bytes themselves. */
static void test_pkg_length_boundaries(void **state)
{
	uint8_t out[4];

	(void)state;
	check_pkg_length(0, BYTES(0x01));
	check_pkg_length(62, BYTES(0x3f));		    /* total 63: the last 1-byte form */
	check_pkg_length(63, BYTES(0x41, 0x04));	    /* total 64 cannot be 1 byte: 65 */
	check_pkg_length(64, BYTES(0x42, 0x04));	    /* 66 */
	check_pkg_length(4093, BYTES(0x4f, 0xff));	    /* total 4095: the last 2-byte form */
	check_pkg_length(4094, BYTES(0x81, 0x00, 0x01));    /* 4096 cannot be 2 bytes: 4097 */
	check_pkg_length(0xffffc, BYTES(0x8f, 0xff, 0xff)); /* 2^20 - 1 */
	check_pkg_length(0xffffd, BYTES(0xc1, 0x00, 0x00, 0x01));
	check_pkg_length(0x0ffffffb, BYTES(0xcf, 0xff, 0xff, 0xff)); /* 2^28 - 1 */
	assert_int_equal(aml_pkg_length(0x0ffffffc, out), -E2BIG);
	assert_int_equal(aml_pkg_length(SIZE_MAX, out), -E2BIG);
}

/* Package(N){One...}: body = NumElements + N bytes. */
static void check_package_of_ones(uint8_t n, const uint8_t *head, size_t head_len)
{
	struct aml_buf b;
	size_t mark;

	aml_init(&b);
	mark = aml_package_open(&b, n);
	for (unsigned int i = 0; i < n; i++)
		aml_integer(&b, 1);
	aml_close(&b, mark);
	assert_int_equal(aml_error(&b), 0);
	assert_int_equal(b.len, head_len + 1 + n);
	assert_memory_equal(b.data, head, head_len);
	assert_int_equal(b.data[head_len], n);
	for (unsigned int i = 0; i < n; i++)
		assert_int_equal(b.data[head_len + 1 + i], 0x01);
	aml_free(&b);
}

static void test_pkg_length_in_objects_63_64(void **state)
{
	(void)state;
	check_package_of_ones(61, BYTES(0x12, 0x3f));	    /* body 62 -> total 63 */
	check_package_of_ones(62, BYTES(0x12, 0x41, 0x04)); /* body 63 -> 2 bytes, 65 */
}

/* Buffer(){D bytes}: body = BufferSize (0B lo hi) + D bytes. */
static void check_buffer(size_t data_len, const uint8_t *head, size_t head_len)
{
	struct aml_buf b;
	uint8_t *data = calloc(1, data_len);
	size_t mark;

	assert_non_null(data);
	aml_init(&b);
	mark = aml_buffer_open(&b);
	aml_bytes(&b, data, data_len);
	aml_buffer_close(&b, mark);
	assert_int_equal(aml_error(&b), 0);
	assert_int_equal(b.len, head_len + data_len);
	assert_memory_equal(b.data, head, head_len);
	aml_free(&b);
	free(data);
}

static void test_pkg_length_in_objects_4095_4096(void **state)
{
	(void)state;
	/* 4090 data + 3 BufferSize = 4093 body -> total 4095 (0xfff). */
	check_buffer(4090, BYTES(0x11, 0x4f, 0xff, 0x0b, 0xfa, 0x0f));
	/* 4091 + 3 = 4094 -> 3 bytes, total 4097 (0x1001). */
	check_buffer(4091, BYTES(0x11, 0x81, 0x00, 0x01, 0x0b, 0xfb, 0x0f));
	/* Small buffers take a ByteConst size. */
	check_buffer(3, BYTES(0x11, 0x06, 0x0a, 0x03)); /* body 2 + 3, total 6 */
}

/* ---- names, strings, IDs --------------------------------------------------------- */

static void check_name(const char *path, const uint8_t *want, size_t len)
{
	struct aml_buf b;

	aml_init(&b);
	aml_name_string(&b, path);
	expect_bytes(&b, want, len);
}

static void bad_name(const char *path)
{
	struct aml_buf b;

	aml_init(&b);
	aml_name_string(&b, path);
	assert_int_equal(aml_error(&b), -EINVAL);
	aml_free(&b);
}

static void test_name_strings(void **state)
{
	(void)state;
	check_name("_HID", BYTES('_', 'H', 'I', 'D'));
	check_name("AB", BYTES('A', 'B', '_', '_')); /* padded */
	check_name("\\_SB_", BYTES(0x5c, '_', 'S', 'B', '_'));
	check_name("\\_SB_.COM1", BYTES(0x5c, 0x2e, '_', 'S', 'B', '_', 'C', 'O', 'M', '1'));
	check_name("_SB_.PCI0.S08",
		   BYTES(0x2f, 0x03, '_', 'S', 'B', '_', 'P', 'C', 'I', '0', 'S', '0', '8', '_'));
	check_name("^^PS2_", BYTES(0x5e, 0x5e, 'P', 'S', '2', '_'));
	check_name("\\", BYTES(0x5c, 0x00)); /* the root: NullName */
	bad_name("1ABC");		     /* leading digit */
	bad_name("ABCDE");		     /* 5 characters */
	bad_name("com1");		     /* lower case */
	bad_name("A..B");
	bad_name("A.");
	bad_name(".A");
	bad_name("");
}

static void test_strings_and_eisaid(void **state)
{
	struct aml_buf b;

	(void)state;
	aml_init(&b);
	aml_string(&b, "COM1");
	expect_bytes(&b, BYTES(0x0d, 'C', 'O', 'M', '1', 0x00));

	aml_init(&b);
	aml_eisaid(&b, "PNP0501"); /* EISAID("PNP0501") == 0x0105D041 */
	expect_bytes(&b, BYTES(0x0c, 0x41, 0xd0, 0x05, 0x01));
	aml_init(&b);
	aml_eisaid(&b, "PNP0303");
	expect_bytes(&b, BYTES(0x0c, 0x41, 0xd0, 0x03, 0x03));
	aml_init(&b);
	aml_eisaid(&b, "QEMU0002"); /* QEM, U is no hex digit and it is 8 long */
	assert_int_equal(aml_error(&b), -EINVAL);
	aml_free(&b);
	aml_init(&b);
	aml_eisaid(&b, "pnp0501");
	assert_int_equal(aml_error(&b), -EINVAL);
	aml_free(&b);
	aml_init(&b);
	aml_eisaid(&b, "PNP05G1");
	assert_int_equal(aml_error(&b), -EINVAL);
	aml_free(&b);
	aml_init(&b);
	aml_string(&b, "caf\xc3\xa9"); /* not ASCII */
	assert_int_equal(aml_error(&b), -EINVAL);
	aml_free(&b);
}

/* ---- methods, descriptors, devices ---------------------------------------------- */

static void test_method_return(void **state)
{
	struct aml_buf b;
	size_t m;

	(void)state;
	/* Method (_STA, 0, NotSerialized) { Return (0x0F) } */
	aml_init(&b);
	m = aml_method_open(&b, "_STA", 0, false);
	aml_return(&b);
	aml_integer(&b, 0x0f);
	aml_close(&b, m);
	expect_bytes(&b, BYTES(0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xa4, 0x0a, 0x0f));

	/* Method (FOO, 2, Serialized) { Return (One) }: flags 2 | 1 << 3 */
	aml_init(&b);
	m = aml_method_open(&b, "FOO", 2, true);
	aml_return(&b);
	aml_integer(&b, 1);
	aml_close(&b, m);
	expect_bytes(&b, BYTES(0x14, 0x08, 'F', 'O', 'O', '_', 0x0a, 0xa4, 0x01));

	aml_init(&b);
	aml_method_open(&b, "BAR", 8, false);
	assert_int_equal(aml_error(&b), -EINVAL);
	aml_free(&b);
}

static void test_resource_descriptors(void **state)
{
	struct aml_buf b;
	size_t rt;

	(void)state;
	aml_init(&b);
	aml_memory32_fixed(&b, true, 0xd0001000, 0x1000);
	expect_bytes(&b,
		     BYTES(0x86, 0x09, 0x00, 0x01, 0x00, 0x10, 0x00, 0xd0, 0x00, 0x10, 0x00, 0x00));
	aml_init(&b);
	aml_memory32_fixed(&b, false, 0xfed00000, 0x400);
	expect_bytes(&b,
		     BYTES(0x86, 0x09, 0x00, 0x00, 0x00, 0x00, 0xd0, 0xfe, 0x00, 0x04, 0x00, 0x00));

	/* Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive) {5} */
	aml_init(&b);
	aml_interrupt(&b, AML_IRQ_CONSUMER | AML_IRQ_EDGE, 5);
	expect_bytes(&b, BYTES(0x89, 0x06, 0x00, 0x03, 0x01, 0x05, 0x00, 0x00, 0x00));
	/* Interrupt (ResourceConsumer, Level, ActiveLow, Shared) {0x17} */
	aml_init(&b);
	aml_interrupt(&b, AML_IRQ_CONSUMER | AML_IRQ_ACTIVE_LOW | AML_IRQ_SHARED, 0x17);
	expect_bytes(&b, BYTES(0x89, 0x06, 0x00, 0x0d, 0x01, 0x17, 0x00, 0x00, 0x00));
	aml_init(&b);
	aml_interrupt(&b, 1U << 4, 5); /* wake capable: not supported here */
	assert_int_equal(aml_error(&b), -EINVAL);
	aml_free(&b);

	/* IO (Decode16, 0x3F8, 0x3F8, 1, 8) */
	aml_init(&b);
	aml_io(&b, 0x3f8, 0x3f8, 1, 8);
	expect_bytes(&b, BYTES(0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08));

	/* ResourceTemplate () {} is a Buffer holding just the End Tag. */
	aml_init(&b);
	rt = aml_restemplate_open(&b);
	aml_restemplate_close(&b, rt);
	expect_bytes(&b, BYTES(0x11, 0x05, 0x0a, 0x02, 0x79, 0x00));
}

/* If (LEqual (Arg0, 0x05)) { Notify (\_SB_.VGEN, 0x80) }: Firecracker's GED _EVT clause. */
static void test_if_lequal_notify(void **state)
{
	struct aml_buf b;
	size_t cond;

	(void)state;
	aml_init(&b);
	cond = aml_if_open(&b);
	aml_lequal(&b);
	aml_arg(&b, 0);
	aml_integer(&b, 5);
	aml_notify(&b, "\\_SB_.VGEN", 0x80);
	aml_close(&b, cond);
	expect_bytes(&b,
		     BYTES(0xa0, 0x12, 0x93, 0x68, 0x0a, 0x05, /* If (LEqual (Arg0, 5)) */
			   0x86, 0x5c, 0x2e, '_', 'S', 'B', '_', 'V', 'G', 'E', 'N', /* Notify */
			   0x0a, 0x80));

	/* Arg6 is the last argument; Notify on a relative single name. */
	aml_init(&b);
	aml_arg(&b, 6);
	aml_notify(&b, "VCLK", 1);
	expect_bytes(&b, BYTES(0x6e, 0x86, 'V', 'C', 'L', 'K', 0x01));

	aml_init(&b);
	aml_arg(&b, 7);
	assert_int_equal(aml_error(&b), -EINVAL);
	aml_free(&b);
	aml_init(&b);
	aml_notify(&b, "1BAD", 0x80);
	assert_int_equal(aml_error(&b), -EINVAL);
	aml_free(&b);
}

/*
 * QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable,
 * ReadOnly, 0, 0xDE000, 0xDEFFF, 0, 0x1000): Firecracker's VMClock _CRS.
 */
static void test_qword_memory(void **state)
{
	struct aml_buf b;

	(void)state;
	aml_init(&b);
	aml_qword_memory(&b, true, false, 0xde000, 0xdefff);
	expect_bytes(&b, BYTES(0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x02,		 /* header, flags */
			       0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,	 /* granularity */
			       0x00, 0xe0, 0x0d, 0x00, 0x00, 0x00, 0x00, 0x00,	 /* min */
			       0xff, 0xef, 0x0d, 0x00, 0x00, 0x00, 0x00, 0x00,	 /* max */
			       0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,	 /* translation */
			       0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00)); /* length */
	/* NonCacheable ReadWrite above 4 GiB. */
	aml_init(&b);
	aml_qword_memory(&b, false, true, 0x100000000ULL, 0x1ffffffffULL);
	expect_bytes(&b,
		     BYTES(0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
			   0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0xff, 0xff,
			   0xff, 0xff, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
			   0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00));
	aml_init(&b);
	aml_qword_memory(&b, true, false, 0x2000, 0x1fff);
	assert_int_equal(aml_error(&b), -EINVAL);
	assert_int_equal(b.len, 0);
	aml_free(&b);
}

/* Firecracker's COM1, as iasl compiles it (inside Scope (\_SB)). */
static const uint8_t com1_aml[] = {
    0x5b, 0x82, 0x3c, 'C',  'O',  'M',	'1',			      /* Device (COM1), 60 */
    0x08, '_',	'H',  'I',  'D',  0x0c, 0x41, 0xd0, 0x05, 0x01,	      /* EisaId ("PNP0501") */
    0x08, '_',	'U',  'I',  'D',  0x00,				      /* Zero */
    0x08, '_',	'D',  'D',  'N',  0x0d, 'C',  'O',  'M',  '1',	0x00, /* "COM1" */
    0x08, '_',	'C',  'R',  'S',  0x11, 0x16, 0x0a, 0x13,	      /* Buffer (19) */
    0x89, 0x06, 0x00, 0x03, 0x01, 0x04, 0x00, 0x00, 0x00,	      /* Interrupt {4} */
    0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08, 0x79, 0x00,	      /* IO, End Tag */
};

static void test_device_com1(void **state)
{
	struct aml_buf b;
	size_t dev, crs;

	(void)state;
	aml_init(&b);
	dev = aml_device_open(&b, "COM1");
	aml_name(&b, "_HID");
	aml_eisaid(&b, "PNP0501");
	aml_name(&b, "_UID");
	aml_integer(&b, 0);
	aml_name(&b, "_DDN");
	aml_string(&b, "COM1");
	aml_name(&b, "_CRS");
	crs = aml_restemplate_open(&b);
	aml_interrupt(&b, AML_IRQ_CONSUMER | AML_IRQ_EDGE, 4);
	aml_io(&b, 0x3f8, 0x3f8, 1, 8);
	aml_restemplate_close(&b, crs);
	aml_close(&b, dev);
	expect_bytes(&b, com1_aml, sizeof(com1_aml));
}

/* A body of 63 bytes: the device's PkgLength needs two bytes (total 65). */
static void test_device_virtio_two_byte_length(void **state)
{
	static const uint8_t want[] = {
	    0x5b, 0x82, 0x41, 0x04, 'V',  '0',	'0',  '0',  0x08, '_',	'H',  'I',  'D',  0x0d,
	    'L',  'N',	'R',  'O',  '0',  '0',	'0',  '5',  0x00, 0x08, '_',  'U',  'I',  'D',
	    0x00, 0x08, '_',  'C',  'C',  'A',	0x01, 0x08, '_',  'C',	'R',  'S',  0x11, 0x1a,
	    0x0a, 0x17, 0x86, 0x09, 0x00, 0x01, 0x00, 0x10, 0x00, 0xd0, 0x00, 0x10, 0x00, 0x00,
	    0x89, 0x06, 0x00, 0x03, 0x01, 0x05, 0x00, 0x00, 0x00, 0x79, 0x00,
	};
	struct aml_buf b;
	size_t dev, crs;

	(void)state;
	aml_init(&b);
	dev = aml_device_open(&b, "V000");
	aml_name(&b, "_HID");
	aml_string(&b, "LNRO0005");
	aml_name(&b, "_UID");
	aml_integer(&b, 0);
	aml_name(&b, "_CCA");
	aml_integer(&b, 1);
	aml_name(&b, "_CRS");
	crs = aml_restemplate_open(&b);
	aml_memory32_fixed(&b, true, 0xd0001000, 0x1000);
	aml_interrupt(&b, AML_IRQ_CONSUMER | AML_IRQ_EDGE, 5);
	aml_restemplate_close(&b, crs);
	aml_close(&b, dev);
	expect_bytes(&b, want, sizeof(want));
}

static void test_scope_nesting(void **state)
{
	struct aml_buf b;
	size_t sb, dev;

	(void)state;
	/* Scope (\_SB) { Device (PS2) { Name (_UID, One) } } */
	aml_init(&b);
	sb = aml_scope_open(&b, "\\_SB_");
	dev = aml_device_open(&b, "PS2_");
	aml_name(&b, "_UID");
	aml_integer(&b, 1);
	aml_close(&b, dev);
	aml_close(&b, sb);
	expect_bytes(&b, BYTES(0x10, 0x13, 0x5c, '_', 'S', 'B', '_', 0x5b, 0x82, 0x0b, 'P', 'S',
			       '2', '_', 0x08, '_', 'U', 'I', 'D', 0x01));
}

/* ---- errors ------------------------------------------------------------------------ */

static void test_error_latches(void **state)
{
	struct aml_buf b;
	size_t len, dev;

	(void)state;
	aml_init(&b);
	dev = aml_device_open(&b, "bad!");
	assert_int_equal(aml_error(&b), -EINVAL);
	len = b.len;
	aml_integer(&b, 0x1234);
	aml_string(&b, "ok");
	aml_close(&b, dev);
	assert_int_equal(b.len, len); /* nothing more was appended */
	assert_int_equal(aml_error(&b), -EINVAL);
	aml_free(&b);

	/* A size no allocation can meet: -ENOMEM, nothing written. */
	aml_init(&b);
	aml_integer(&b, 7);
	aml_bytes(&b, &b, SIZE_MAX);
	assert_int_equal(aml_error(&b), -ENOMEM);
	assert_int_equal(b.len, 2);
	aml_integer(&b, 7);
	assert_int_equal(b.len, 2);
	aml_free(&b);

	/* A mark past the end is a caller bug, reported as -EINVAL. */
	aml_init(&b);
	aml_integer(&b, 7);
	aml_close(&b, 100);
	assert_int_equal(aml_error(&b), -EINVAL);
	aml_free(&b);
}

/* Growth across many reallocations keeps every byte. */
static void test_growth(void **state)
{
	struct aml_buf b;

	(void)state;
	aml_init(&b);
	for (unsigned int i = 0; i < 100000; i++)
		aml_integer(&b, 0x0a00 + (i & 0xff));
	assert_int_equal(aml_error(&b), 0);
	assert_int_equal(b.len, 300000);
	for (unsigned int i = 0; i < 100000; i++) {
		assert_int_equal(b.data[3 * i], 0x0b);
		assert_int_equal(b.data[3 * i + 1], i & 0xff);
		assert_int_equal(b.data[3 * i + 2], 0x0a);
	}
	aml_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_integer_smallest_encoding),
	    cmocka_unit_test(test_pkg_length_boundaries),
	    cmocka_unit_test(test_pkg_length_in_objects_63_64),
	    cmocka_unit_test(test_pkg_length_in_objects_4095_4096),
	    cmocka_unit_test(test_name_strings),
	    cmocka_unit_test(test_strings_and_eisaid),
	    cmocka_unit_test(test_method_return),
	    cmocka_unit_test(test_resource_descriptors),
	    cmocka_unit_test(test_if_lequal_notify),
	    cmocka_unit_test(test_qword_memory),
	    cmocka_unit_test(test_device_com1),
	    cmocka_unit_test(test_device_virtio_two_byte_length),
	    cmocka_unit_test(test_scope_nesting),
	    cmocka_unit_test(test_error_latches),
	    cmocka_unit_test(test_growth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
