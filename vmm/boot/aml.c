// SPDX-License-Identifier: Apache-2.0
#include "vmm/boot/aml.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define AML_MIN_CAP 256

void aml_init(struct aml_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void aml_free(struct aml_buf *b)
{
	free(b->data);
	aml_init(b);
}

int aml_error(const struct aml_buf *b)
{
	return b->err;
}

static void aml_fail(struct aml_buf *b, int err)
{
	if (!b->err)
		b->err = err;
}

/* Room for @n more bytes; doubling keeps appends amortised O(1). */
static bool aml_reserve(struct aml_buf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : AML_MIN_CAP;
	uint8_t *p;

	if (b->err)
		return false;
	if (n > SIZE_MAX - b->len) {
		aml_fail(b, -ENOMEM);
		return false;
	}
	while (cap < b->len + n) {
		if (cap > SIZE_MAX / 2) {
			aml_fail(b, -ENOMEM);
			return false;
		}
		cap *= 2;
	}
	if (cap == b->cap)
		return true;
	p = realloc(b->data, cap);
	if (!p) {
		aml_fail(b, -ENOMEM);
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

void aml_bytes(struct aml_buf *b, const void *p, size_t n)
{
	if (!n || !aml_reserve(b, n))
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void aml_byte(struct aml_buf *b, uint8_t v)
{
	aml_bytes(b, &v, 1);
}

/* Insert @n bytes at @pos, moving what follows: how a body gets its PkgLength. */
static void aml_insert(struct aml_buf *b, size_t pos, const uint8_t *p, size_t n)
{
	if (pos > b->len) {
		aml_fail(b, -EINVAL);
		return;
	}
	if (!aml_reserve(b, n))
		return;
	memmove(b->data + pos + n, b->data + pos, b->len - pos);
	memcpy(b->data + pos, p, n);
	b->len += n;
}

/* ---- PkgLength and integers ------------------------------------------------ */

int aml_pkg_length(size_t body_len, uint8_t out[4])
{
	size_t total;
	int n;

	if (body_len > AML_PKG_LENGTH_MAX - 4)
		return -E2BIG;
	/* Lead byte: bits 7-6 = bytes that follow; one byte alone holds 6 bits. */
	if (body_len + 1 <= 0x3f) {
		out[0] = (uint8_t)(body_len + 1);
		return 1;
	}
	if (body_len + 2 <= 0xfff)
		n = 2;
	else if (body_len + 3 <= 0xfffff)
		n = 3;
	else
		n = 4;
	total = body_len + (size_t)n;
	/* Multi-byte: low nibble in the lead byte, then 8 bits per byte. */
	out[0] = (uint8_t)(((unsigned int)(n - 1) << 6) | (total & 0xf));
	for (int i = 1; i < n; i++)
		out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	return n;
}

static size_t encode_integer(uint64_t v, uint8_t out[9])
{
	size_t n;

	if (v <= 1) {
		out[0] = v ? AML_ONE_OP : AML_ZERO_OP;
		return 1;
	}
	if (v <= UINT8_MAX) {
		out[0] = AML_BYTE_PREFIX;
		n = 1;
	} else if (v <= UINT16_MAX) {
		out[0] = AML_WORD_PREFIX;
		n = 2;
	} else if (v <= UINT32_MAX) {
		out[0] = AML_DWORD_PREFIX;
		n = 4;
	} else {
		out[0] = AML_QWORD_PREFIX;
		n = 8;
	}
	for (size_t i = 0; i < n; i++)
		out[1 + i] = (uint8_t)(v >> (8 * i));
	return 1 + n;
}

void aml_integer(struct aml_buf *b, uint64_t v)
{
	uint8_t enc[9];

	aml_bytes(b, enc, encode_integer(v, enc));
}

/* ---- strings and names ----------------------------------------------------- */

void aml_string(struct aml_buf *b, const char *s)
{
	for (const char *c = s; *c; c++) {
		/* AsciiCharList: 0x01-0x7f. */
		if ((unsigned char)*c > 0x7f) {
			aml_fail(b, -EINVAL);
			return;
		}
	}
	aml_byte(b, AML_STRING_PREFIX);
	aml_bytes(b, s, strlen(s) + 1);
}

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Compressed EISA ID: 5 bits per letter (A = 1), then the 4 hex digits, big-endian. */
void aml_eisaid(struct aml_buf *b, const char *id)
{
	uint16_t vendor = 0, product = 0;
	uint8_t enc[5];

	if (strlen(id) != 7) {
		aml_fail(b, -EINVAL);
		return;
	}
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z') {
			aml_fail(b, -EINVAL);
			return;
		}
		vendor = (uint16_t)(vendor << 5 | (id[i] - 0x40));
	}
	for (int i = 3; i < 7; i++) {
		int v = hex_nibble(id[i]);

		if (v < 0) {
			aml_fail(b, -EINVAL);
			return;
		}
		product = (uint16_t)(product << 4 | v);
	}
	enc[0] = AML_DWORD_PREFIX;
	enc[1] = (uint8_t)(vendor >> 8);
	enc[2] = (uint8_t)vendor;
	enc[3] = (uint8_t)(product >> 8);
	enc[4] = (uint8_t)product;
	aml_bytes(b, enc, sizeof(enc));
}

static bool name_char_ok(char c, bool first)
{
	return (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

/* One NameSeg from @s (up to '.' or the end) into @seg; its length, or -1. */
static int parse_seg(const char *s, uint8_t seg[AML_NAME_SEG_LEN])
{
	int n = 0;

	while (s[n] && s[n] != '.') {
		if (n == AML_NAME_SEG_LEN || !name_char_ok(s[n], n == 0))
			return -1;
		seg[n] = (uint8_t)s[n];
		n++;
	}
	if (n == 0)
		return -1;
	memset(seg + n, '_', AML_NAME_SEG_LEN - (size_t)n);
	return n;
}

void aml_name_string(struct aml_buf *b, const char *path)
{
	uint8_t segs[AML_MAX_NAME_SEGS][AML_NAME_SEG_LEN];
	const char *p = path;
	size_t nr = 0;

	if (!*p) {
		aml_fail(b, -EINVAL); /* the root is a lone backslash; "" is a bug */
		return;
	}
	/* Prefix: one root char or any number of parent chars. */
	if (*p == '\\') {
		aml_byte(b, AML_ROOT_CHAR);
		p++;
	} else {
		for (; *p == '^'; p++)
			aml_byte(b, AML_PARENT_CHAR);
	}
	while (*p) {
		int n = nr < AML_MAX_NAME_SEGS ? parse_seg(p, segs[nr]) : -1;

		if (n < 0) {
			aml_fail(b, -EINVAL);
			return;
		}
		nr++;
		p += n;
		if (*p == '.' && !*++p) {
			aml_fail(b, -EINVAL); /* trailing dot */
			return;
		}
	}
	if (nr == 0)
		aml_byte(b, AML_NULL_NAME);
	else if (nr == 2)
		aml_byte(b, AML_DUAL_NAME);
	else if (nr > 2)
		aml_bytes(b, (uint8_t[]){AML_MULTI_NAME, (uint8_t)nr}, 2);
	aml_bytes(b, segs, nr * AML_NAME_SEG_LEN);
}

void aml_name(struct aml_buf *b, const char *name)
{
	aml_byte(b, AML_NAME_OP);
	aml_name_string(b, name);
}

void aml_return(struct aml_buf *b)
{
	aml_byte(b, AML_RETURN_OP);
}

void aml_arg(struct aml_buf *b, unsigned int n)
{
	if (n >= AML_METHOD_MAX_ARGS) {
		aml_fail(b, -EINVAL);
		return;
	}
	aml_byte(b, (uint8_t)(AML_ARG0_OP + n));
}

void aml_lequal(struct aml_buf *b)
{
	aml_byte(b, AML_LEQUAL_OP);
}

/* NotifyObject is a SuperName: a NameString here. */
void aml_notify(struct aml_buf *b, const char *path, uint64_t value)
{
	aml_byte(b, AML_NOTIFY_OP);
	aml_name_string(b, path);
	aml_integer(b, value);
}

/* ---- nested objects -------------------------------------------------------- */

/* Mark where the PkgLength goes: right after the opcode. */
static size_t aml_open(struct aml_buf *b, const uint8_t *op, size_t oplen)
{
	aml_bytes(b, op, oplen);
	return b->len;
}

/* Put the PkgLength (then @extra) in front of the body that starts at @mark. */
static void aml_close_with(struct aml_buf *b, size_t mark, const uint8_t *extra, size_t extra_len)
{
	uint8_t head[4 + 9];
	int n;

	if (b->err)
		return;
	if (mark > b->len) {
		aml_fail(b, -EINVAL);
		return;
	}
	n = aml_pkg_length(b->len - mark + extra_len, head);
	if (n < 0) {
		aml_fail(b, n);
		return;
	}
	if (extra_len)
		memcpy(head + n, extra, extra_len);
	aml_insert(b, mark, head, (size_t)n + extra_len);
}

void aml_close(struct aml_buf *b, size_t mark)
{
	aml_close_with(b, mark, NULL, 0);
}

size_t aml_scope_open(struct aml_buf *b, const char *path)
{
	size_t mark = aml_open(b, (const uint8_t[]){AML_SCOPE_OP}, 1);

	aml_name_string(b, path);
	return mark;
}

size_t aml_device_open(struct aml_buf *b, const char *path)
{
	size_t mark = aml_open(b, (const uint8_t[]){AML_EXT_OP_PREFIX, AML_DEVICE_OP}, 2);

	aml_name_string(b, path);
	return mark;
}

size_t aml_method_open(struct aml_buf *b, const char *name, unsigned int nargs, bool serialized)
{
	size_t mark = aml_open(b, (const uint8_t[]){AML_METHOD_OP}, 1);

	if (nargs > AML_METHOD_MAX_ARGS)
		aml_fail(b, -EINVAL);
	aml_name_string(b, name);
	/* MethodFlags: bits 0-2 ArgCount, bit 3 SerializeFlag, bits 4-7 SyncLevel 0. */
	aml_byte(b, (uint8_t)(nargs | (serialized ? 1U << 3 : 0)));
	return mark;
}

size_t aml_package_open(struct aml_buf *b, uint8_t nr_elements)
{
	size_t mark = aml_open(b, (const uint8_t[]){AML_PACKAGE_OP}, 1);

	aml_byte(b, nr_elements);
	return mark;
}

size_t aml_if_open(struct aml_buf *b)
{
	return aml_open(b, (const uint8_t[]){AML_IF_OP}, 1);
}

size_t aml_buffer_open(struct aml_buf *b)
{
	return aml_open(b, (const uint8_t[]){AML_BUFFER_OP}, 1);
}

/* BufferSize is a TermArg that precedes the bytes; it is inside the PkgLength. */
void aml_buffer_close(struct aml_buf *b, size_t mark)
{
	uint8_t size[9];

	if (b->err)
		return;
	if (mark > b->len) {
		aml_fail(b, -EINVAL);
		return;
	}
	aml_close_with(b, mark, size, encode_integer(b->len - mark, size));
}

size_t aml_restemplate_open(struct aml_buf *b)
{
	return aml_buffer_open(b);
}

/* End Tag with checksum 0: "the checksum is treated as correct" (6.4.2.9). */
void aml_restemplate_close(struct aml_buf *b, size_t mark)
{
	aml_bytes(b, (const uint8_t[]){AML_RES_END_TAG, 0x00}, 2);
	aml_buffer_close(b, mark);
}

/* ---- resource descriptors -------------------------------------------------- */

static void put_le(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void aml_memory32_fixed(struct aml_buf *b, bool writable, uint32_t base, uint32_t len)
{
	uint8_t d[12] = {AML_RES_MEMORY32_FIXED};

	put_le(d + 1, sizeof(d) - 3, 2); /* large item: length excludes tag and length */
	d[3] = writable ? 1 : 0;
	put_le(d + 4, base, 4);
	put_le(d + 8, len, 4);
	aml_bytes(b, d, sizeof(d));
}

void aml_interrupt(struct aml_buf *b, unsigned int flags, uint32_t gsi)
{
	uint8_t d[9] = {AML_RES_EXT_IRQ};

	if (flags & ~(AML_IRQ_CONSUMER | AML_IRQ_EDGE | AML_IRQ_ACTIVE_LOW | AML_IRQ_SHARED)) {
		aml_fail(b, -EINVAL);
		return;
	}
	put_le(d + 1, sizeof(d) - 3, 2);
	d[3] = (uint8_t)flags;
	d[4] = 1; /* interrupt table length */
	put_le(d + 5, gsi, 4);
	aml_bytes(b, d, sizeof(d));
}

void aml_io(struct aml_buf *b, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
	uint8_t d[8] = {AML_RES_IO, 1 /* Decode16 */};

	put_le(d + 2, min, 2);
	put_le(d + 4, max, 2);
	d[6] = align;
	d[7] = len;
	aml_bytes(b, d, sizeof(d));
}

/* ACPI 6.5, 6.4.3.5.1; Firecracker's AddressSpace::new_memory() for a u64 range. */
void aml_qword_memory(struct aml_buf *b, bool cacheable, bool writable, uint64_t min, uint64_t max)
{
	uint8_t d[46] = {AML_RES_QWORD_ADDR};

	if (min > max) {
		aml_fail(b, -EINVAL);
		return;
	}
	put_le(d + 1, sizeof(d) - 3, 2);
	d[3] = 0;		  /* resource type: memory range */
	d[4] = 1U << 2 | 1U << 3; /* general flags: MinFixed, MaxFixed */
	/* Type-specific flags: bits 2-1 MEM (1: cacheable), bit 0 RW. */
	d[5] = (uint8_t)((cacheable ? 1U << 1 : 0) | (writable ? 1U : 0));
	put_le(d + 6, 0, 8); /* granularity */
	put_le(d + 14, min, 8);
	put_le(d + 22, max, 8);
	put_le(d + 30, 0, 8);		  /* translation offset */
	put_le(d + 38, max - min + 1, 8); /* length (0 for the whole 2^64 range) */
	aml_bytes(b, d, sizeof(d));
}
