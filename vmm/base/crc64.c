// SPDX-License-Identifier: Apache-2.0
/*
 * Slicing-by-8 CRC-64/Jones. The tables are computed once, on first use, from
 * the reflected polynomial; pthread_once keeps that safe from any thread.
 */
#include "vmm/base/crc64.h"

#include <pthread.h>

#define CRC64_JONES_REFLECTED 0x95ac9329ac4bc9b5ULL

static uint64_t crc64_table[8][256];
static pthread_once_t crc64_once = PTHREAD_ONCE_INIT;

static void crc64_init_tables(void)
{
	for (unsigned int n = 0; n < 256; n++) {
		uint64_t crc = n;

		for (int k = 0; k < 8; k++)
			crc = (crc & 1) ? (crc >> 1) ^ CRC64_JONES_REFLECTED : crc >> 1;
		crc64_table[0][n] = crc;
	}
	/* Table k: the CRC of byte n followed by k zero bytes. */
	for (unsigned int n = 0; n < 256; n++) {
		uint64_t crc = crc64_table[0][n];

		for (int k = 1; k < 8; k++) {
			crc = crc64_table[0][crc & 0xff] ^ (crc >> 8);
			crc64_table[k][n] = crc;
		}
	}
}

static uint64_t load_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

uint64_t crc64(uint64_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	pthread_once(&crc64_once, crc64_init_tables);
	while (len >= 8) {
		crc ^= load_le64(p);
		crc = crc64_table[7][crc & 0xff] ^ crc64_table[6][(crc >> 8) & 0xff] ^
		      crc64_table[5][(crc >> 16) & 0xff] ^ crc64_table[4][(crc >> 24) & 0xff] ^
		      crc64_table[3][(crc >> 32) & 0xff] ^ crc64_table[2][(crc >> 40) & 0xff] ^
		      crc64_table[1][(crc >> 48) & 0xff] ^ crc64_table[0][crc >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = crc64_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}
