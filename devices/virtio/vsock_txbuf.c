// SPDX-License-Identifier: Apache-2.0
/* The per-connection guest-to-host byte ring (see vsock_txbuf.h). */
#include "devices/virtio/vsock_txbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/uio.h>

int vsock_txbuf_push(struct vsock_txbuf *b, const struct guest_mem *mem,
		     const struct virtq_chain *chain, uint64_t offset, uint32_t len)
{
	uint32_t tail, first;

	if (len > vsock_txbuf_space(b))
		return -ENOSPC;
	if (!len)
		return 0;
	if (!b->data) {
		b->data = malloc(VSOCK_TXBUF_SIZE);
		if (!b->data)
			return -ENOMEM;
		b->head = 0;
	}
	tail = (b->head + b->len) % VSOCK_TXBUF_SIZE;
	first = VSOCK_TXBUF_SIZE - tail < len ? VSOCK_TXBUF_SIZE - tail : len;
	if (virtq_chain_read(mem, chain, offset, b->data + tail, first) != first ||
	    virtq_chain_read(mem, chain, offset + first, b->data, len - first) != len - first)
		return -EFAULT;
	b->len += len;
	return 0;
}

ssize_t vsock_txbuf_flush(struct vsock_txbuf *b, int fd)
{
	struct iovec iov[2];
	struct msghdr msg = {.msg_iov = iov};
	uint32_t first;
	ssize_t n;

	if (!b->len)
		return 0;
	first = VSOCK_TXBUF_SIZE - b->head < b->len ? VSOCK_TXBUF_SIZE - b->head : b->len;
	iov[0] = (struct iovec){.iov_base = b->data + b->head, .iov_len = first};
	iov[1] = (struct iovec){.iov_base = b->data, .iov_len = b->len - first};
	msg.msg_iovlen = b->len > first ? 2 : 1;
	do
		n = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	b->head = (b->head + (uint32_t)n) % VSOCK_TXBUF_SIZE;
	b->len -= (uint32_t)n;
	if (!b->len)
		b->head = 0;
	return n;
}

void vsock_txbuf_clear(struct vsock_txbuf *b)
{
	free(b->data);
	b->data = NULL;
	b->head = 0;
	b->len = 0;
}
