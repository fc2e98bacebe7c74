// SPDX-License-Identifier: Apache-2.0
/*
 * Split virtqueue and descriptor-chain walker against real guest memory,
 * with rings and descriptors laid out by hand as a (hostile) driver would.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <linux/virtio_ring.h>

#include "vmm/mem/guest_mem.h"
#include "vmm/mem/layout.h"
#include "devices/virtio/virtq.h"
#include "devices/virtio/virtq_driver.h"

#define RAM_SIZE  (4 * MIB)
#define RING_BASE 0x10000ULL
#define QSIZE	  16
#define BUF_A	  0x20000ULL
#define BUF_B	  0x21000ULL
#define BUF_C	  0x22000ULL
#define TABLE	  0x30000ULL
#define TABLE2	  0x31000ULL

#define F_NEXT	   VRING_DESC_F_NEXT
#define F_WRITE	   VRING_DESC_F_WRITE
#define F_INDIRECT VRING_DESC_F_INDIRECT

struct fixture {
	struct guest_mem mem;
	struct virtq q;
	struct virtq_driver drv;
	struct virtq_chain chain;
};

static void fixture_queue(struct fixture *f, uint16_t size, bool event_idx, bool indirect)
{
	assert_int_equal(virtq_driver_init(&f->drv, &f->mem, RING_BASE, size), 0);
	virtq_init(&f->q, 256);
	f->q.size = size;
	f->q.desc_gpa = f->drv.desc;
	f->q.avail_gpa = f->drv.avail;
	f->q.used_gpa = f->drv.used;
	assert_int_equal(virtq_validate(&f->q, &f->mem, NULL), 0);
	virtq_start(&f->q, event_idx, indirect);
}

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	if (guest_mem_create(&f.mem, RAM_SIZE))
		return -1;
	fixture_queue(&f, QSIZE, false, true);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	guest_mem_destroy(&f->mem);
	return 0;
}

/* Publish @head and walk what the device pops. */
static int publish_walk(struct fixture *f, uint16_t head, const char **why)
{
	uint16_t got;

	virtq_driver_publish(&f->drv, head);
	assert_int_equal(virtq_pop(&f->q, &f->mem, &got, NULL), 1);
	assert_int_equal(got, head);
	return virtq_chain_walk(&f->q, &f->mem, got, &f->chain, why);
}

static void assert_seg(const struct virtq_seg *s, uint64_t gpa, uint32_t len, bool write)
{
	assert_int_equal(s->gpa, gpa);
	assert_int_equal(s->len, len);
	assert_int_equal(s->write, write);
}

/* ---- well-formed chains ----------------------------------------------------- */

static void test_direct_chain(void **state)
{
	struct fixture *f = *state;

	virtq_driver_set_desc(&f->drv, 3, BUF_A, 16, F_NEXT, 7);
	virtq_driver_set_desc(&f->drv, 7, BUF_B, 512, F_NEXT | F_WRITE, 1);
	virtq_driver_set_desc(&f->drv, 1, BUF_C, 1, F_WRITE, 0);
	assert_int_equal(publish_walk(f, 3, NULL), 0);
	assert_int_equal(f->chain.head, 3);
	assert_int_equal(f->chain.nr, 3);
	assert_int_equal(f->chain.nr_read, 1);
	assert_int_equal(f->chain.read_len, 16);
	assert_int_equal(f->chain.write_len, 513);
	assert_seg(&f->chain.segs[0], BUF_A, 16, false);
	assert_seg(&f->chain.segs[1], BUF_B, 512, true);
	assert_seg(&f->chain.segs[2], BUF_C, 1, true);
}

static void test_indirect_chain(void **state)
{
	struct fixture *f = *state;

	/* The WRITE flag on the pointer descriptor is ignored (2.7.5.3.2). */
	virtq_driver_set_desc(&f->drv, 0, TABLE, 3 * 16, F_INDIRECT | F_WRITE, 0);
	virtq_driver_write_desc(&f->mem, TABLE, 0, BUF_A, 16, F_NEXT, 2);
	virtq_driver_write_desc(&f->mem, TABLE, 2, BUF_B, 4096, F_NEXT | F_WRITE, 1);
	virtq_driver_write_desc(&f->mem, TABLE, 1, BUF_C, 1, F_WRITE, 0);
	assert_int_equal(publish_walk(f, 0, NULL), 0);
	assert_int_equal(f->chain.nr, 3);
	assert_int_equal(f->chain.nr_read, 1);
	assert_int_equal(f->chain.read_len, 16);
	assert_int_equal(f->chain.write_len, 4097);
	assert_seg(&f->chain.segs[0], BUF_A, 16, false);
	assert_seg(&f->chain.segs[1], BUF_B, 4096, true);
	assert_seg(&f->chain.segs[2], BUF_C, 1, true);
}

static void test_mixed_chain(void **state)
{
	struct fixture *f = *state;

	/* Direct descriptors followed by one indirect table (2.7.5.3.2). */
	virtq_driver_set_desc(&f->drv, 5, BUF_A, 16, F_NEXT, 6);
	virtq_driver_set_desc(&f->drv, 6, TABLE, 2 * 16, F_INDIRECT, 0);
	virtq_driver_write_desc(&f->mem, TABLE, 0, BUF_B, 100, F_NEXT | F_WRITE, 1);
	virtq_driver_write_desc(&f->mem, TABLE, 1, BUF_C, 1, F_WRITE, 0);
	assert_int_equal(publish_walk(f, 5, NULL), 0);
	assert_int_equal(f->chain.nr, 3);
	assert_int_equal(f->chain.read_len, 16);
	assert_int_equal(f->chain.write_len, 101);
	assert_seg(&f->chain.segs[0], BUF_A, 16, false);
	assert_seg(&f->chain.segs[1], BUF_B, 100, true);
	assert_seg(&f->chain.segs[2], BUF_C, 1, true);
}

static void test_full_length_chain(void **state)
{
	struct fixture *f = *state;

	/* Exactly the queue size is allowed: 16 descriptors, 0 -> 1 -> ... -> 15. */
	for (uint16_t i = 0; i < QSIZE; i++)
		virtq_driver_set_desc(&f->drv, i, BUF_A + 64ULL * i, 64, i + 1 < QSIZE ? F_NEXT : 0,
				      i + 1);
	assert_int_equal(publish_walk(f, 0, NULL), 0);
	assert_int_equal(f->chain.nr, QSIZE);
	assert_int_equal(f->chain.read_len, 64 * QSIZE);
}

static void test_chain_copy(void **state)
{
	struct fixture *f = *state;
	uint8_t out[40], in[40], *host;

	virtq_driver_set_desc(&f->drv, 0, BUF_A, 10, F_NEXT, 1);
	virtq_driver_set_desc(&f->drv, 1, BUF_B, 10, F_NEXT, 2);
	virtq_driver_set_desc(&f->drv, 2, BUF_C, 7, F_NEXT | F_WRITE, 3);
	virtq_driver_set_desc(&f->drv, 3, BUF_C + 100, 9, F_WRITE, 0);
	for (int i = 0; i < 10; i++) {
		uint8_t a = (uint8_t)i, b = (uint8_t)(10 + i);

		guest_mem_write(&f->mem, BUF_A + i, &a, 1);
		guest_mem_write(&f->mem, BUF_B + i, &b, 1);
	}
	assert_int_equal(publish_walk(f, 0, NULL), 0);

	/* Readable stream: 0..19 across two buffers; reads stop at its end. */
	memset(in, 0xee, sizeof(in));
	assert_int_equal(virtq_chain_read(&f->mem, &f->chain, 5, in, sizeof(in)), 15);
	for (int i = 0; i < 15; i++)
		assert_int_equal(in[i], 5 + i);
	assert_int_equal(in[15], 0xee);
	assert_int_equal(virtq_chain_read(&f->mem, &f->chain, 20, in, 1), 0);

	/* Writable stream: 7 + 9 bytes; the write lands split across both. */
	for (int i = 0; i < 40; i++)
		out[i] = (uint8_t)(0x80 + i);
	assert_int_equal(virtq_chain_write(&f->mem, &f->chain, 3, out, sizeof(out)), 13);
	host = guest_mem_translate(&f->mem, BUF_C, 200);
	for (int i = 0; i < 3; i++)
		assert_int_equal(host[i], 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(host[3 + i], 0x80 + i);
	for (int i = 0; i < 9; i++)
		assert_int_equal(host[100 + i], 0x84 + i);
	assert_int_equal(host[109], 0);
	/* The readable buffers were not written. */
	assert_int_equal(((uint8_t *)guest_mem_translate(&f->mem, BUF_B, 10))[9], 19);
}

static void test_chain_iov(void **state)
{
	struct fixture *f = *state;
	struct iovec iov[4];

	virtq_driver_set_desc(&f->drv, 0, BUF_A, 16, F_NEXT, 1);
	virtq_driver_set_desc(&f->drv, 1, BUF_B, 100, F_NEXT | F_WRITE, 2);
	virtq_driver_set_desc(&f->drv, 2, BUF_C, 50, F_NEXT | F_WRITE, 3);
	virtq_driver_set_desc(&f->drv, 3, BUF_C + 1000, 1, F_WRITE, 0);
	assert_int_equal(publish_walk(f, 0, NULL), 0);

	assert_int_equal(virtq_chain_iov(&f->mem, &f->chain, true, 90, 61, iov, 4), 3);
	assert_ptr_equal(iov[0].iov_base, guest_mem_translate(&f->mem, BUF_B + 90, 10));
	assert_int_equal(iov[0].iov_len, 10);
	assert_ptr_equal(iov[1].iov_base, guest_mem_translate(&f->mem, BUF_C, 50));
	assert_int_equal(iov[1].iov_len, 50);
	assert_ptr_equal(iov[2].iov_base, guest_mem_translate(&f->mem, BUF_C + 1000, 1));
	assert_int_equal(iov[2].iov_len, 1);
	/* Past the end of the writable stream, or more iovecs than allowed. */
	assert_int_equal(virtq_chain_iov(&f->mem, &f->chain, true, 90, 62, iov, 4), -EFAULT);
	assert_int_equal(virtq_chain_iov(&f->mem, &f->chain, true, 0, 151, iov, 2), -ENOSPC);
	assert_int_equal(virtq_chain_iov(&f->mem, &f->chain, false, 0, 16, iov, 4), 1);
	assert_int_equal(virtq_chain_iov(&f->mem, &f->chain, false, 0, 0, iov, 4), 0);
}

/* ---- malformed chains --------------------------------------------------------- */

static void expect_walk_error(struct fixture *f, uint16_t head, int err, const char *why_part)
{
	const char *why = NULL;

	assert_int_equal(publish_walk(f, head, &why), err);
	assert_non_null(why);
	assert_non_null(strstr(why, why_part));
}

static void test_loop(void **state)
{
	struct fixture *f = *state;

	virtq_driver_set_desc(&f->drv, 0, BUF_A, 8, F_NEXT, 1);
	virtq_driver_set_desc(&f->drv, 1, BUF_B, 8, F_NEXT, 0);
	expect_walk_error(f, 0, -ELOOP, "longer than the queue");
}

static void test_self_loop(void **state)
{
	struct fixture *f = *state;

	virtq_driver_set_desc(&f->drv, 4, BUF_A, 8, F_NEXT, 4);
	expect_walk_error(f, 4, -ELOOP, "longer than the queue");
}

static void test_next_out_of_range(void **state)
{
	struct fixture *f = *state;

	virtq_driver_set_desc(&f->drv, 0, BUF_A, 8, F_NEXT, QSIZE);
	expect_walk_error(f, 0, -EINVAL, "index out of range");
}

static void test_head_out_of_range(void **state)
{
	struct fixture *f = *state;
	const char *why = NULL;
	uint16_t head;

	/* No descriptor to complete: the ring itself is corrupt. */
	virtq_driver_publish(&f->drv, QSIZE);
	assert_int_equal(virtq_pop(&f->q, &f->mem, &head, &why), -EIO);
	assert_non_null(strstr(why, "head index out of range"));
	/* The walker refuses it too when asked directly. */
	assert_int_equal(virtq_chain_walk(&f->q, &f->mem, 0xffff, &f->chain, NULL), -EINVAL);
}

static void test_buffer_outside_ram(void **state)
{
	struct fixture *f = *state;

	virtq_driver_set_desc(&f->drv, 0, RAM_SIZE - 8, 16, 0, 0); /* straddles the end */
	expect_walk_error(f, 0, -EFAULT, "outside guest RAM");
	virtq_driver_set_desc(&f->drv, 0, LAYOUT_MMIO_START, 16, 0, 0); /* MMIO hole */
	expect_walk_error(f, 0, -EFAULT, "outside guest RAM");
	virtq_driver_set_desc(&f->drv, 0, RAM_SIZE - 8, 8, 0, 0); /* last bytes: fine */
	assert_int_equal(publish_walk(f, 0, NULL), 0);
}

static void test_addr_len_overflow(void **state)
{
	struct fixture *f = *state;

	virtq_driver_set_desc(&f->drv, 0, 0xfffffffffffffff0ULL, 0x100, 0, 0);
	expect_walk_error(f, 0, -EFAULT, "outside guest RAM");
	virtq_driver_set_desc(&f->drv, 0, BUF_A, 0xffffffff, 0, 0);
	expect_walk_error(f, 0, -EFAULT, "outside guest RAM");
}

static void test_zero_length(void **state)
{
	struct fixture *f = *state;

	virtq_driver_set_desc(&f->drv, 0, BUF_A, 16, F_NEXT, 1);
	virtq_driver_set_desc(&f->drv, 1, BUF_B, 0, F_WRITE, 0);
	expect_walk_error(f, 0, -EINVAL, "zero-length");
}

static void test_read_after_write(void **state)
{
	struct fixture *f = *state;

	virtq_driver_set_desc(&f->drv, 0, BUF_A, 16, F_WRITE | F_NEXT, 1);
	virtq_driver_set_desc(&f->drv, 1, BUF_B, 16, 0, 0);
	expect_walk_error(f, 0, -EINVAL, "readable descriptor after a writable");
}

static void test_read_after_write_indirect(void **state)
{
	struct fixture *f = *state;

	/* Direct writable, then a table whose first entry is readable. */
	virtq_driver_set_desc(&f->drv, 0, BUF_A, 16, F_WRITE | F_NEXT, 1);
	virtq_driver_set_desc(&f->drv, 1, TABLE, 16, F_INDIRECT, 0);
	virtq_driver_write_desc(&f->mem, TABLE, 0, BUF_B, 16, 0, 0);
	expect_walk_error(f, 0, -EINVAL, "readable descriptor after a writable");
}

static void test_indirect_in_indirect(void **state)
{
	struct fixture *f = *state;

	virtq_driver_set_desc(&f->drv, 0, TABLE, 2 * 16, F_INDIRECT, 0);
	virtq_driver_write_desc(&f->mem, TABLE, 0, BUF_A, 16, F_NEXT, 1);
	virtq_driver_write_desc(&f->mem, TABLE, 1, TABLE2, 16, F_INDIRECT, 0);
	virtq_driver_write_desc(&f->mem, TABLE2, 0, BUF_B, 16, 0, 0);
	expect_walk_error(f, 0, -EINVAL, "inside an indirect table");
}

static void test_indirect_with_next(void **state)
{
	struct fixture *f = *state;

	virtq_driver_set_desc(&f->drv, 0, TABLE, 16, F_INDIRECT | F_NEXT, 1);
	virtq_driver_set_desc(&f->drv, 1, BUF_B, 16, 0, 0);
	virtq_driver_write_desc(&f->mem, TABLE, 0, BUF_A, 16, 0, 0);
	expect_walk_error(f, 0, -EINVAL, "indirect descriptor with NEXT");
}

static void test_indirect_bad_length(void **state)
{
	struct fixture *f = *state;

	virtq_driver_write_desc(&f->mem, TABLE, 0, BUF_A, 16, 0, 0);
	virtq_driver_set_desc(&f->drv, 0, TABLE, 24, F_INDIRECT, 0);
	expect_walk_error(f, 0, -EINVAL, "multiple of 16");
	virtq_driver_set_desc(&f->drv, 0, TABLE, 0, F_INDIRECT, 0);
	expect_walk_error(f, 0, -EINVAL, "multiple of 16");
}

static void test_indirect_table_outside_ram(void **state)
{
	struct fixture *f = *state;

	virtq_driver_set_desc(&f->drv, 0, RAM_SIZE - 16, 32, F_INDIRECT, 0);
	expect_walk_error(f, 0, -EFAULT, "indirect table outside");
	virtq_driver_set_desc(&f->drv, 0, 0xfffffffffffffff0ULL, 32, F_INDIRECT, 0);
	expect_walk_error(f, 0, -EFAULT, "indirect table outside");
}

static void test_indirect_not_negotiated(void **state)
{
	struct fixture *f = *state;

	fixture_queue(f, QSIZE, false, false);
	virtq_driver_set_desc(&f->drv, 0, TABLE, 16, F_INDIRECT, 0);
	virtq_driver_write_desc(&f->mem, TABLE, 0, BUF_A, 16, 0, 0);
	expect_walk_error(f, 0, -EINVAL, "INDIRECT_DESC");
}

static void test_indirect_next_out_of_range(void **state)
{
	struct fixture *f = *state;

	virtq_driver_set_desc(&f->drv, 0, TABLE, 2 * 16, F_INDIRECT, 0);
	virtq_driver_write_desc(&f->mem, TABLE, 0, BUF_A, 16, F_NEXT, 2);
	expect_walk_error(f, 0, -EINVAL, "indirect next index out of range");
}

static void test_indirect_loop(void **state)
{
	struct fixture *f = *state;

	virtq_driver_set_desc(&f->drv, 0, TABLE, 2 * 16, F_INDIRECT, 0);
	virtq_driver_write_desc(&f->mem, TABLE, 0, BUF_A, 16, F_NEXT, 1);
	virtq_driver_write_desc(&f->mem, TABLE, 1, BUF_B, 16, F_NEXT, 0);
	expect_walk_error(f, 0, -ELOOP, "longer than the queue");
}

static void test_chain_longer_than_queue(void **state)
{
	struct fixture *f = *state;

	/* A queue of 4 and an indirect table of 5 distinct descriptors. */
	fixture_queue(f, 4, false, true);
	virtq_driver_set_desc(&f->drv, 0, TABLE, 5 * 16, F_INDIRECT, 0);
	for (uint16_t i = 0; i < 5; i++)
		virtq_driver_write_desc(&f->mem, TABLE, i, BUF_A + 64ULL * i, 64,
					i < 4 ? F_NEXT : 0, i + 1);
	expect_walk_error(f, 0, -ELOOP, "longer than the queue");
	/* Four of them fit. */
	virtq_driver_write_desc(&f->mem, TABLE, 3, BUF_A + 192, 64, 0, 0);
	assert_int_equal(publish_walk(f, 0, NULL), 0);
	assert_int_equal(f->chain.nr, 4);
}

static void test_total_length_above_4g(void **state)
{
	struct guest_mem big;
	struct virtq q;
	struct virtq_driver drv;
	static struct virtq_chain chain;
	const char *why = NULL;

	(void)state;
	/* Sparse 8 GiB: RAM below the MMIO hole and above 4 GiB; nothing is touched. */
	assert_int_equal(guest_mem_create(&big, 8 * GIB), 0);
	assert_int_equal(virtq_driver_init(&drv, &big, RING_BASE, 4), 0);
	virtq_init(&q, 4);
	q.desc_gpa = drv.desc;
	q.avail_gpa = drv.avail;
	q.used_gpa = drv.used;
	assert_int_equal(virtq_validate(&q, &big, NULL), 0);
	virtq_start(&q, false, false);
	virtq_driver_set_desc(&drv, 0, 0x100000, 3 * (uint32_t)GIB, F_NEXT, 1);
	virtq_driver_set_desc(&drv, 1, LAYOUT_4G, 3 * (uint32_t)GIB, 0, 0);
	assert_int_equal(virtq_chain_walk(&q, &big, 0, &chain, &why), -E2BIG);
	assert_non_null(strstr(why, "4 GiB"));
	/* Each alone is fine, and one crossing the MMIO hole is not. */
	virtq_driver_set_desc(&drv, 0, 0x100000, 3 * (uint32_t)GIB, 0, 0);
	assert_int_equal(virtq_chain_walk(&q, &big, 0, &chain, NULL), 0);
	assert_int_equal(chain.read_len, 3 * GIB);
	virtq_driver_set_desc(&drv, 0, LAYOUT_MMIO_START - 4096, 8192, 0, 0);
	assert_int_equal(virtq_chain_walk(&q, &big, 0, &chain, NULL), -EFAULT);
	guest_mem_destroy(&big);
}

/* ---- rings -------------------------------------------------------------------- */

static void test_pop_empty_and_unpop(void **state)
{
	struct fixture *f = *state;
	uint16_t head, pending;

	assert_int_equal(virtq_pop(&f->q, &f->mem, &head, NULL), 0);
	virtq_driver_publish(&f->drv, 9);
	virtq_driver_publish(&f->drv, 2);
	assert_int_equal(virtq_avail_pending(&f->q, &f->mem, &pending), 0);
	assert_int_equal(pending, 2);
	assert_int_equal(virtq_pop(&f->q, &f->mem, &head, NULL), 1);
	assert_int_equal(head, 9);
	virtq_unpop(&f->q);
	assert_int_equal(virtq_pop(&f->q, &f->mem, &head, NULL), 1);
	assert_int_equal(head, 9);
	assert_int_equal(virtq_pop(&f->q, &f->mem, &head, NULL), 1);
	assert_int_equal(head, 2);
	assert_int_equal(virtq_pop(&f->q, &f->mem, &head, NULL), 0);
}

static void test_avail_idx_jump(void **state)
{
	struct fixture *f = *state;
	const char *why = NULL;
	uint16_t head;

	/* A full ring's worth is legal... */
	virtq_driver_set_avail_idx(&f->drv, QSIZE);
	assert_int_equal(virtq_pop(&f->q, &f->mem, &head, NULL), 1);
	/* ...one more than the ring can hold is corruption. */
	virtq_driver_set_avail_idx(&f->drv, 1 + QSIZE + 1);
	assert_int_equal(virtq_pop(&f->q, &f->mem, &head, &why), -EIO);
	assert_non_null(strstr(why, "more than the queue size"));
	/* Going backwards looks like a huge jump too. */
	virtq_driver_set_avail_idx(&f->drv, 0);
	assert_int_equal(virtq_pop(&f->q, &f->mem, &head, NULL), -EIO);
}

static void test_push_used(void **state)
{
	struct fixture *f = *state;
	uint32_t id, len;

	for (uint32_t i = 0; i < 3 * QSIZE; i++) {
		assert_int_equal(virtq_push_used(&f->q, &f->mem, (uint16_t)(i % QSIZE), 100 + i),
				 0);
		assert_int_equal(virtq_driver_used_idx(&f->drv), i + 1);
		assert_int_equal(virtq_driver_get_used(&f->drv, &id, &len), 1);
		assert_int_equal(id, i % QSIZE);
		assert_int_equal(len, 100 + i);
		assert_int_equal(virtq_driver_get_used(&f->drv, &id, &len), 0);
	}
}

static void test_interrupt_flags(void **state)
{
	struct fixture *f = *state;

	/* Nothing published: never. */
	assert_false(virtq_need_interrupt(&f->q, &f->mem));
	virtq_push_used(&f->q, &f->mem, 0, 1);
	assert_true(virtq_need_interrupt(&f->q, &f->mem));
	assert_false(virtq_need_interrupt(&f->q, &f->mem));
	virtq_driver_set_avail_flags(&f->drv, VRING_AVAIL_F_NO_INTERRUPT);
	virtq_push_used(&f->q, &f->mem, 0, 1);
	assert_false(virtq_need_interrupt(&f->q, &f->mem));
	virtq_driver_set_avail_flags(&f->drv, 0);
	virtq_push_used(&f->q, &f->mem, 0, 1);
	assert_true(virtq_need_interrupt(&f->q, &f->mem));
}

static void push_n(struct fixture *f, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		assert_int_equal(virtq_push_used(&f->q, &f->mem, 0, 0), 0);
}

static void test_event_idx_interrupts(void **state)
{
	struct fixture *f = *state;

	fixture_queue(f, QSIZE, true, true);
	/* used_event 0: interrupt once used->idx passes 0. */
	push_n(f, 1);
	assert_true(virtq_need_interrupt(&f->q, &f->mem));
	push_n(f, 1); /* idx 1 -> 2, driver still asked for 0 */
	assert_false(virtq_need_interrupt(&f->q, &f->mem));
	/* Flags are ignored under EVENT_IDX. */
	virtq_driver_set_avail_flags(&f->drv, VRING_AVAIL_F_NO_INTERRUPT);
	virtq_driver_set_used_event(&f->drv, 2);
	push_n(f, 1); /* 2 -> 3 crosses 2 */
	assert_true(virtq_need_interrupt(&f->q, &f->mem));
	virtq_driver_set_used_event(&f->drv, 4);
	push_n(f, 3); /* 3 -> 6 crosses 4 in one batch */
	assert_true(virtq_need_interrupt(&f->q, &f->mem));
	virtq_driver_set_used_event(&f->drv, 10);
	push_n(f, 3); /* 6 -> 9 does not reach 10 */
	assert_false(virtq_need_interrupt(&f->q, &f->mem));
	push_n(f, 2); /* 9 -> 11 crosses 10 */
	assert_true(virtq_need_interrupt(&f->q, &f->mem));
}

static void test_event_idx_wraparound(void **state)
{
	struct fixture *f = *state;

	fixture_queue(f, QSIZE, true, true);
	f->q.used_idx = f->q.signalled_used = 0xfffe;
	virtq_driver_set_used_event(&f->drv, 0xffff);
	push_n(f, 2); /* 0xfffe -> 0x0000 crosses 0xffff */
	assert_int_equal(f->q.used_idx, 0);
	assert_true(virtq_need_interrupt(&f->q, &f->mem));
	virtq_driver_set_used_event(&f->drv, 0x0005);
	push_n(f, 5); /* 0 -> 5 does not cross 5 */
	assert_false(virtq_need_interrupt(&f->q, &f->mem));
	/* Against vring_need_event directly, around the wrap. */
	assert_true(vring_need_event(0xffff, 0x0001, 0xfffe));
	assert_false(vring_need_event(0x0002, 0x0001, 0xfffe));
}

static void test_enable_notify(void **state)
{
	struct fixture *f = *state;
	uint16_t head;

	fixture_queue(f, QSIZE, true, true);
	virtq_driver_publish(&f->drv, 1);
	virtq_driver_publish(&f->drv, 2);
	assert_int_equal(virtq_pop(&f->q, &f->mem, &head, NULL), 1);
	assert_int_equal(virtq_pop(&f->q, &f->mem, &head, NULL), 1);
	assert_false(virtq_enable_notify(&f->q, &f->mem));
	/* "Notify me when you make entry 2 available." */
	assert_int_equal(virtq_driver_avail_event(&f->drv), 2);
	virtq_driver_publish(&f->drv, 3);
	assert_true(virtq_enable_notify(&f->q, &f->mem));

	/* Without EVENT_IDX the used ring's event field is left alone. */
	fixture_queue(f, QSIZE, false, true);
	virtq_driver_publish(&f->drv, 1);
	assert_int_equal(virtq_pop(&f->q, &f->mem, &head, NULL), 1);
	assert_false(virtq_enable_notify(&f->q, &f->mem));
	assert_int_equal(virtq_driver_avail_event(&f->drv), 0);
}

static void test_validate(void **state)
{
	struct fixture *f = *state;
	struct virtq q = f->q;
	const char *why;

	q.size = 3;
	assert_int_equal(virtq_validate(&q, &f->mem, &why), -EINVAL);
	assert_non_null(strstr(why, "power of two"));
	q.size = 0;
	assert_int_equal(virtq_validate(&q, &f->mem, NULL), -EINVAL);
	q.size = 512; /* above max_size 256 */
	assert_int_equal(virtq_validate(&q, &f->mem, NULL), -EINVAL);
	q.size = 0x10000;
	assert_int_equal(virtq_validate(&q, &f->mem, NULL), -EINVAL);
	q.size = 256;
	assert_int_equal(virtq_validate(&q, &f->mem, NULL), 0);

	q = f->q;
	q.desc_gpa += 8;
	assert_int_equal(virtq_validate(&q, &f->mem, &why), -EINVAL);
	assert_non_null(strstr(why, "misaligned"));
	q = f->q;
	q.avail_gpa += 1;
	assert_int_equal(virtq_validate(&q, &f->mem, NULL), -EINVAL);
	q = f->q;
	q.used_gpa += 2;
	assert_int_equal(virtq_validate(&q, &f->mem, NULL), -EINVAL);

	/* Rings whose event field (only) lies past the end of RAM. */
	q = f->q;
	q.used_gpa = RAM_SIZE - 8 * QSIZE - 4; /* 4-aligned; avail_event is the 2 bytes past RAM */
	assert_int_equal(virtq_validate(&q, &f->mem, &why), -EINVAL);
	assert_non_null(strstr(why, "used ring"));
	q.used_gpa = RAM_SIZE - 8 * QSIZE - 8;
	assert_int_equal(virtq_validate(&q, &f->mem, NULL), 0);
	q = f->q;
	q.avail_gpa = RAM_SIZE - VIRTQ_AVAIL_SIZE(QSIZE) + 2;
	assert_int_equal(virtq_validate(&q, &f->mem, &why), -EINVAL);
	assert_non_null(strstr(why, "available ring"));
	q = f->q;
	q.desc_gpa = 0xfffffffffffffff0ULL;
	assert_int_equal(virtq_validate(&q, &f->mem, &why), -EINVAL);
	assert_non_null(strstr(why, "descriptor table"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	    T(test_direct_chain),
	    T(test_indirect_chain),
	    T(test_mixed_chain),
	    T(test_full_length_chain),
	    T(test_chain_copy),
	    T(test_chain_iov),
	    T(test_loop),
	    T(test_self_loop),
	    T(test_next_out_of_range),
	    T(test_head_out_of_range),
	    T(test_buffer_outside_ram),
	    T(test_addr_len_overflow),
	    T(test_zero_length),
	    T(test_read_after_write),
	    T(test_read_after_write_indirect),
	    T(test_indirect_in_indirect),
	    T(test_indirect_with_next),
	    T(test_indirect_bad_length),
	    T(test_indirect_table_outside_ram),
	    T(test_indirect_not_negotiated),
	    T(test_indirect_next_out_of_range),
	    T(test_indirect_loop),
	    T(test_chain_longer_than_queue),
	    cmocka_unit_test(test_total_length_above_4g),
	    T(test_pop_empty_and_unpop),
	    T(test_avail_idx_jump),
	    T(test_push_used),
	    T(test_interrupt_flags),
	    T(test_event_idx_interrupts),
	    T(test_event_idx_wraparound),
	    T(test_enable_notify),
	    T(test_validate),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
