/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vmstate file (PUT /snapshot/create snapshot_path): everything about a
 * microVM except its memory, in one checksummed little-endian file.
 *
 *	u64 magic  u16 major  u16 minor  u16 patch  u16 reserved (0)
 *	section*   { u32 tag  u32 instance  u64 length  u8 payload[length] }
 *	u64 crc64  (CRC-64/Jones of every byte before it, see crc64.h)
 *
 * Sections carry one component each (a vCPU, the irqchip, a device, ...),
 * found by tag and instance; what a payload holds is the owner's business
 * and read back with the same sequence of get calls it was written with.
 *
 * Compatibility, as Firecracker's: a file loads when its major equals ours
 * and its minor is not above ours (patch levels never matter). The whole
 * file is at most VMSTATE_MAX_SIZE, Firecracker's deserialisation limit.
 *
 * Writers and readers keep the first error and turn later calls into no-ops,
 * so a sequence of puts or gets needs one check at its end.
 */
#ifndef EMBER_VMSTATE_H
#define EMBER_VMSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMSTATE_MAGIC	      0x534d565245424d45ULL /* "EMBERVMS" */
#define VMSTATE_VERSION_MAJOR 1
#define VMSTATE_VERSION_MINOR 0
#define VMSTATE_VERSION_PATCH 0
#define VMSTATE_MAX_SIZE      (10U << 20)
#define VMSTATE_HEADER_SIZE   16U
#define VMSTATE_SECTION_HDR   16U
#define VMSTATE_CRC_SIZE      8U
#define VMSTATE_STR_MAX	      4096U

#define VMSTATE_TAG(a, b, c, d)                                                                    \
	((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)

struct vmstate_version {
	uint16_t major, minor, patch;
};

struct vmstate_writer {
	uint8_t *buf;
	size_t len, cap;
	size_t section; /* header offset of the open section, SIZE_MAX if none */
	int err;	/* first error: -ENOMEM, -E2BIG (VMSTATE_MAX_SIZE), -EINVAL */
};

/* Starts the buffer with the header of the current version. */
void vmstate_writer_init(struct vmstate_writer *w);
/* Same, with any version (tests and tools that produce old or future files). */
void vmstate_writer_init_version(struct vmstate_writer *w, const struct vmstate_version *v);
/* No header: a nested payload, later appended to a file with vmstate_put_blob(). */
void vmstate_writer_init_raw(struct vmstate_writer *w);
void vmstate_writer_free(struct vmstate_writer *w);

void vmstate_section_begin(struct vmstate_writer *w, uint32_t tag, uint32_t instance);
void vmstate_section_end(struct vmstate_writer *w);

void vmstate_put_u8(struct vmstate_writer *w, uint8_t v);
void vmstate_put_u16(struct vmstate_writer *w, uint16_t v);
void vmstate_put_u32(struct vmstate_writer *w, uint32_t v);
void vmstate_put_u64(struct vmstate_writer *w, uint64_t v);
void vmstate_put_bool(struct vmstate_writer *w, bool v);
/* Raw bytes, no length. */
void vmstate_put_bytes(struct vmstate_writer *w, const void *p, size_t n);
/* u32 length + bytes: a KVM struct, a register file. */
void vmstate_put_blob(struct vmstate_writer *w, const void *p, size_t n);
/* u32 length + bytes (no NUL), or u32 0xffffffff for NULL. */
void vmstate_put_str(struct vmstate_writer *w, const char *s);

/* Append the CRC (closing an open section first is the caller's job). 0 or the first error. */
int vmstate_writer_finish(struct vmstate_writer *w);

/* ---- reading ---------------------------------------------------------------- */

struct vmstate_reader {
	const uint8_t *p;
	size_t len, pos;
	int err; /* first error: -EINVAL (short or malformed), -ENOMEM */
};

uint8_t vmstate_get_u8(struct vmstate_reader *r);
uint16_t vmstate_get_u16(struct vmstate_reader *r);
uint32_t vmstate_get_u32(struct vmstate_reader *r);
uint64_t vmstate_get_u64(struct vmstate_reader *r);
/* Only 0 and 1 are booleans. */
bool vmstate_get_bool(struct vmstate_reader *r);
void vmstate_get_bytes(struct vmstate_reader *r, void *dst, size_t n);
/* A blob of exactly @n bytes (any other length is an error; @dst is zeroed then). */
void vmstate_get_blob(struct vmstate_reader *r, void *dst, size_t n);
/* A blob of any length: a pointer into the file (NULL on error), valid while it is. */
const void *vmstate_get_blob_ref(struct vmstate_reader *r, size_t *n);
/* A malloc'ed string, or NULL for a NULL string (check r->err to tell errors apart). */
char *vmstate_get_str(struct vmstate_reader *r);
/* 0 when every byte was consumed without error, else the error (-EINVAL for leftovers). */
int vmstate_reader_end(const struct vmstate_reader *r);

/* A validated file held in memory. */
struct vmstate_file {
	const uint8_t *data;
	size_t len;
	struct vmstate_version version;
};

/*
 * Validate @data: size, CRC, magic, version compatibility and section
 * framing, in that order (Firecracker's order for the first four). 0 or
 * -EINVAL with the reason in @err, in Firecracker's words where it has them:
 *	"Snapshot file is smaller than CRC length."
 *	"CRC64 validation failed: <computed>"
 *	"Magic value does not match arch: <magic>"
 *	"Invalid data version: <major>.<minor>.<patch>"
 */
int vmstate_open(struct vmstate_file *f, const uint8_t *data, size_t len, char *err, size_t errlen);

/* Only the header: version of a file whose CRC or compatibility may be bad (--describe). */
int vmstate_peek_version(const uint8_t *data, size_t len, struct vmstate_version *v);

bool vmstate_version_compatible(const struct vmstate_version *v);

/* Reader over the payload of section @tag/@instance; false when absent. */
bool vmstate_find(const struct vmstate_file *f, uint32_t tag, uint32_t instance,
		  struct vmstate_reader *r);

/* Walk the sections in file order: set *pos = 0, then call until false. */
bool vmstate_next(const struct vmstate_file *f, size_t *pos, uint32_t *tag, uint32_t *instance,
		  struct vmstate_reader *r);

/* "VCPU" for VMSTATE_TAG('V','C','P','U'); @buf holds at least 5 bytes. */
void vmstate_tag_name(uint32_t tag, char buf[5]);

/*
 * Read a whole vmstate file (at most VMSTATE_MAX_SIZE bytes) into a malloc'ed
 * buffer. 0 or -errno with @err in Firecracker's words ("Failed to open
 * snapshot file: <strerror> (os error N)").
 */
int vmstate_read_file(const char *path, uint8_t **data, size_t *len, char *err, size_t errlen);

#endif
