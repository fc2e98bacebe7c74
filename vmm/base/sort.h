/* SPDX-License-Identifier: Apache-2.0 */
/*
 * In-place sort for code that runs under the VMM or API seccomp filters.
 * glibc's qsort() is a merge sort that, for arrays of 1 KiB and more, first
 * asks sysconf(_SC_PHYS_PAGES) (a sysinfo() call, and a malloc()) to size its
 * buffer: a system call those filters rightly refuse, so one large sort on a
 * filtered thread killed the VM. This is a heapsort: O(n log n), no memory,
 * no system calls, not stable (equal elements may change order).
 */
#ifndef EMBER_SORT_H
#define EMBER_SORT_H

#include <stddef.h>

/* Sorts @n elements of @size bytes at @base in the order @cmp gives (qsort's contract). */
void sort_in_place(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));

#endif
