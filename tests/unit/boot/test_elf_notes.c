// SPDX-License-Identifier: Apache-2.0
/*
 * The PVH entry note parser on note segments built here byte by byte: found
 * among other notes, absent, every way a size can be wrong (truncated header,
 * name or descriptor past the end, sizes that wrap when padded), bad
 * descriptors, duplicates, 8-byte alignment.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "vmm/boot/elf_notes.h"

#define ENTRY 0x1000850U

struct seg {
	uint8_t buf[512];
	size_t len;
	size_t align;
};

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (v >> (8 * i)) & 0xff;
}

/* Append a note; @namesz/@descsz as stored, the bytes actually present padded. */
static void add_note(struct seg *s, const char *name, uint32_t namesz, uint32_t type,
		     const void *desc, uint32_t descsz)
{
	size_t a = s->align, name_pad = (namesz + a - 1) / a * a;
	size_t desc_pad = (descsz + a - 1) / a * a;

	assert_true(s->len + 12 + name_pad + desc_pad <= sizeof(s->buf));
	put32(s->buf + s->len, namesz);
	put32(s->buf + s->len + 4, descsz);
	put32(s->buf + s->len + 8, type);
	s->len += 12;
	memset(s->buf + s->len, 0, name_pad + desc_pad);
	memcpy(s->buf + s->len, name, strlen(name) + 1 < namesz ? strlen(name) + 1 : namesz);
	s->len += name_pad;
	if (desc)
		memcpy(s->buf + s->len, desc, descsz);
	s->len += desc_pad;
}

static void add_pvh(struct seg *s, uint64_t entry, uint32_t descsz)
{
	add_note(s, "Xen", 4, XEN_ELFNOTE_PHYS32_ENTRY, &entry, descsz);
}

/* Linux's notes around the PVH one: GNU build ID, Xen notes of other types. */
static void add_others(struct seg *s)
{
	uint8_t id[20];
	uint64_t hypercall = 0xffffffff81001000ULL;

	memset(id, 0xab, sizeof(id));
	add_note(s, "GNU", 4, 3, id, sizeof(id));
	add_note(s, "Xen", 4, 2, &hypercall, 8);
	add_note(s, "Linux", 6, 0x100, "6.1", 4);
}

static int parse(const struct seg *s, uint32_t *entry, char *err, size_t errlen)
{
	return elf_notes_find_pvh(s->buf, s->len, s->align, entry, err, errlen);
}

static void expect_error(const struct seg *s, const char *msg)
{
	char err[256] = "";
	uint32_t entry = 0x5a5a5a5a;

	assert_int_equal(parse(s, &entry, err, sizeof(err)), -ENOEXEC);
	if (!strstr(err, msg))
		fail_msg("error \"%s\" lacks \"%s\"", err, msg);
	assert_int_equal(entry, 0x5a5a5a5a);
}

static void test_found_among_others(void **state)
{
	struct seg s = {.align = 4};
	uint32_t entry = 0;

	(void)state;
	add_others(&s);
	add_pvh(&s, ENTRY, 8);
	add_note(&s, "GNU", 4, 5, "x", 1);
	assert_int_equal(parse(&s, &entry, NULL, 0), 1);
	assert_int_equal(entry, ENTRY);
}

static void test_descriptor_of_4_bytes(void **state)
{
	struct seg s = {.align = 4};
	uint32_t entry = 0;

	(void)state;
	add_pvh(&s, ENTRY, 4);
	assert_int_equal(parse(&s, &entry, NULL, 0), 1);
	assert_int_equal(entry, ENTRY);
}

static void test_align_8(void **state)
{
	struct seg s = {.align = 8};
	uint32_t entry = 0;

	(void)state;
	add_note(&s, "GNU", 4, 3, "abcde", 5); /* name and descriptor padded to 8 */
	add_pvh(&s, ENTRY, 4);
	assert_int_equal(parse(&s, &entry, NULL, 0), 1);
	assert_int_equal(entry, ENTRY);
	/* Read with 4-byte padding, the same bytes no longer parse as that note. */
	s.align = 4;
	assert_int_not_equal(parse(&s, &entry, NULL, 0), 1);
}

static void test_align_0_and_1_mean_4(void **state)
{
	struct seg s = {.align = 4};
	uint32_t entry = 0;

	(void)state;
	add_others(&s);
	add_pvh(&s, ENTRY, 8);
	s.align = 0;
	assert_int_equal(parse(&s, &entry, NULL, 0), 1);
	s.align = 1;
	assert_int_equal(parse(&s, &entry, NULL, 0), 1);
	s.align = 16;
	expect_error(&s, "alignment 16");
}

static void test_absent(void **state)
{
	struct seg s = {.align = 4};
	uint32_t entry = 0x77;

	(void)state;
	assert_int_equal(parse(&s, &entry, NULL, 0), 0); /* empty segment */
	add_others(&s);
	/* Type 18 under another owner, and owner "Xen" without its NUL: not the note. */
	add_note(&s, "Xen2", 5, XEN_ELFNOTE_PHYS32_ENTRY, "\x50\x08\x00\x01", 4);
	add_note(&s, "Xen", 3, XEN_ELFNOTE_PHYS32_ENTRY, "\x50\x08\x00\x01", 4);
	assert_int_equal(parse(&s, &entry, NULL, 0), 0);
	assert_int_equal(entry, 0x77);
}

static void test_truncated_header(void **state)
{
	struct seg s = {.align = 4};

	(void)state;
	add_others(&s);
	s.len += 8; /* 8 stray bytes: less than a note header */
	expect_error(&s, "note 3: header is truncated");
}

static void test_truncated_descriptor(void **state)
{
	struct seg s = {.align = 4};

	(void)state;
	add_pvh(&s, ENTRY, 8);
	s.len -= 4;
	expect_error(&s, "run past the end");
	s.len = 14; /* header and half the name */
	expect_error(&s, "run past the end");
}

static void test_sizes_that_wrap(void **state)
{
	struct seg s = {.align = 4};

	(void)state;
	add_pvh(&s, ENTRY, 8);
	put32(s.buf, 0xfffffffd); /* namesz: padded, 2^32, which must not wrap to 0 */
	expect_error(&s, "run past the end");
	put32(s.buf, 4);
	put32(s.buf + 4, 0xffffffff); /* descsz */
	expect_error(&s, "run past the end");
	s.align = 8;
	put32(s.buf + 4, 0xfffffff9);
	expect_error(&s, "run past the end");
}

static void test_bad_descriptor(void **state)
{
	struct seg s = {.align = 4};

	(void)state;
	add_pvh(&s, ENTRY, 2);
	expect_error(&s, "2-byte descriptor");
	s.len = 0;
	add_pvh(&s, ENTRY, 0);
	expect_error(&s, "0-byte descriptor");
	s.len = 0;
	add_note(&s, "Xen", 4, XEN_ELFNOTE_PHYS32_ENTRY, "0123456789abcdef", 16);
	expect_error(&s, "16-byte descriptor");
	s.len = 0;
	add_pvh(&s, 0x100000000ULL | ENTRY, 8);
	expect_error(&s, "not a 32-bit address");
}

static void test_duplicate(void **state)
{
	struct seg s = {.align = 4};

	(void)state;
	add_pvh(&s, ENTRY, 8);
	add_pvh(&s, ENTRY + 16, 8);
	expect_error(&s, "more than one PVH entry note");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_found_among_others),
	    cmocka_unit_test(test_descriptor_of_4_bytes),
	    cmocka_unit_test(test_align_8),
	    cmocka_unit_test(test_align_0_and_1_mean_4),
	    cmocka_unit_test(test_absent),
	    cmocka_unit_test(test_truncated_header),
	    cmocka_unit_test(test_truncated_descriptor),
	    cmocka_unit_test(test_sizes_that_wrap),
	    cmocka_unit_test(test_bad_descriptor),
	    cmocka_unit_test(test_duplicate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
