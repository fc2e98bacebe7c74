// SPDX-License-Identifier: Apache-2.0
/*
 * blk-bench: N virtio-blk reads in a tight loop. The loop runs at CPL 3,
 * which this host executes natively, while kernel code is emulated; it only
 * touches RAM and the device's MMIO page. The kernel sets the device up
 * before and reports after.
 */
#include "blk.h"
#include "io.h"
#include "paging.h"
#include "print.h"
#include "reset.h"
#include "ring3.h"
#include "virtio_scenarios.h"

#define USER_STACK_SIZE 16384

static struct blk blk;
static uint8_t sector[BLK_SECTOR_SIZE];
static uint8_t user_stack[USER_STACK_SIZE] __aligned(16) __noinit;

/* Shared between the kernel and the ring-3 loop (the whole image is user-accessible). */
static struct {
	uint64_t requests;
	uint64_t capacity;
	uint64_t start_tsc;
	int failed_result; /* blk_request() result of the request that failed */
	uint32_t failed_used_len;
} bench;

/* CPL 3: read sectors 0, 1, ... (wrapping at the capacity) until @n are done or one fails. */
static void bench_loop(uint64_t n)
{
	uint32_t used_len = 0;
	uint64_t i;
	int ret;

	for (i = 0; i < n; i++) {
		ret = blk_request(&blk, VIRTIO_BLK_T_IN, i % bench.capacity, sector, sizeof(sector),
				  &used_len);
		if (ret != VIRTIO_BLK_S_OK || used_len != sizeof(sector) + 1) {
			bench.failed_result = ret;
			bench.failed_used_len = used_len;
			break;
		}
	}
	ring3_exit(i);
}

/* CPL 0 again, with the number of requests that completed. */
static __noreturn void bench_done(uint64_t done)
{
	uint64_t cycles = rdtsc() - bench.start_tsc;

	print_str("blk-bench: ");
	if (done == bench.requests) {
		print_dec(done);
		print_str(" requests\n");
	} else {
		print_str("failed after ");
		print_dec(done);
		print_str(" requests: result ");
		if (bench.failed_result < 0) {
			print_str(bench.failed_result == BLK_NEEDS_RESET ? "NEEDS_RESET"
									 : "no completion");
		} else {
			print_dec((uint64_t)bench.failed_result);
			print_str(" used len ");
			print_dec(bench.failed_used_len);
		}
		print_str("\n");
	}
	if (done) {
		print_str("blk-bench: ");
		print_dec(cycles / done);
		print_str(" TSC cycles per request\n");
	}
	machine_reset();
}

void scenario_blk_bench(const char *cmdline, uint64_t requests)
{
	struct virtio_dev *dev = virtio_probe_first(cmdline, VIRTIO_ID_BLOCK, "blk-bench");

	if (!dev || !blk_open(&blk, dev)) {
		if (dev)
			print_str("blk-bench: init failed\n");
		machine_reset();
	}
	bench.requests = requests;
	bench.capacity = blk_capacity(&blk);
	if (bench.capacity == 0) {
		print_str("blk-bench: empty disk\n");
		machine_reset();
	}
	ring3_init();
	paging_allow_user(dev->base, 0x1000);
	bench.start_tsc = rdtsc();
	ring3_run(bench_loop, requests, user_stack + sizeof(user_stack), bench_done);
}
