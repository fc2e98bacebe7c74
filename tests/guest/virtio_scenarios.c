// SPDX-License-Identifier: Apache-2.0
#include "blk.h"
#include "print.h"
#include "reset.h"
#include "rng.h"
#include "string.h"
#include "virtio_scenarios.h"

#define BLK_READ_SHOW	   16 /* bytes of sector 0 printed */
#define BLK_READ_BACK_SHOW 32 /* bytes of sector 1 printed after the write */
#define BLK_WRITE_TEXT	   "ember-guest-wrote-this"
#define RNG_BYTES	   16

static struct virtio_dev devices[VIRTIO_MAX_DEVICES];

struct virtio_dev *virtio_probe_first(const char *cmdline, uint32_t device_id, const char *who)
{
	unsigned int n = virtio_probe(cmdline, devices, ARRAY_SIZE(devices));
	struct virtio_dev *dev = virtio_find(devices, n, device_id);

	if (!dev) {
		print_str(who);
		print_str(": no device\n");
	}
	return dev;
}

void scenario_virtio_list(const char *cmdline)
{
	virtio_probe(cmdline, devices, ARRAY_SIZE(devices));
	machine_reset();
}

/* ---- blk ------------------------------------------------------------------ */

static struct blk blk;
static uint8_t sector[BLK_SECTOR_SIZE];
static uint8_t drive_id[BLK_ID_BYTES];

/* "blk: <what> status <n>", or what happened instead of a status. */
static void blk_print_result(const char *what, int ret)
{
	print_str("blk: ");
	print_str(what);
	if (ret == BLK_NO_COMPLETION) {
		print_str(" no completion\n");
	} else if (ret == BLK_NEEDS_RESET) {
		print_str(" NEEDS_RESET\n");
	} else {
		print_str(" status ");
		print_dec((uint64_t)ret);
		print_str("\n");
	}
}

/* Read @lba and print its first @show bytes as `blk: <label> "<text>"`. */
static void blk_read_and_print(uint64_t lba, const char *label, size_t show)
{
	int ret;

	memset(sector, 0, sizeof(sector));
	ret = blk_request(&blk, VIRTIO_BLK_T_IN, lba, sector, sizeof(sector), NULL);
	if (ret != VIRTIO_BLK_S_OK) {
		blk_print_result(label, ret);
		return;
	}
	print_str("blk: ");
	print_str(label);
	print_str(" \"");
	print_printable(sector, show);
	print_str("\"\n");
}

static void blk_print_id(void)
{
	size_t len = 0;
	int ret;

	memset(drive_id, 0, sizeof(drive_id));
	ret = blk_request(&blk, VIRTIO_BLK_T_GET_ID, 0, drive_id, sizeof(drive_id), NULL);
	if (ret != VIRTIO_BLK_S_OK) {
		blk_print_result("id", ret);
		return;
	}
	/* Zero padded; a 20-byte ID has no NUL at all. */
	while (len < sizeof(drive_id) && drive_id[len])
		len++;
	print_str("blk: id ");
	print_printable(drive_id, len);
	print_str("\n");
}

void scenario_blk(const char *cmdline)
{
	struct virtio_dev *dev = virtio_probe_first(cmdline, VIRTIO_ID_BLOCK, "blk");
	int ret;

	if (!dev || !blk_open(&blk, dev)) {
		if (dev)
			print_str("blk: init failed\n");
		machine_reset();
	}
	print_str("blk: capacity ");
	print_dec(blk_capacity(&blk));
	print_str("\n");
	blk_print_id();
	blk_read_and_print(0, "read", BLK_READ_SHOW);

	memset(sector, 0, sizeof(sector));
	memcpy(sector, BLK_WRITE_TEXT, sizeof(BLK_WRITE_TEXT) - 1);
	ret = blk_request(&blk, VIRTIO_BLK_T_OUT, 1, sector, sizeof(sector), NULL);
	blk_print_result("write", ret);
	ret = blk_request(&blk, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL);
	blk_print_result("flush", ret);
	blk_read_and_print(1, "read back", BLK_READ_BACK_SHOW);
	machine_reset();
}

/* ---- rng ------------------------------------------------------------------ */

static struct rng rng;
static uint8_t random_bytes[RNG_BYTES];

static bool all_zero(const uint8_t *p, size_t len)
{
	for (; len; len--, p++) {
		if (*p)
			return false;
	}
	return true;
}

void scenario_rng(const char *cmdline)
{
	struct virtio_dev *dev = virtio_probe_first(cmdline, VIRTIO_ID_RNG, "rng");
	ssize_t got;

	if (!dev || !rng_open(&rng, dev)) {
		if (dev)
			print_str("rng: init failed\n");
		machine_reset();
	}
	memset(random_bytes, 0, sizeof(random_bytes));
	got = rng_read(&rng, random_bytes, sizeof(random_bytes));
	if (got != (ssize_t)sizeof(random_bytes)) {
		print_str("rng: ");
		if (got < 0) {
			print_str("no completion\n");
		} else {
			print_dec((uint64_t)got);
			print_str(" bytes instead of 16\n");
		}
		machine_reset();
	}
	print_str("rng: ");
	print_hex_bytes(random_bytes, sizeof(random_bytes));
	print_str(all_zero(random_bytes, sizeof(random_bytes)) ? "\nrng: all zero\n"
							       : "\nrng: ok\n");
	machine_reset();
}
