/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small AML (ACPI Machine Language) emitter: just what Ember's DSDT needs,
 * encoded as ACPI 6.5 chapter 20 ("ACPI Machine Language Specification")
 * defines it, appended to a growable byte buffer.
 *
 * Errors latch: the first failure (-ENOMEM, -EINVAL for a bad name or ID,
 * -E2BIG for a package over 2^28 bytes) is kept in the buffer, every later
 * call is a no-op, and aml_error() reports it once at the end. A caller
 * therefore emits a whole block and checks once; a failed buffer is never
 * half-used because aml_error() must be 0 before anyone reads it.
 *
 * Nested objects (scopes, devices, methods, packages, buffers) carry a
 * PkgLength that counts their whole body, so they are opened and closed:
 * aml_*_open() returns a mark and aml_close() (aml_restemplate_close() for a
 * resource template) fills in the PkgLength, in its smallest encoding, once
 * the body is known.
 */
#ifndef EMBER_AML_H
#define EMBER_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Opcodes (ACPI 6.5, 20.3). */
#define AML_ZERO_OP	    0x00
#define AML_ONE_OP	    0x01
#define AML_NAME_OP	    0x08
#define AML_BYTE_PREFIX	    0x0a
#define AML_WORD_PREFIX	    0x0b
#define AML_DWORD_PREFIX    0x0c
#define AML_STRING_PREFIX   0x0d
#define AML_QWORD_PREFIX    0x0e
#define AML_SCOPE_OP	    0x10
#define AML_BUFFER_OP	    0x11
#define AML_PACKAGE_OP	    0x12
#define AML_METHOD_OP	    0x14
#define AML_DUAL_NAME	    0x2e
#define AML_MULTI_NAME	    0x2f
#define AML_EXT_OP_PREFIX   0x5b
#define AML_ARG0_OP	    0x68 /* Arg0 .. Arg6: 0x68 .. 0x6e */
#define AML_NOTIFY_OP	    0x86
#define AML_LEQUAL_OP	    0x93
#define AML_IF_OP	    0xa0
#define AML_DEVICE_OP	    0x82 /* after AML_EXT_OP_PREFIX */
#define AML_ROOT_CHAR	    0x5c /* '\' */
#define AML_PARENT_CHAR	    0x5e /* '^' */
#define AML_RETURN_OP	    0xa4
#define AML_NULL_NAME	    0x00
#define AML_PKG_LENGTH_MAX  0x0fffffffU /* 28 bits */
#define AML_NAME_SEG_LEN    4
#define AML_MAX_NAME_SEGS   255
#define AML_METHOD_MAX_ARGS 7

/* Resource descriptors (ACPI 6.5, 6.4). */
#define AML_RES_IO	       0x47 /* small, type 8, length 7 */
#define AML_RES_END_TAG	       0x79 /* small, type 0xf, length 1 */
#define AML_RES_MEMORY32_FIXED 0x86 /* large, type 6 */
#define AML_RES_EXT_IRQ	       0x89 /* large, type 9 */
#define AML_RES_QWORD_ADDR     0x8a /* large, type 0xa */

/* Extended Interrupt Descriptor flags (ACPI 6.5, 6.4.3.6). */
#define AML_IRQ_CONSUMER   (1U << 0)
#define AML_IRQ_EDGE	   (1U << 1)
#define AML_IRQ_ACTIVE_LOW (1U << 2)
#define AML_IRQ_SHARED	   (1U << 3)

struct aml_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	int err; /* first error, latched; 0 while all is well */
};

void aml_init(struct aml_buf *b);
void aml_free(struct aml_buf *b);
/* 0, or the first error any call on @b met. */
int aml_error(const struct aml_buf *b);

/*
 * PkgLength for a body of @body_len bytes: the encoded length counts itself,
 * so it is 1 byte up to a total of 63, 2 up to 4095, 3 up to 2^20 - 1 and 4
 * up to 2^28 - 1. Writes @out and returns its size, or -E2BIG.
 */
int aml_pkg_length(size_t body_len, uint8_t out[4]);

/* Raw bytes (table fields the caller already encoded). */
void aml_bytes(struct aml_buf *b, const void *p, size_t n);

/* Data objects. */
void aml_integer(struct aml_buf *b, uint64_t v); /* Zero, One, or the smallest prefix */
void aml_string(struct aml_buf *b, const char *s);
/* EisaId("PNP0501"): three letters A-Z and four hex digits as a DWord. */
void aml_eisaid(struct aml_buf *b, const char *id);
/*
 * A NameString: "\\_SB_.COM1", "^PS2_", "_HID" ... Segments of 1-4 of
 * A-Z, 0-9, _ (not starting with a digit) are padded with '_'.
 */
void aml_name_string(struct aml_buf *b, const char *path);

/* Name(@name, <the object the caller emits next>). */
void aml_name(struct aml_buf *b, const char *name);
/* Return (<the term the caller emits next>). */
void aml_return(struct aml_buf *b);
/* Arg@n (0-6): a method's argument as an operand. */
void aml_arg(struct aml_buf *b, unsigned int n);
/* LEqual(<the two operands the caller emits next>). */
void aml_lequal(struct aml_buf *b);
/* Notify(@path, @value): a device's event to the OS (0x80: device-specific). */
void aml_notify(struct aml_buf *b, const char *path, uint64_t value);

/* Nested objects: open, emit the body, aml_close(mark). */
size_t aml_scope_open(struct aml_buf *b, const char *path);
size_t aml_device_open(struct aml_buf *b, const char *path);
size_t aml_method_open(struct aml_buf *b, const char *name, unsigned int nargs, bool serialized);
size_t aml_package_open(struct aml_buf *b, uint8_t nr_elements);
/* If(<the predicate the caller emits first>) {<then the body>}. */
size_t aml_if_open(struct aml_buf *b);
void aml_close(struct aml_buf *b, size_t mark);

/* Buffer(){<bytes>}: the BufferSize is inserted at aml_buffer_close(). */
size_t aml_buffer_open(struct aml_buf *b);
void aml_buffer_close(struct aml_buf *b, size_t mark);

/* ResourceTemplate(){<descriptors>}: a Buffer ended by an EndTag. */
size_t aml_restemplate_open(struct aml_buf *b);
void aml_restemplate_close(struct aml_buf *b, size_t mark);
void aml_memory32_fixed(struct aml_buf *b, bool writable, uint32_t base, uint32_t len);
/* One interrupt, @flags from AML_IRQ_* (no resource source). */
void aml_interrupt(struct aml_buf *b, unsigned int flags, uint32_t gsi);
/* IO(Decode16, @min, @max, @align, @len). */
void aml_io(struct aml_buf *b, uint16_t min, uint16_t max, uint8_t align, uint8_t len);
/*
 * QWordMemory(ResourceProducer (general flags bit 0 clear, as Firecracker
 * emits it), PosDecode, MinFixed, MaxFixed, Cacheable or
 * NonCacheable, ReadWrite or ReadOnly, granularity 0, @min, @max,
 * translation 0, length @max - @min + 1). -EINVAL when @min > @max.
 */
void aml_qword_memory(struct aml_buf *b, bool cacheable, bool writable, uint64_t min, uint64_t max);

#endif
