/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The handful of string helpers the guest needs. memset/memcpy/memcmp are
 * also the symbols GCC may emit calls to even in freestanding code.
 */
#ifndef GUEST_STRING_H
#define GUEST_STRING_H

#include "types.h"

void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* Does the first @len bytes of @s equal the NUL-terminated @lit? */
bool str_equals(const char *s, size_t len, const char *lit);

/*
 * Parse @len bytes of @s as a decimal number that fits in 32 bits. False on
 * an empty string, a non-digit or overflow.
 */
bool parse_u32(const char *s, size_t len, uint32_t *out);

/*
 * Parse @len bytes of @s as a 64-bit number: hexadecimal after "0x" (or
 * "0X"), decimal otherwise. False on an empty string, a bad digit or overflow.
 */
bool parse_u64(const char *s, size_t len, uint64_t *out);

#endif
