// SPDX-License-Identifier: Apache-2.0
#include "cmdline.h"
#include "io.h"
#include "paging.h"
#include "print.h"
#include "string.h"
#include "virtio.h"
#include "virtqueue.h"

/* virtio-mmio registers (virtio 1.x 4.2.2), all 32 bits wide. */
#define VIRTIO_MMIO_MAGIC_VALUE		0x000
#define VIRTIO_MMIO_VERSION		0x004
#define VIRTIO_MMIO_DEVICE_ID		0x008
#define VIRTIO_MMIO_DEVICE_FEATURES	0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES	0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL		0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX	0x034
#define VIRTIO_MMIO_QUEUE_NUM		0x038
#define VIRTIO_MMIO_QUEUE_READY		0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY	0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS	0x060
#define VIRTIO_MMIO_INTERRUPT_ACK	0x064
#define VIRTIO_MMIO_STATUS		0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW	0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH	0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW	0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH	0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW	0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH	0x0a4
#define VIRTIO_MMIO_CONFIG_GENERATION	0x0fc
#define VIRTIO_MMIO_CONFIG		0x100

#define VIRTIO_MMIO_MAGIC     0x74726976 /* "virt" */
#define VIRTIO_MMIO_VERSION_2 2
#define VIRTIO_MMIO_MIN_SIZE  0x200 /* registers plus a little config space */

#define VIRTIO_DEVICE_PARAM "virtio_mmio.device"

/* Polls of Status after writing 0 before giving up on the reset completing. */
#define VIRTIO_RESET_MAX_POLLS 1000
/* Attempts at a config read that does not straddle a config change. */
#define VIRTIO_CONFIG_MAX_TRIES 16

static uint32_t vm_read(const struct virtio_dev *dev, uint32_t reg)
{
	return mmio_read32(dev->base + reg);
}

static void vm_write(const struct virtio_dev *dev, uint32_t reg, uint32_t val)
{
	mmio_write32(dev->base + reg, val);
}

const char *virtio_type_name(uint32_t device_id)
{
	switch (device_id) {
	case VIRTIO_ID_NET:
		return "net";
	case VIRTIO_ID_BLOCK:
		return "blk";
	case VIRTIO_ID_CONSOLE:
		return "console";
	case VIRTIO_ID_RNG:
		return "rng";
	case VIRTIO_ID_BALLOON:
		return "balloon";
	case VIRTIO_ID_VSOCK:
		return "vsock";
	case VIRTIO_ID_PMEM:
		return "pmem";
	case VIRTIO_ID_MEM:
		return "mem";
	default:
		return "unknown";
	}
}

/* "<size>[KMG]" as Linux's memparse() reads it (the suffixes this needs). */
static bool parse_size(const char *s, size_t len, uint64_t *out)
{
	unsigned int shift = 0;

	if (len && (s[len - 1] == 'K' || s[len - 1] == 'k'))
		shift = 10;
	else if (len && (s[len - 1] == 'M' || s[len - 1] == 'm'))
		shift = 20;
	else if (len && (s[len - 1] == 'G' || s[len - 1] == 'g'))
		shift = 30;
	if (shift)
		len--;
	if (!parse_u64(s, len, out) || *out > (~0UL >> shift))
		return false;
	*out <<= shift;
	return true;
}

static const char *find_char(const char *s, const char *end, char c)
{
	while (s < end && *s != c)
		s++;
	return s;
}

/*
 * "<size>@<base>:<irq>[:<id>]", Linux's vm_cmdline_set() format. The slot
 * must lie in the uncached MMIO hole the guest maps.
 */
static bool parse_device_arg(const char *v, size_t len, struct virtio_dev *dev)
{
	const char *end = v + len, *at, *colon, *colon2;
	uint64_t size, base;
	uint32_t irq;

	at = find_char(v, end, '@');
	colon = find_char(at, end, ':');
	colon2 = colon < end ? find_char(colon + 1, end, ':') : end;
	if (at == end || colon == end)
		return false;
	if (!parse_size(v, (size_t)(at - v), &size) ||
	    !parse_u64(at + 1, (size_t)(colon - at - 1), &base) ||
	    !parse_u32(colon + 1, (size_t)(colon2 - colon - 1), &irq))
		return false;
	if (size < VIRTIO_MMIO_MIN_SIZE || base < PAGING_MMIO_START ||
	    base >= PAGING_IDENTITY_LIMIT || size > PAGING_IDENTITY_LIMIT - base)
		return false;
	dev->base = base;
	dev->irq = irq;
	return true;
}

static void print_device(const struct virtio_dev *dev)
{
	print_str("virtio-");
	print_str(virtio_type_name(dev->device_id));
	print_str(" at ");
	print_hex(dev->base);
	print_str(" irq ");
	print_dec(dev->irq);
	print_str(" id ");
	print_dec(dev->device_id);
	print_str("\n");
}

/* Is there a version-2 device in the slot? Prints why not. */
static bool probe_slot(struct virtio_dev *dev)
{
	uint32_t magic = vm_read(dev, VIRTIO_MMIO_MAGIC_VALUE);
	uint32_t version = vm_read(dev, VIRTIO_MMIO_VERSION);

	if (magic == VIRTIO_MMIO_MAGIC && version == VIRTIO_MMIO_VERSION_2) {
		dev->device_id = vm_read(dev, VIRTIO_MMIO_DEVICE_ID);
		return true;
	}
	print_str("virtio: no version 2 device at ");
	print_hex(dev->base);
	print_str(" (magic ");
	print_hex(magic);
	print_str(" version ");
	print_dec(version);
	print_str(")\n");
	return false;
}

unsigned int virtio_probe(const char *cmdline, struct virtio_dev *devs, unsigned int max)
{
	const char *cursor = cmdline, *value;
	unsigned int n = 0;
	size_t len;

	while (cmdline_next(&cursor, VIRTIO_DEVICE_PARAM, &value, &len)) {
		struct virtio_dev dev = {0};

		if (!parse_device_arg(value, len, &dev)) {
			print_str("virtio: bad " VIRTIO_DEVICE_PARAM "=");
			print_mem(value, len);
			print_str("\n");
			continue;
		}
		if (!probe_slot(&dev) || dev.device_id == 0)
			continue;
		print_device(&dev);
		if (n < max)
			devs[n++] = dev;
	}
	return n;
}

struct virtio_dev *virtio_find(struct virtio_dev *devs, unsigned int n, uint32_t device_id)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (devs[i].device_id == device_id)
			return &devs[i];
	}
	return NULL;
}

uint32_t virtio_status(const struct virtio_dev *dev)
{
	return vm_read(dev, VIRTIO_MMIO_STATUS);
}

bool virtio_has_feature(const struct virtio_dev *dev, unsigned int bit)
{
	return bit < 64 && (dev->features & VIRTIO_FEATURE(bit));
}

void virtio_reset(struct virtio_dev *dev)
{
	unsigned int polls;

	vm_write(dev, VIRTIO_MMIO_STATUS, 0);
	for (polls = 0; polls < VIRTIO_RESET_MAX_POLLS; polls++) {
		if (virtio_status(dev) == 0)
			break;
		cpu_pause();
	}
	dev->features = 0;
}

static void virtio_fail(struct virtio_dev *dev, const char *why)
{
	print_str("virtio-");
	print_str(virtio_type_name(dev->device_id));
	print_str(": ");
	print_str(why);
	print_str("\n");
	vm_write(dev, VIRTIO_MMIO_STATUS, virtio_status(dev) | VIRTIO_STATUS_FAILED);
}

static uint64_t read_device_features(const struct virtio_dev *dev)
{
	uint64_t high, low;

	vm_write(dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	high = vm_read(dev, VIRTIO_MMIO_DEVICE_FEATURES);
	vm_write(dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	low = vm_read(dev, VIRTIO_MMIO_DEVICE_FEATURES);
	return high << 32 | low;
}

static void write_driver_features(const struct virtio_dev *dev, uint64_t features)
{
	vm_write(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vm_write(dev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	vm_write(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vm_write(dev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
}

bool virtio_init(struct virtio_dev *dev, uint64_t wanted)
{
	uint32_t status = VIRTIO_STATUS_ACKNOWLEDGE;
	uint64_t offered, accepted;

	virtio_reset(dev);
	vm_write(dev, VIRTIO_MMIO_STATUS, status);
	status |= VIRTIO_STATUS_DRIVER;
	vm_write(dev, VIRTIO_MMIO_STATUS, status);

	offered = read_device_features(dev);
	if (!(offered & VIRTIO_FEATURE(VIRTIO_F_VERSION_1))) {
		virtio_fail(dev, "device does not offer VERSION_1");
		return false;
	}
	accepted = offered & (wanted | VIRTIO_FEATURE(VIRTIO_F_VERSION_1));
	write_driver_features(dev, accepted);

	status |= VIRTIO_STATUS_FEATURES_OK;
	vm_write(dev, VIRTIO_MMIO_STATUS, status);
	if (!(virtio_status(dev) & VIRTIO_STATUS_FEATURES_OK)) {
		virtio_fail(dev, "device refused FEATURES_OK");
		return false;
	}
	dev->features = accepted;
	return true;
}

static void write_addr(const struct virtio_dev *dev, uint32_t low_reg, const void *p)
{
	uint64_t gpa = (uint64_t)p; /* identity mapped */

	vm_write(dev, low_reg, (uint32_t)gpa);
	vm_write(dev, low_reg + 4, (uint32_t)(gpa >> 32));
}

bool virtio_setup_queue(struct virtio_dev *dev, unsigned int index, struct virtqueue *vq)
{
	uint32_t max, size = VIRTQUEUE_CAPACITY;

	vm_write(dev, VIRTIO_MMIO_QUEUE_SEL, index);
	if (vm_read(dev, VIRTIO_MMIO_QUEUE_READY)) {
		virtio_fail(dev, "queue already live");
		return false;
	}
	max = vm_read(dev, VIRTIO_MMIO_QUEUE_NUM_MAX);
	if (max == 0) {
		virtio_fail(dev, "queue not available");
		return false;
	}
	/* Split queue sizes are powers of two. */
	while (size > max)
		size >>= 1;

	virtqueue_reset(vq, (uint16_t)size);
	vq->dev = dev;
	vq->index = index;
	vm_write(dev, VIRTIO_MMIO_QUEUE_NUM, size);
	write_addr(dev, VIRTIO_MMIO_QUEUE_DESC_LOW, vq->desc);
	write_addr(dev, VIRTIO_MMIO_QUEUE_DRIVER_LOW, &vq->avail);
	write_addr(dev, VIRTIO_MMIO_QUEUE_DEVICE_LOW, &vq->used);
	vm_write(dev, VIRTIO_MMIO_QUEUE_READY, 1);
	return true;
}

void virtio_driver_ok(struct virtio_dev *dev)
{
	vm_write(dev, VIRTIO_MMIO_STATUS, virtio_status(dev) | VIRTIO_STATUS_DRIVER_OK);
}

void virtio_notify(const struct virtio_dev *dev, unsigned int index)
{
	vm_write(dev, VIRTIO_MMIO_QUEUE_NOTIFY, index);
}

uint32_t virtio_ack_interrupt(const struct virtio_dev *dev)
{
	uint32_t pending = vm_read(dev, VIRTIO_MMIO_INTERRUPT_STATUS);

	if (pending)
		vm_write(dev, VIRTIO_MMIO_INTERRUPT_ACK, pending);
	return pending;
}

uint32_t virtio_config_read32(const struct virtio_dev *dev, uint32_t offset)
{
	uint32_t gen, val = 0;
	unsigned int tries;

	for (tries = 0; tries < VIRTIO_CONFIG_MAX_TRIES; tries++) {
		gen = vm_read(dev, VIRTIO_MMIO_CONFIG_GENERATION);
		val = vm_read(dev, VIRTIO_MMIO_CONFIG + offset);
		if (vm_read(dev, VIRTIO_MMIO_CONFIG_GENERATION) == gen)
			break;
	}
	return val;
}

uint64_t virtio_config_read64(const struct virtio_dev *dev, uint32_t offset)
{
	uint64_t low = 0, high = 0;
	uint32_t gen;
	unsigned int tries;

	/* Two 32-bit halves: both from the same config generation. */
	for (tries = 0; tries < VIRTIO_CONFIG_MAX_TRIES; tries++) {
		gen = vm_read(dev, VIRTIO_MMIO_CONFIG_GENERATION);
		low = vm_read(dev, VIRTIO_MMIO_CONFIG + offset);
		high = vm_read(dev, VIRTIO_MMIO_CONFIG + offset + 4);
		if (vm_read(dev, VIRTIO_MMIO_CONFIG_GENERATION) == gen)
			break;
	}
	return high << 32 | low;
}
