// SPDX-License-Identifier: Apache-2.0
/*
 * vmstate file encoding: a growing buffer for writing, bounds-checked cursors
 * for reading. The file comes from the user and may be anything: every length
 * is checked against what is left before it is used, without overflow.
 */
#include "vmm/base/vmstate.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/base/crc64.h"

#define VMSTATE_STR_NULL 0xffffffffU

static void put_le(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = n; i-- > 0;)
		v = (v << 8) | p[i];
	return v;
}

/* ---- writing ----------------------------------------------------------------- */

static uint8_t *writer_reserve(struct vmstate_writer *w, size_t n)
{
	size_t cap;
	uint8_t *buf;

	if (w->err)
		return NULL;
	if (n > VMSTATE_MAX_SIZE - w->len) {
		w->err = -E2BIG;
		return NULL;
	}
	if (w->len + n > w->cap) {
		cap = w->cap ? w->cap : 4096;
		while (cap < w->len + n)
			cap *= 2;
		buf = realloc(w->buf, cap);
		if (!buf) {
			w->err = -ENOMEM;
			return NULL;
		}
		w->buf = buf;
		w->cap = cap;
	}
	w->len += n;
	return w->buf + w->len - n;
}

static void writer_put_le(struct vmstate_writer *w, uint64_t v, size_t n)
{
	uint8_t *p = writer_reserve(w, n);

	if (p)
		put_le(p, v, n);
}

void vmstate_writer_init_version(struct vmstate_writer *w, const struct vmstate_version *v)
{
	memset(w, 0, sizeof(*w));
	w->section = SIZE_MAX;
	writer_put_le(w, VMSTATE_MAGIC, 8);
	writer_put_le(w, v->major, 2);
	writer_put_le(w, v->minor, 2);
	writer_put_le(w, v->patch, 2);
	writer_put_le(w, 0, 2);
}

void vmstate_writer_init(struct vmstate_writer *w)
{
	const struct vmstate_version cur = {VMSTATE_VERSION_MAJOR, VMSTATE_VERSION_MINOR,
					    VMSTATE_VERSION_PATCH};

	vmstate_writer_init_version(w, &cur);
}

void vmstate_writer_init_raw(struct vmstate_writer *w)
{
	memset(w, 0, sizeof(*w));
	w->section = SIZE_MAX;
}

void vmstate_writer_free(struct vmstate_writer *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
	w->section = SIZE_MAX;
}

void vmstate_section_begin(struct vmstate_writer *w, uint32_t tag, uint32_t instance)
{
	if (w->section != SIZE_MAX) {
		w->err = w->err ? w->err : -EINVAL; /* sections do not nest */
		return;
	}
	w->section = w->len;
	writer_put_le(w, tag, 4);
	writer_put_le(w, instance, 4);
	writer_put_le(w, 0, 8); /* length, patched by vmstate_section_end() */
}

void vmstate_section_end(struct vmstate_writer *w)
{
	size_t start = w->section;

	w->section = SIZE_MAX;
	if (w->err)
		return;
	if (start == SIZE_MAX) {
		w->err = -EINVAL;
		return;
	}
	put_le(w->buf + start + 8, w->len - start - VMSTATE_SECTION_HDR, 8);
}

void vmstate_put_u8(struct vmstate_writer *w, uint8_t v)
{
	writer_put_le(w, v, 1);
}

void vmstate_put_u16(struct vmstate_writer *w, uint16_t v)
{
	writer_put_le(w, v, 2);
}

void vmstate_put_u32(struct vmstate_writer *w, uint32_t v)
{
	writer_put_le(w, v, 4);
}

void vmstate_put_u64(struct vmstate_writer *w, uint64_t v)
{
	writer_put_le(w, v, 8);
}

void vmstate_put_bool(struct vmstate_writer *w, bool v)
{
	writer_put_le(w, v ? 1 : 0, 1);
}

void vmstate_put_bytes(struct vmstate_writer *w, const void *p, size_t n)
{
	uint8_t *dst = writer_reserve(w, n);

	if (dst && n)
		memcpy(dst, p, n);
}

void vmstate_put_blob(struct vmstate_writer *w, const void *p, size_t n)
{
	if (n > UINT32_MAX - 1) {
		w->err = w->err ? w->err : -E2BIG;
		return;
	}
	vmstate_put_u32(w, (uint32_t)n);
	vmstate_put_bytes(w, p, n);
}

void vmstate_put_str(struct vmstate_writer *w, const char *s)
{
	size_t n;

	if (!s) {
		vmstate_put_u32(w, VMSTATE_STR_NULL);
		return;
	}
	n = strlen(s);
	if (n > VMSTATE_STR_MAX) {
		w->err = w->err ? w->err : -E2BIG;
		return;
	}
	vmstate_put_blob(w, s, n);
}

int vmstate_writer_finish(struct vmstate_writer *w)
{
	uint64_t crc;

	if (!w->err && w->section != SIZE_MAX)
		w->err = -EINVAL;
	if (w->err)
		return w->err;
	crc = crc64(0, w->buf, w->len);
	writer_put_le(w, crc, 8);
	return w->err;
}

/* ---- reading ----------------------------------------------------------------- */

static const uint8_t *reader_take(struct vmstate_reader *r, size_t n)
{
	const uint8_t *p;

	if (r->err)
		return NULL;
	if (n > r->len - r->pos) {
		r->err = -EINVAL;
		return NULL;
	}
	p = r->p + r->pos;
	r->pos += n;
	return p;
}

static uint64_t reader_get_le(struct vmstate_reader *r, size_t n)
{
	const uint8_t *p = reader_take(r, n);

	return p ? get_le(p, n) : 0;
}

uint8_t vmstate_get_u8(struct vmstate_reader *r)
{
	return (uint8_t)reader_get_le(r, 1);
}

uint16_t vmstate_get_u16(struct vmstate_reader *r)
{
	return (uint16_t)reader_get_le(r, 2);
}

uint32_t vmstate_get_u32(struct vmstate_reader *r)
{
	return (uint32_t)reader_get_le(r, 4);
}

uint64_t vmstate_get_u64(struct vmstate_reader *r)
{
	return reader_get_le(r, 8);
}

bool vmstate_get_bool(struct vmstate_reader *r)
{
	uint8_t v = vmstate_get_u8(r);

	if (v > 1 && !r->err)
		r->err = -EINVAL;
	return v == 1;
}

void vmstate_get_bytes(struct vmstate_reader *r, void *dst, size_t n)
{
	const uint8_t *p = reader_take(r, n);

	if (p)
		memcpy(dst, p, n);
	else
		memset(dst, 0, n);
}

const void *vmstate_get_blob_ref(struct vmstate_reader *r, size_t *n)
{
	uint32_t len = vmstate_get_u32(r);
	const uint8_t *p = reader_take(r, len);

	*n = p ? len : 0;
	return p;
}

void vmstate_get_blob(struct vmstate_reader *r, void *dst, size_t n)
{
	size_t len;
	const void *p = vmstate_get_blob_ref(r, &len);

	if (p && len != n && !r->err)
		r->err = -EINVAL;
	if (r->err) {
		memset(dst, 0, n);
		return;
	}
	memcpy(dst, p, n);
}

char *vmstate_get_str(struct vmstate_reader *r)
{
	uint32_t len = vmstate_get_u32(r);
	const uint8_t *p;
	char *s;

	if (r->err || len == VMSTATE_STR_NULL)
		return NULL;
	if (len > VMSTATE_STR_MAX) {
		r->err = -EINVAL;
		return NULL;
	}
	p = reader_take(r, len);
	if (!p)
		return NULL;
	if (memchr(p, 0, len)) {
		r->err = -EINVAL; /* would silently cut the string short */
		return NULL;
	}
	s = strndup((const char *)p, len);
	if (!s)
		r->err = -ENOMEM;
	return s;
}

int vmstate_reader_end(const struct vmstate_reader *r)
{
	if (r->err)
		return r->err;
	return r->pos == r->len ? 0 : -EINVAL;
}

/* ---- files ------------------------------------------------------------------- */

bool vmstate_version_compatible(const struct vmstate_version *v)
{
	return v->major == VMSTATE_VERSION_MAJOR && v->minor <= VMSTATE_VERSION_MINOR;
}

int vmstate_peek_version(const uint8_t *data, size_t len, struct vmstate_version *v)
{
	if (len < VMSTATE_HEADER_SIZE || get_le(data, 8) != VMSTATE_MAGIC)
		return -EINVAL;
	v->major = (uint16_t)get_le(data + 8, 2);
	v->minor = (uint16_t)get_le(data + 10, 2);
	v->patch = (uint16_t)get_le(data + 12, 2);
	return 0;
}

/* Every section header and payload lies inside the body, which they fill exactly. */
static int vmstate_check_framing(const uint8_t *data, size_t body_end)
{
	size_t pos = VMSTATE_HEADER_SIZE;

	while (pos < body_end) {
		uint64_t len;

		if (body_end - pos < VMSTATE_SECTION_HDR)
			return -EINVAL;
		len = get_le(data + pos + 8, 8);
		pos += VMSTATE_SECTION_HDR;
		if (len > body_end - pos)
			return -EINVAL;
		pos += (size_t)len;
	}
	return 0;
}

int vmstate_open(struct vmstate_file *f, const uint8_t *data, size_t len, char *err, size_t errlen)
{
	uint64_t stored, computed, magic;
	size_t body;

	memset(f, 0, sizeof(*f));
	if (len < VMSTATE_CRC_SIZE) {
		snprintf(err, errlen, "Snapshot file is smaller than CRC length.");
		return -EINVAL;
	}
	body = len - VMSTATE_CRC_SIZE;
	computed = crc64(0, data, body);
	stored = get_le(data + body, 8);
	if (computed != stored) {
		snprintf(err, errlen, "CRC64 validation failed: %" PRIu64, computed);
		return -EINVAL;
	}
	if (body < VMSTATE_HEADER_SIZE) {
		snprintf(err, errlen,
			 "An error occured with serialization/deserialization: the %zu-byte file "
			 "is shorter than its header",
			 len);
		return -EINVAL;
	}
	magic = get_le(data, 8);
	if (magic != VMSTATE_MAGIC) {
		snprintf(err, errlen, "Magic value does not match arch: %" PRIu64, magic);
		return -EINVAL;
	}
	vmstate_peek_version(data, len, &f->version);
	if (!vmstate_version_compatible(&f->version)) {
		snprintf(err, errlen, "Invalid data version: %u.%u.%u", f->version.major,
			 f->version.minor, f->version.patch);
		return -EINVAL;
	}
	if (vmstate_check_framing(data, body)) {
		snprintf(err, errlen,
			 "An error occured with serialization/deserialization: a section runs "
			 "past the end of the state");
		return -EINVAL;
	}
	f->data = data;
	f->len = len;
	return 0;
}

bool vmstate_next(const struct vmstate_file *f, size_t *pos, uint32_t *tag, uint32_t *instance,
		  struct vmstate_reader *r)
{
	size_t body_end = f->len - VMSTATE_CRC_SIZE;
	uint64_t len;

	if (*pos < VMSTATE_HEADER_SIZE)
		*pos = VMSTATE_HEADER_SIZE;
	/* vmstate_open() checked the framing: every header and payload is inside. */
	if (*pos >= body_end)
		return false;
	*tag = (uint32_t)get_le(f->data + *pos, 4);
	*instance = (uint32_t)get_le(f->data + *pos + 4, 4);
	len = get_le(f->data + *pos + 8, 8);
	r->p = f->data + *pos + VMSTATE_SECTION_HDR;
	r->len = (size_t)len;
	r->pos = 0;
	r->err = 0;
	*pos += VMSTATE_SECTION_HDR + (size_t)len;
	return true;
}

bool vmstate_find(const struct vmstate_file *f, uint32_t tag, uint32_t instance,
		  struct vmstate_reader *r)
{
	size_t pos = 0;
	uint32_t t, i;

	while (vmstate_next(f, &pos, &t, &i, r))
		if (t == tag && i == instance)
			return true;
	return false;
}

void vmstate_tag_name(uint32_t tag, char buf[5])
{
	for (int i = 0; i < 4; i++) {
		char c = (char)(tag >> (8 * i));

		buf[i] = (c >= 0x20 && c < 0x7f) ? c : '?';
	}
	buf[4] = '\0';
}

static int os_error(char *err, size_t errlen, const char *what, int e)
{
	snprintf(err, errlen, "%s: %s (os error %d)", what, strerror(e), e);
	return -e;
}

int vmstate_read_file(const char *path, uint8_t **data, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	uint8_t *buf;
	size_t done = 0;
	int fd, ret;

	*data = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return os_error(err, errlen, "Failed to open snapshot file", errno);
	if (fstat(fd, &st) < 0) {
		ret = os_error(err, errlen, "Failed to read snapshot file metadata", errno);
		close(fd);
		return ret;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > VMSTATE_MAX_SIZE) {
		snprintf(err, errlen,
			 "Failed to load snapshot state from file: the state is not a regular "
			 "file of at most %u bytes",
			 VMSTATE_MAX_SIZE);
		close(fd);
		return -EFBIG;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		close(fd);
		return os_error(err, errlen, "Failed to load snapshot state from file", ENOMEM);
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = os_error(err, errlen, "Failed to load snapshot state from file",
				       n < 0 ? errno : EIO);
			free(buf);
			close(fd);
			return ret;
		}
		done += (size_t)n;
	}
	close(fd);
	*data = buf;
	*len = done;
	return 0;
}
