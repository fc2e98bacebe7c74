// SPDX-License-Identifier: Apache-2.0
#include "print.h"
#include "serial.h"

void print_mem(const char *s, size_t len)
{
	while (len--)
		serial_putc(*s++);
}

void print_str(const char *s)
{
	while (*s)
		serial_putc(*s++);
}

static void print_base(uint64_t val, unsigned int base)
{
	static const char digits[] = "0123456789abcdef";
	char buf[20]; /* 2^64 - 1 has 20 decimal digits */
	size_t n = 0;

	do {
		buf[n++] = digits[val % base];
		val /= base;
	} while (val);
	while (n)
		serial_putc(buf[--n]);
}

void print_dec(uint64_t val)
{
	print_base(val, 10);
}

void print_hex(uint64_t val)
{
	print_str("0x");
	print_base(val, 16);
}

void print_printable(const void *buf, size_t len)
{
	const uint8_t *p = buf;

	for (; len; len--, p++)
		serial_putc(*p >= 0x20 && *p <= 0x7e ? (char)*p : '.');
}

void print_hex_bytes(const void *buf, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *p = buf;

	for (; len; len--, p++) {
		serial_putc(digits[*p >> 4]);
		serial_putc(digits[*p & 0xf]);
	}
}
