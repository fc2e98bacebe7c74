/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A vsock connection's buffer of guest bytes the host stream did not take
 * yet: a ring of VSOCK_TXBUF_SIZE bytes, allocated on first use. Its size is
 * the buf_alloc the device announces to the guest, so a guest that respects
 * its credit never overflows it; one that does not is refused (-ENOSPC).
 */
#ifndef EMBER_VSOCK_TXBUF_H
#define EMBER_VSOCK_TXBUF_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "vmm/mem/guest_mem.h"
#include "devices/virtio/virtq.h"

#define VSOCK_TXBUF_SIZE (64U * 1024) /* Firecracker's CONN_TX_BUF_SIZE */

struct vsock_txbuf {
	uint8_t *data; /* VSOCK_TXBUF_SIZE bytes once used */
	uint32_t head; /* offset of the oldest byte */
	uint32_t len;  /* bytes held */
};

static inline bool vsock_txbuf_empty(const struct vsock_txbuf *b)
{
	return b->len == 0;
}

static inline uint32_t vsock_txbuf_space(const struct vsock_txbuf *b)
{
	return VSOCK_TXBUF_SIZE - b->len;
}

/*
 * Append @len bytes found @offset bytes into @chain's device-readable stream.
 * 0, or -ENOSPC (more than the free space: nothing appended), -ENOMEM, or
 * -EFAULT (the chain is shorter than claimed: nothing appended).
 */
int vsock_txbuf_push(struct vsock_txbuf *b, const struct guest_mem *mem,
		     const struct virtq_chain *chain, uint64_t offset, uint32_t len);

/*
 * Write as much as @fd takes without blocking. Returns the bytes written
 * (0 when the stream is full), or -errno.
 */
ssize_t vsock_txbuf_flush(struct vsock_txbuf *b, int fd);

/* Drop the bytes and the memory. */
void vsock_txbuf_clear(struct vsock_txbuf *b);

#endif
