/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fixed-width types for the freestanding test guest. It is built with
 * -nostdinc, so nothing from the host C library or the compiler leaks in.
 */
#ifndef GUEST_TYPES_H
#define GUEST_TYPES_H

typedef unsigned char uint8_t;
typedef unsigned short uint16_t;
typedef unsigned int uint32_t;
typedef unsigned long uint64_t;
typedef unsigned long size_t;
typedef long ssize_t;

typedef _Bool bool;
#define true 1
#define false 0

#define NULL ((void *)0)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define __packed     __attribute__((packed))
#define __aligned(n) __attribute__((aligned(n)))
/*
 * Not zeroed at entry: for buffers that are fully written before they are
 * read (stacks, page directories). Zeroing runs as emulated CPL0 code here,
 * so every byte kept out of .bss shortens the path to the first serial byte.
 */
#define __noinit __attribute__((section(".noinit")))
#define __noreturn   __attribute__((noreturn))

_Static_assert(sizeof(uint64_t) == 8, "LP64 target expected");

#endif
