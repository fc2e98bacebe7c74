// SPDX-License-Identifier: Apache-2.0
/*
 * Snapshot state of the devices and the configuration: what a guest can
 * observe before the save is what it observes after the restore into a
 * freshly created device, register by register and byte by byte; the
 * restore refuses state that belongs to another device; the vCPU and VM
 * sections decode what they encode and refuse wrong sizes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/base/event_loop.h"
#include "tests/unit/devices/fake_irq.h"
#include "vmm/mem/guest_mem.h"
#include "vmm/mem/layout.h"
#include "devices/legacy/i8042.h"
#include "devices/legacy/serial.h"
#include "vmm/snapshot/snapshot_config.h"
#include "vmm/kvm/vcpu_state.h"
#include "devices/virtio/rng.h"
#include "devices/virtio/virtio_mmio.h"
#include "devices/virtio/virtq_driver.h"
#include "vmm/kvm/vm_state.h"
#include "vmm/base/vmstate.h"

/* A reader over what @w holds after its (raw) header. */
static struct vmstate_reader reader_of(const struct vmstate_writer *w)
{
	return (struct vmstate_reader){w->buf, w->len, 0, 0};
}

static uint8_t io_read(const struct bus_device_ops *ops, void *dev, uint64_t off)
{
	uint8_t b = 0;

	ops->read(dev, off, &b, 1);
	return b;
}

static void io_write(const struct bus_device_ops *ops, void *dev, uint64_t off, uint8_t v)
{
	ops->write(dev, off, &v, 1);
}

/* ---- UART ---------------------------------------------------------------------- */

static void test_serial_round_trip(void **state)
{
	struct fake_irq irq_a, irq_b;
	struct serial *a, *b;
	struct vmstate_writer w;
	struct vmstate_reader r;
	const struct bus_device_ops *ops = &serial_bus_ops;

	(void)state;
	fake_irq_init(&irq_a, 4);
	fake_irq_init(&irq_b, 4);
	a = serial_create(-1, &irq_a.line);
	b = serial_create(-1, &irq_b.line);
	/* Linux's setup: divisor 1 (DLAB), 8N1, FIFO on, RX interrupt, scratch byte. */
	io_write(ops, a, UART_LCR, UART_LCR_DLAB);
	io_write(ops, a, UART_DLL, 1);
	io_write(ops, a, UART_DLM, 0);
	io_write(ops, a, UART_LCR, UART_LCR_WLEN8);
	io_write(ops, a, UART_FCR, UART_FCR_ENABLE_FIFO);
	io_write(ops, a, UART_IER, UART_IER_RDI);
	io_write(ops, a, UART_MCR, UART_MCR_OUT2 | UART_MCR_DTR);
	io_write(ops, a, UART_SCR, 0x5a);
	/* Input waiting in the FIFO; one byte consumed so the ring has wrapped state. */
	assert_int_equal(serial_enqueue_input(a, (const uint8_t *)"xhello", 6), 6);
	assert_int_equal(io_read(ops, a, UART_RX), 'x');
	assert_true(fake_irq_level(&irq_a));

	vmstate_writer_init_raw(&w);
	serial_save(a, &w);
	assert_int_equal(w.err, 0);
	r = reader_of(&w);
	assert_int_equal(serial_restore(b, &r), 0);
	assert_int_equal(vmstate_reader_end(&r), 0);
	/* Restoring drives no line: the restored irqchip already holds its level. */
	assert_int_equal(fake_irq_count(&irq_b), 0);

	assert_int_equal(io_read(ops, b, UART_LCR), UART_LCR_WLEN8);
	assert_int_equal(io_read(ops, b, UART_IER), UART_IER_RDI);
	assert_int_equal(io_read(ops, b, UART_MCR), UART_MCR_OUT2 | UART_MCR_DTR);
	assert_int_equal(io_read(ops, b, UART_SCR), 0x5a);
	assert_int_equal(io_read(ops, b, UART_IIR), UART_IIR_RDI | 0xc0);
	io_write(ops, b, UART_LCR, UART_LCR_DLAB | UART_LCR_WLEN8);
	assert_int_equal(io_read(ops, b, UART_DLL), 1);
	io_write(ops, b, UART_LCR, UART_LCR_WLEN8);
	/* The FIFO, in order; then empty, and the line drops. */
	for (const char *c = "hello"; *c; c++) {
		assert_true(io_read(ops, b, UART_LSR) & UART_LSR_DR);
		assert_int_equal(io_read(ops, b, UART_RX), *c);
	}
	assert_false(io_read(ops, b, UART_LSR) & UART_LSR_DR);
	assert_string_equal(fake_irq_history(&irq_b), "0");
	vmstate_writer_free(&w);
	serial_destroy(a);
	serial_destroy(b);
	fake_irq_destroy(&irq_a);
	fake_irq_destroy(&irq_b);
}

static void test_serial_refuses_oversized_fifo(void **state)
{
	struct vmstate_writer w;
	struct vmstate_reader r;
	struct serial *s = serial_create(-1, NULL);

	(void)state;
	vmstate_writer_init_raw(&w);
	for (int i = 0; i < 6; i++)
		vmstate_put_u8(&w, 0);
	for (int i = 0; i < 4; i++)
		vmstate_put_bool(&w, false);
	vmstate_put_u32(&w, SERIAL_FIFO_SIZE + 1);
	for (unsigned int i = 0; i <= SERIAL_FIFO_SIZE; i++)
		vmstate_put_u8(&w, 'a');
	r = reader_of(&w);
	assert_int_equal(serial_restore(s, &r), -EINVAL);
	/* Truncated state: refused too. */
	r = reader_of(&w);
	r.len = 8;
	assert_int_equal(serial_restore(s, &r), -EINVAL);
	vmstate_writer_free(&w);
	serial_destroy(s);
}

/* ---- i8042 --------------------------------------------------------------------- */

static void test_i8042_round_trip(void **state)
{
	struct fake_irq irq_a, irq_b;
	struct i8042 *a, *b;
	struct vmstate_writer w;
	struct vmstate_reader r;
	const struct bus_device_ops *ops = &i8042_bus_ops;

	(void)state;
	fake_irq_init(&irq_a, 1);
	fake_irq_init(&irq_b, 1);
	a = i8042_create(&irq_a.line, NULL, NULL);
	b = i8042_create(&irq_b.line, NULL, NULL);
	/* Ctrl+Alt+Del queued, the first byte read; a WRITE_OUTP waits for its parameter. */
	assert_int_equal(i8042_send_ctrl_alt_del(a), 0);
	assert_int_equal(io_read(ops, a, I8042_DATA_OFFSET), 0x14);
	io_write(ops, a, I8042_CMD_OFFSET, I8042_CMD_WRITE_OUTP);

	vmstate_writer_init_raw(&w);
	i8042_save(a, &w);
	r = reader_of(&w);
	assert_int_equal(i8042_restore(b, &r), 0);
	assert_int_equal(vmstate_reader_end(&r), 0);
	assert_int_equal(fake_irq_count(&irq_b), 0);
	assert_int_equal(io_read(ops, b, I8042_CMD_OFFSET), io_read(ops, a, I8042_CMD_OFFSET));
	/* The pending parameter goes to the output port, as it would have on @a. */
	io_write(ops, b, I8042_DATA_OFFSET, 0x42);
	io_write(ops, b, I8042_CMD_OFFSET, I8042_CMD_READ_OUTP);
	assert_int_equal(io_read(ops, b, I8042_DATA_OFFSET), 0x42);
	vmstate_writer_free(&w);

	/* The rest of the sequence survives a restore: 0x11 0xe0 0x71. */
	vmstate_writer_init_raw(&w);
	i8042_save(a, &w);
	r = reader_of(&w);
	assert_int_equal(i8042_restore(b, &r), 0);
	assert_int_equal(io_read(ops, b, I8042_DATA_OFFSET), 0x11);
	assert_int_equal(io_read(ops, b, I8042_DATA_OFFSET), 0xe0);
	assert_int_equal(io_read(ops, b, I8042_DATA_OFFSET), 0x71);
	assert_false(io_read(ops, b, I8042_CMD_OFFSET) & I8042_STR_OBF);
	vmstate_writer_free(&w);
	i8042_destroy(a);
	i8042_destroy(b);
	fake_irq_destroy(&irq_a);
	fake_irq_destroy(&irq_b);
}

/* ---- virtio-mmio transport and queues ---------------------------------------------- */

#define RAM   (4 * MIB)
#define BASE  (LAYOUT_VIRTIO_START + 0x2000)
#define GSI   7
#define RING  0x10000ULL
#define BUF   0x100000ULL
#define QSIZE 16

/* An rng device at @base on @mem, attached to its own event loop. */
struct rng_fx {
	struct event_loop loop;
	struct rng_dev *rng;
	struct virtio_mmio_dev *dev;
};

static void rng_fx_init(struct rng_fx *f, const struct guest_mem *mem, uint64_t base)
{
	memset(f, 0, sizeof(*f));
	assert_int_equal(event_loop_init(&f->loop), 0);
	assert_int_equal(rng_create(&f->rng, mem, base, GSI), 0);
	f->dev = rng_mmio(f->rng);
	assert_int_equal(virtio_mmio_attach(f->dev, &f->loop), 0);
}

static void rng_fx_destroy(struct rng_fx *f)
{
	virtio_mmio_detach(f->dev);
	rng_destroy(f->rng);
	event_loop_destroy(&f->loop);
}

static void run_loop(struct event_loop *loop)
{
	while (event_loop_run_once(loop, 10) > 0)
		;
}

/*
 * A driver sets the device up and consumes one buffer; the state moves to a
 * new device on the same RAM (as a restore does); a buffer the driver made
 * available before the snapshot, whose notification is lost with the old
 * process, is served by the new device without a new notification.
 */
static void test_virtio_round_trip(void **state)
{
	struct guest_mem mem;
	struct rng_fx a, b;
	struct virtq_driver drv;
	struct vmstate_writer w;
	struct vmstate_reader r;
	uint32_t id, len;
	uint8_t *buf;

	(void)state;
	assert_int_equal(guest_mem_create(&mem, RAM), 0);
	rng_fx_init(&a, &mem, BASE);
	rng_fx_init(&b, &mem, BASE);

	assert_int_equal(virtq_driver_init(&drv, &mem, RING, QSIZE), 0);
	assert_true(virtio_mmio_driver_negotiate(a.dev, VIRTIO_COMMON_FEATURES) &
		    VIRTIO_CONFIG_S_FEATURES_OK);
	assert_int_equal(virtio_mmio_driver_setup_queue(a.dev, 0, &drv), 1);
	assert_true(virtio_mmio_driver_ok(a.dev) & VIRTIO_CONFIG_S_DRIVER_OK);
	run_loop(&a.loop);
	virtq_driver_set_desc(&drv, 0, BUF, 64, VRING_DESC_F_WRITE, 0);
	virtq_driver_publish(&drv, 0);
	virtio_mmio_driver_write(a.dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	run_loop(&a.loop);
	assert_int_equal(virtq_driver_get_used(&drv, &id, &len), 1);
	assert_int_equal(len, 64);
	/* The next buffer is published but its notification never reaches @a. */
	buf = guest_mem_translate(&mem, BUF + 0x1000, 32);
	memset(buf, 0, 32);
	virtq_driver_set_desc(&drv, 1, BUF + 0x1000, 32, VRING_DESC_F_WRITE, 0);
	virtq_driver_publish(&drv, 1);

	vmstate_writer_init_raw(&w);
	assert_int_equal(virtio_mmio_save(a.dev, &w), 0);
	r = reader_of(&w);
	assert_int_equal(virtio_mmio_restore(b.dev, &r), 0);
	assert_int_equal(virtio_mmio_driver_read(b.dev, VIRTIO_MMIO_STATUS),
			 virtio_mmio_driver_read(a.dev, VIRTIO_MMIO_STATUS));
	assert_int_equal(virtio_mmio_driver_read(b.dev, VIRTIO_MMIO_INTERRUPT_STATUS),
			 virtio_mmio_driver_read(a.dev, VIRTIO_MMIO_INTERRUPT_STATUS));
	virtio_mmio_driver_write(b.dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	virtio_mmio_driver_write(b.dev, VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(virtio_mmio_driver_read(b.dev, VIRTIO_MMIO_QUEUE_READY), 1);
	/* The restored device picks up the pending buffer on its own. */
	run_loop(&b.loop);
	assert_int_equal(virtq_driver_get_used(&drv, &id, &len), 1);
	assert_int_equal(id, 1);
	assert_int_equal(len, 32);
	vmstate_writer_free(&w);
	rng_fx_destroy(&a);
	rng_fx_destroy(&b);
	guest_mem_destroy(&mem);
}

/* State saved from the device at another slot (or of another type) is refused. */
static void test_virtio_refuses_another_device(void **state)
{
	struct guest_mem mem;
	struct rng_dev *a, *b;
	struct vmstate_writer w;
	struct vmstate_reader r;

	(void)state;
	assert_int_equal(guest_mem_create(&mem, RAM), 0);
	assert_int_equal(rng_create(&a, &mem, BASE, GSI), 0);
	assert_int_equal(rng_create(&b, &mem, BASE + 0x1000, GSI + 1), 0);
	vmstate_writer_init_raw(&w);
	assert_int_equal(virtio_mmio_save(rng_mmio(a), &w), 0);
	r = reader_of(&w);
	assert_int_equal(virtio_mmio_restore(rng_mmio(b), &r), -EINVAL);
	/* Truncated: refused as well. */
	r = reader_of(&w);
	r.len -= 3;
	assert_int_equal(virtio_mmio_restore(rng_mmio(a), &r), -EINVAL);
	vmstate_writer_free(&w);
	rng_destroy(a);
	rng_destroy(b);
	guest_mem_destroy(&mem);
}

/* A ready queue whose rings would lie outside RAM is refused. */
static void test_virtq_restore_checks_layout(void **state)
{
	struct guest_mem mem;
	struct virtq q, restored;
	struct vmstate_writer w;
	struct vmstate_reader r;

	(void)state;
	assert_int_equal(guest_mem_create(&mem, RAM), 0);
	virtq_init(&q, 16);
	q.size = 16;
	q.ready = true;
	q.desc_gpa = RAM - 16; /* the table runs past the end of RAM */
	q.avail_gpa = 0x2000;
	q.used_gpa = 0x3000;
	vmstate_writer_init_raw(&w);
	virtq_save(&q, &w);
	virtq_init(&restored, 16);
	r = reader_of(&w);
	assert_int_equal(virtq_restore(&restored, &r, &mem), -EINVAL);
	assert_false(restored.ready);
	/* Inside RAM it is taken as saved, indices included. */
	vmstate_writer_free(&w);
	q.desc_gpa = 0x1000;
	q.last_avail_idx = 65530;
	q.used_idx = 65529;
	vmstate_writer_init_raw(&w);
	virtq_save(&q, &w);
	r = reader_of(&w);
	assert_int_equal(virtq_restore(&restored, &r, &mem), 0);
	assert_memory_equal(&restored, &q, sizeof(q));
	/* A queue of another maximum size belongs to another device model. */
	virtq_init(&restored, 256);
	r = reader_of(&w);
	assert_int_equal(virtq_restore(&restored, &r, &mem), -EINVAL);
	vmstate_writer_free(&w);
	guest_mem_destroy(&mem);
}

/* ---- configuration ------------------------------------------------------------------- */

static void test_config_round_trip(void **state)
{
	struct vm_config cfg, back;
	struct vmstate_writer w;
	struct vmstate_file f;
	struct vmstate_reader r;
	char err[256];

	(void)state;
	vm_config_init(&cfg);
	cfg.machine.vcpu_count = 2;
	cfg.machine.mem_size_mib = 256;
	cfg.machine.smt = true;
	cfg.machine.huge_pages = HUGE_PAGES_2M;
	cfg.drives = calloc(2, sizeof(*cfg.drives));
	cfg.nr_drives = 2;
	cfg.drives[0] =
	    (struct drive_config){.drive_id = strdup("rootfs"),
				  .path_on_host = strdup("/img/root.ext4"),
				  .is_root_device = true,
				  .partuuid = strdup("0eaa91a0-01"),
				  .cache_type = DRIVE_CACHE_WRITEBACK,
				  .io_engine = DRIVE_IO_ASYNC,
				  .has_rate_limiter = true,
				  .rate_limiter = {.has_ops = true, .ops = {100, 5, 1000}}};
	cfg.drives[1] = (struct drive_config){
	    .drive_id = strdup("data"), .path_on_host = strdup("/img/data"), .is_read_only = true};
	cfg.nets = calloc(1, sizeof(*cfg.nets));
	cfg.nr_nets = 1;
	cfg.nets[0] = (struct net_config){
	    .iface_id = strdup("eth0"),
	    .host_dev_name = strdup("tap7"),
	    .has_guest_mac = true,
	    .guest_mac = {2, 0, 0, 0, 0, 9},
	    .has_tx_rate_limiter = true,
	    .tx_rate_limiter = {.has_bandwidth = true, .bandwidth = {1 << 20, 0, 100}}};
	cfg.has_vsock = true;
	cfg.vsock = (struct vsock_config){NULL, 42, strdup("/run/v.sock")};
	cfg.has_entropy = true;

	vmstate_writer_init(&w);
	snapshot_config_encode(&cfg, &w);
	assert_int_equal(vmstate_writer_finish(&w), 0);
	assert_int_equal(vmstate_open(&f, w.buf, w.len, err, sizeof(err)), 0);
	assert_true(vmstate_find(&f, SNAPSHOT_CONF_TAG, 0, &r));
	vm_config_init(&back);
	assert_int_equal(snapshot_config_decode(&r, &back), 0);
	assert_int_equal(back.machine.vcpu_count, 2);
	assert_int_equal(back.machine.mem_size_mib, 256);
	assert_true(back.machine.smt);
	assert_int_equal(back.machine.huge_pages, HUGE_PAGES_2M);
	assert_null(back.machine.cpu_template);
	assert_int_equal(back.nr_drives, 2);
	assert_string_equal(back.drives[0].drive_id, "rootfs");
	assert_string_equal(back.drives[0].path_on_host, "/img/root.ext4");
	assert_string_equal(back.drives[0].partuuid, "0eaa91a0-01");
	assert_true(back.drives[0].is_root_device);
	assert_int_equal(back.drives[0].io_engine, DRIVE_IO_ASYNC);
	assert_int_equal(back.drives[0].cache_type, DRIVE_CACHE_WRITEBACK);
	assert_true(back.drives[0].has_rate_limiter);
	assert_int_equal(back.drives[0].rate_limiter.ops.size, 100);
	assert_int_equal(back.drives[0].rate_limiter.ops.one_time_burst, 5);
	assert_int_equal(back.drives[0].rate_limiter.ops.refill_time_ms, 1000);
	assert_true(back.drives[1].is_read_only);
	assert_null(back.drives[1].partuuid);
	assert_int_equal(back.nr_nets, 1);
	assert_string_equal(back.nets[0].host_dev_name, "tap7");
	assert_memory_equal(back.nets[0].guest_mac, cfg.nets[0].guest_mac, 6);
	assert_int_equal(back.nets[0].tx_rate_limiter.bandwidth.size, 1 << 20);
	assert_false(back.nets[0].has_rx_rate_limiter);
	assert_true(back.has_vsock);
	assert_int_equal(back.vsock.guest_cid, 42);
	assert_string_equal(back.vsock.uds_path, "/run/v.sock");
	assert_true(back.has_entropy);
	assert_false(back.entropy.has_rate_limiter);
	vm_config_free(&back);
	vm_config_free(&cfg);
	vmstate_writer_free(&w);
}

/* A raw writer holding the CONF section's machine part: 1 vCPU, 128 MiB, no template. */
static void put_sample_machine(struct vmstate_writer *w)
{
	vmstate_writer_init_raw(w);
	vmstate_put_u32(w, 1);
	vmstate_put_u64(w, 128);
	vmstate_put_bool(w, false);
	vmstate_put_bool(w, false);
	vmstate_put_u8(w, 0);
	vmstate_put_str(w, NULL);
}

/* One drive as the CONF section encodes it: "d", "/d.img", no limiter. */
static void put_sample_drive(struct vmstate_writer *w)
{
	vmstate_put_str(w, "d");
	vmstate_put_str(w, "/d.img");
	vmstate_put_bool(w, false);
	vmstate_put_str(w, NULL);
	vmstate_put_bool(w, false);
	vmstate_put_u8(w, 0);
	vmstate_put_u8(w, 0);
	vmstate_put_bool(w, false);
	vmstate_put_bool(w, false);
	for (int i = 0; i < 3; i++)
		vmstate_put_u64(w, 0);
	vmstate_put_bool(w, false);
	for (int i = 0; i < 3; i++)
		vmstate_put_u64(w, 0);
}

static void test_config_limits(void **state)
{
	struct vm_config cfg;
	struct vmstate_writer w;
	struct vmstate_reader r;

	(void)state;
	/* 33 vCPUs: not a machine the API could have configured. */
	vmstate_writer_init_raw(&w);
	vmstate_put_u32(&w, 33);
	vmstate_put_u64(&w, 128);
	r = reader_of(&w);
	vm_config_init(&cfg);
	assert_int_equal(snapshot_config_decode(&r, &cfg), -EINVAL);
	vm_config_free(&cfg);
	vmstate_writer_free(&w);
	/* 20 drives: more than the 19 virtio slots. */
	put_sample_machine(&w);
	vmstate_put_u32(&w, 20);
	r = reader_of(&w);
	vm_config_init(&cfg);
	assert_int_equal(snapshot_config_decode(&r, &cfg), -EINVAL);
	vm_config_free(&cfg);
	vmstate_writer_free(&w);
	/*
	 * One drive and 2^32 - 1 interfaces: the sum of the two counts wrapped
	 * to 0 below the slot limit, and the decoder asked for a 2^32-entry
	 * array (fuzz_snapshot found it) instead of refusing the section.
	 */
	put_sample_machine(&w);
	vmstate_put_u32(&w, 1);
	put_sample_drive(&w);
	vmstate_put_u32(&w, UINT32_MAX);
	r = reader_of(&w);
	vm_config_init(&cfg);
	assert_int_equal(snapshot_config_decode(&r, &cfg), -EINVAL);
	assert_null(cfg.nets);
	vm_config_free(&cfg);
	vmstate_writer_free(&w);
}

/* ---- vCPU and VM sections --------------------------------------------------------------- */

static void test_vcpu_state_round_trip(void **state)
{
	struct vcpu_saved_state s = {0}, back;
	struct vmstate_writer w;
	struct vmstate_file f;
	struct vmstate_reader r;
	char err[256];

	(void)state;
	s.mp_state.mp_state = KVM_MP_STATE_HALTED;
	s.regs.rip = 0x102482;
	s.regs.rax = 0xdeadbeef;
	s.sregs.cr3 = 0x10e000;
	s.has_xsave = true;
	s.xsave = calloc(1, sizeof(*s.xsave));
	s.xsave_size = sizeof(*s.xsave);
	s.xsave->region[7] = 0x1234;
	s.has_xcrs = true;
	s.xcrs.nr_xcrs = 1;
	s.xcrs.xcrs[0].value = 7;
	s.lapic.regs[0x20] = 0x42;
	s.events.nmi.pending = 1;
	s.tsc_khz = 2596146;
	s.cpuid = calloc(1, sizeof(*s.cpuid) + 2 * sizeof(s.cpuid->entries[0]));
	s.cpuid->nent = 2;
	s.cpuid->entries[1].function = 0x80000001;
	s.msrs = calloc(1, sizeof(*s.msrs) + 3 * sizeof(s.msrs->entries[0]));
	s.msrs->nmsrs = 3;
	s.msrs->entries[2].index = 0xc0000080;
	s.msrs->entries[2].data = 0x500;

	vmstate_writer_init(&w);
	vcpu_state_encode(&s, 3, &w);
	assert_int_equal(vmstate_writer_finish(&w), 0);
	assert_int_equal(vmstate_open(&f, w.buf, w.len, err, sizeof(err)), 0);
	assert_true(vmstate_find(&f, VCPU_STATE_TAG, 3, &r));
	assert_int_equal(vcpu_state_decode(&r, &back), 0);
	assert_memory_equal(&back.regs, &s.regs, sizeof(s.regs));
	assert_memory_equal(&back.sregs, &s.sregs, sizeof(s.sregs));
	assert_memory_equal(back.xsave, s.xsave, sizeof(*s.xsave));
	assert_memory_equal(&back.xcrs, &s.xcrs, sizeof(s.xcrs));
	assert_memory_equal(&back.lapic, &s.lapic, sizeof(s.lapic));
	assert_memory_equal(&back.events, &s.events, sizeof(s.events));
	assert_int_equal(back.mp_state.mp_state, KVM_MP_STATE_HALTED);
	assert_int_equal(back.tsc_khz, 2596146);
	assert_int_equal(back.cpuid->nent, 2);
	assert_int_equal(back.cpuid->entries[1].function, 0x80000001);
	assert_int_equal(back.msrs->nmsrs, 3);
	assert_int_equal(back.msrs->entries[2].data, 0x500);
	vcpu_state_free(&back);

	/* Every truncation of the section is refused cleanly. */
	for (size_t len = 0; len < r.len; len += 97) {
		struct vmstate_reader t = {r.p, len, 0, 0};

		assert_int_not_equal(vcpu_state_decode(&t, &back), 0);
	}
	vcpu_state_free(&s);
	vmstate_writer_free(&w);
}

static void test_vm_state_round_trip(void **state)
{
	struct vm_saved_state s, back;
	struct vmstate_writer w;
	struct vmstate_reader r;

	(void)state;
	memset(&s, 0, sizeof(s));
	for (unsigned int i = 0; i < VM_STATE_NR_CHIPS; i++)
		s.chips[i].chip_id = i;
	s.chips[0].chip.pic.imr = 0xfe;
	s.chips[2].chip.ioapic.redirtbl[3].bits = 0x1234;
	s.pit.channels[0].count = 11932;
	s.clock.clock = 123456789;
	vmstate_writer_init_raw(&w);
	vm_state_encode(&s, &w);
	/* Skip the section header the encoder wrote. */
	r = (struct vmstate_reader){w.buf + VMSTATE_SECTION_HDR, w.len - VMSTATE_SECTION_HDR, 0, 0};
	assert_int_equal(vm_state_decode(&r, &back), 0);
	assert_memory_equal(&back, &s, sizeof(s));
	/* Chips out of order would be loaded into the wrong controller: refused. */
	vmstate_writer_free(&w);
	s.chips[1].chip_id = 2;
	vmstate_writer_init_raw(&w);
	vm_state_encode(&s, &w);
	r = (struct vmstate_reader){w.buf + VMSTATE_SECTION_HDR, w.len - VMSTATE_SECTION_HDR, 0, 0};
	assert_int_equal(vm_state_decode(&r, &back), -EINVAL);
	vmstate_writer_free(&w);
}

static void test_msr_allowlist(void **state)
{
	(void)state;
	assert_true(vcpu_state_msr_serializable(0x10));		 /* TSC */
	assert_true(vcpu_state_msr_serializable(0x6e0));	 /* TSC_DEADLINE */
	assert_true(vcpu_state_msr_serializable(0x277));	 /* PAT (MTRR range) */
	assert_true(vcpu_state_msr_serializable(0x800 + 0x3ff)); /* last x2APIC MSR */
	assert_true(vcpu_state_msr_serializable(0x4b564d01));	 /* kvmclock */
	assert_true(vcpu_state_msr_serializable(0xc0000102));	 /* KERNEL_GS_BASE */
	assert_false(vcpu_state_msr_serializable(0x17b));	 /* MCG_CTL: denied */
	assert_false(vcpu_state_msr_serializable(0xc1));	 /* PMU counter */
	assert_false(vcpu_state_msr_serializable(0x480));	 /* VMX_BASIC */
	assert_false(vcpu_state_msr_serializable(0x40000000));	 /* Hyper-V */
	assert_false(vcpu_state_msr_serializable(0xc00));	 /* past the x2APIC range */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_serial_round_trip),
	    cmocka_unit_test(test_serial_refuses_oversized_fifo),
	    cmocka_unit_test(test_i8042_round_trip),
	    cmocka_unit_test(test_virtio_round_trip),
	    cmocka_unit_test(test_virtio_refuses_another_device),
	    cmocka_unit_test(test_virtq_restore_checks_layout),
	    cmocka_unit_test(test_config_round_trip),
	    cmocka_unit_test(test_config_limits),
	    cmocka_unit_test(test_vcpu_state_round_trip),
	    cmocka_unit_test(test_vm_state_round_trip),
	    cmocka_unit_test(test_msr_allowlist),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
