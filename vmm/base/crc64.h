/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CRC-64/Jones (reflected, polynomial 0xad93d23594c935a9, init 0, no final
 * xor), the checksum Firecracker's `crc64` crate computes over a snapshot
 * file and Redis uses: crc64(0, "123456789", 9) == 0xe9c6d914c4b8d9ca.
 * Incremental: feed the previous result back in as @crc.
 */
#ifndef EMBER_CRC64_H
#define EMBER_CRC64_H

#include <stddef.h>
#include <stdint.h>

uint64_t crc64(uint64_t crc, const void *buf, size_t len);

#endif
