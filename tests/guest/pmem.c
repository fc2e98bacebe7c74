// SPDX-License-Identifier: Apache-2.0
/*
 * Prints, one per line: `pmem: start <hex> size <hex>`, `pmem: read "<first
 * 16 bytes>"`, `pmem: flush status <n> len <n>` (after writing PMEM_TEXT at
 * offset PMEM_WRITE_OFFSET of the region), `pmem: read back "<those bytes>"`,
 * `pmem: bad request len <n>` (a request type the device does not know),
 * then resets.
 */
#include "paging.h"
#include "pmem.h"
#include "print.h"
#include "reset.h"
#include "string.h"
#include "virtio.h"
#include "virtio_scenarios.h"
#include "virtqueue.h"

#define PMEM_WRITE_OFFSET 512U
#define PMEM_TEXT	  "ember-guest-wrote-this"
#define PMEM_SHOW	  16U

static struct virtqueue vq;
static uint32_t req_type __aligned(4);
static uint32_t resp_status __aligned(4);

/* One request of @type: returns the used length (-1: no completion); the status in resp_status. */
static long pmem_request(uint32_t type)
{
	struct vring_used_elem used;

	req_type = type;
	resp_status = 0xeeeeeeee;
	virtqueue_set_desc(&vq, 0, (uint64_t)&req_type, 4, VRING_DESC_F_NEXT, 1);
	virtqueue_set_desc(&vq, 1, (uint64_t)&resp_status, 4, VRING_DESC_F_WRITE, 0);
	virtqueue_kick(&vq, 0);
	if (virtqueue_wait_used(&vq, &used) != VIRTQUEUE_USED)
		return -1;
	return (long)used.len;
}

static void show(const char *label, const volatile uint8_t *p, size_t len)
{
	uint8_t copy[32];

	for (size_t i = 0; i < len && i < sizeof(copy); i++)
		copy[i] = p[i];
	print_str("pmem: ");
	print_str(label);
	print_str(" \"");
	print_printable(copy, len);
	print_str("\"\n");
}

void scenario_pmem(const char *cmdline)
{
	struct virtio_dev *dev = virtio_probe_first(cmdline, VIRTIO_ID_PMEM, "pmem");
	volatile uint8_t *region;
	uint64_t start, size;
	long len;

	if (!dev || !virtio_init(dev, 0) || !virtio_setup_queue(dev, 0, &vq)) {
		if (dev)
			print_str("pmem: init failed\n");
		machine_reset();
	}
	virtio_driver_ok(dev);
	start = virtio_config_read64(dev, 0);
	size = virtio_config_read64(dev, 8);
	print_str("pmem: start ");
	print_hex(start);
	print_str(" size ");
	print_hex(size);
	print_str("\n");
	if (!paging_map_high(start, size)) {
		print_str("pmem: cannot map the region\n");
		machine_reset();
	}
	region = (volatile uint8_t *)start;
	show("read", region, PMEM_SHOW);
	for (size_t i = 0; i < sizeof(PMEM_TEXT) - 1; i++)
		region[PMEM_WRITE_OFFSET + i] = (uint8_t)PMEM_TEXT[i];
	len = pmem_request(0);
	print_str("pmem: flush status ");
	print_dec(resp_status);
	print_str(" len ");
	print_dec((uint64_t)len);
	print_str("\n");
	show("read back", region + PMEM_WRITE_OFFSET, sizeof(PMEM_TEXT) - 1);
	len = pmem_request(7);
	print_str("pmem: bad request len ");
	print_dec((uint64_t)len);
	print_str("\n");
	machine_reset();
}
