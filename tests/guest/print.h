/* SPDX-License-Identifier: Apache-2.0 */
/* Console output on the serial port: strings and numbers, no format strings. */
#ifndef GUEST_PRINT_H
#define GUEST_PRINT_H

#include "types.h"

void print_str(const char *s);
void print_mem(const char *s, size_t len);
void print_dec(uint64_t val);
void print_hex(uint64_t val); /* "0x" followed by lowercase digits, no padding */

/* @len bytes as text, each byte outside printable ASCII (0x20-0x7e) as '.'. */
void print_printable(const void *buf, size_t len);

/* @len bytes as two lowercase hex digits each, no prefix or separator. */
void print_hex_bytes(const void *buf, size_t len);

#endif
