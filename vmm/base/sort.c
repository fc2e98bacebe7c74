// SPDX-License-Identifier: Apache-2.0
/* Heapsort without allocation or system calls: see sort.h. */
#include "vmm/base/sort.h"

#include <stdint.h>

static void swap_bytes(uint8_t *a, uint8_t *b, size_t size)
{
	for (size_t i = 0; i < size; i++) {
		uint8_t t = a[i];

		a[i] = b[i];
		b[i] = t;
	}
}

/* Moves element @i down the max-heap of @n elements until no child is greater. */
static void sift_down(uint8_t *v, size_t i, size_t n, size_t size,
		      int (*cmp)(const void *, const void *))
{
	size_t c;

	while ((c = 2 * i + 1) < n) {
		if (c + 1 < n && cmp(v + (c + 1) * size, v + c * size) > 0)
			c++;
		if (cmp(v + i * size, v + c * size) >= 0)
			return;
		swap_bytes(v + i * size, v + c * size, size);
		i = c;
	}
}

void sort_in_place(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	uint8_t *v = base;

	if (n < 2 || !size)
		return;
	for (size_t i = n / 2; i-- > 0;)
		sift_down(v, i, n, size, cmp);
	for (size_t end = n - 1; end > 0; end--) {
		swap_bytes(v, v + end * size, size);
		sift_down(v, 0, end, size, cmp);
	}
}
