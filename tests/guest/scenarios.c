// SPDX-License-Identifier: Apache-2.0
#include "balloon.h"
#include "cmdline.h"
#include "cpuid.h"
#include "io.h"
#include "kbd.h"
#include "mem.h"
#include "mmds.h"
#include "pmem.h"
#include "pic.h"
#include "pit.h"
#include "print.h"
#include "reset.h"
#include "scenarios.h"
#include "serial.h"
#include "string.h"
#include "traps.h"
#include "virtio_scenarios.h"
#include "vmgenid.h"

#define DEFAULT_SCENARIO "hello"
#define COUNT_PREFIX	 "count="
#define TOUCH_PREFIX	 "touch="
#define TOUCH_BASE	 (32ULL << 20) /* above anything the guest image uses */
#define TOUCH_PAGE	 4096ULL
#define BENCH_PREFIX	 "blk-bench="
#define BENCH_DEFAULT_N	 1000
#define ECHO_LINE_MAX	 64

/* ---- hello ---------------------------------------------------------------- */

static __noreturn void scenario_hello(void)
{
	print_str("hello from ember-test-guest\n");
	machine_reset();
}

/* ---- echo: interrupt-driven serial input ----------------------------------- */

/* State shared between the serial IRQ handler and the waiting main loop. */
static struct {
	char line[ECHO_LINE_MAX];
	size_t len;
	bool overflow; /* the current line is longer than line[]: cannot be "quit" */
	volatile bool quit;
} echo;

/* Echo one byte and track the current line; CR or LF ends a line. */
static void echo_byte(uint8_t c)
{
	serial_putc((char)c);
	if (c == '\r' || c == '\n') {
		if (!echo.overflow && str_equals(echo.line, echo.len, "quit"))
			echo.quit = true;
		echo.len = 0;
		echo.overflow = false;
	} else if (echo.len < sizeof(echo.line)) {
		echo.line[echo.len++] = (char)c;
	} else {
		echo.overflow = true;
	}
}

/* IRQ 4: drain the receiver (LSR.DR) so the UART drops its interrupt; input after "quit" stays. */
static void echo_serial_irq(void)
{
	uint8_t c;

	while (!echo.quit && serial_getc(&c))
		echo_byte(c);
}

static __noreturn void scenario_echo(void)
{
	pic_init();
	irq_set_handler(SERIAL_IRQ, echo_serial_irq);
	serial_enable_rx_irq();
	pic_unmask(SERIAL_IRQ);
	print_str("echo: ready\n");
	for (;;) {
		cpu_cli();
		if (echo.quit)
			break;
		cpu_sti_hlt();
	}
	print_str("bye\n");
	machine_reset();
}

/* ---- count=N: one line per PIT tick ----------------------------------------- */

static volatile uint64_t pit_ticks;

static void count_timer_irq(void)
{
	pit_ticks++;
}

/* Sleep until at least @n ticks have happened; returns with interrupts disabled. */
static void wait_for_ticks(uint64_t n)
{
	for (;;) {
		cpu_cli();
		if (pit_ticks >= n)
			return;
		cpu_sti_hlt();
	}
}

static __noreturn void scenario_count(uint32_t n)
{
	uint64_t i;

	pic_init();
	irq_set_handler(PIT_IRQ, count_timer_irq);
	pit_start_periodic();
	pic_unmask(PIT_IRQ);
	for (i = 1; i <= n; i++) {
		wait_for_ticks(i);
		print_str("count: ");
		print_dec(i);
		print_str("\n");
	}
	print_str("count: done\n");
	machine_reset();
}

/* ---- touch=N: always running, N pages written per round ------------------------ */

/*
 * For the snapshot benchmarks: never sleeps, so a resumed VM prints at once
 * (touch=0 is a guest that prints continuously), and each round writes the
 * first byte of the N pages from TOUCH_BASE (the pages a Diff snapshot then
 * holds). RAM must reach TOUCH_BASE + N pages.
 */
static __noreturn void scenario_touch(uint32_t n)
{
	for (uint64_t round = 1;; round++) {
		for (uint64_t i = 0; i < n; i++)
			*(volatile uint8_t *)(TOUCH_BASE + i * TOUCH_PAGE) = (uint8_t)round;
		print_str("touch: ");
		print_dec(round);
		print_str("\n");
	}
}

/* ---- ctrl-alt-del: the VMM's SendCtrlAltDel on the keyboard ------------------ */

/* Scancode set 2 make codes Firecracker sends: Ctrl, Alt, E0-prefixed Delete. */
static const uint8_t ctrl_alt_del[] = {0x14, 0x11, 0xe0, 0x71};

static struct {
	size_t matched; /* bytes of ctrl_alt_del[] seen in a row */
	volatile bool received;
} cad;

/* Match the sequence anywhere in the byte stream (an ACK or stray byte may precede it). */
static void cad_byte(uint8_t c)
{
	if (c == ctrl_alt_del[cad.matched])
		cad.matched++;
	else
		cad.matched = c == ctrl_alt_del[0] ? 1 : 0;
	if (cad.matched == sizeof(ctrl_alt_del)) {
		cad.received = true;
		cad.matched = 0;
	}
}

/* IRQ 1: take every byte the controller holds (status OBF), one interrupt may bring several. */
static void cad_kbd_irq(void)
{
	uint8_t c;

	while (kbd_getc(&c))
		cad_byte(c);
}

static __noreturn void scenario_ctrl_alt_del(void)
{
	pic_init();
	irq_set_handler(KBD_IRQ, cad_kbd_irq);
	if (!kbd_enable_irq()) {
		print_str("ctrl-alt-del: no i8042\n");
		machine_reset();
	}
	pic_unmask(KBD_IRQ);
	print_str("ctrl-alt-del: ready\n");
	for (;;) {
		cpu_cli();
		if (cad.received)
			break;
		cpu_sti_hlt();
	}
	print_str("ctrl-alt-del: received\n");
	machine_reset();
}

/* ---- triple-fault / halt-forever -------------------------------------------- */

/*
 * With an empty IDT, #UD -> #GP -> #DF all fail to deliver: a triple fault
 * (shutdown). UD2 rather than INT3: on hosts where KVM emulates guest kernel
 * code, its instruction emulator cannot execute INT3 in long mode and stops
 * the VM with an emulation error, while it raises #UD for UD2 like a CPU.
 */
static __noreturn void scenario_triple_fault(void)
{
	print_str("triple-fault: now\n");
	cpu_cli();
	traps_load_empty_idt();
	__asm__ volatile("ud2");
	print_str("triple-fault: survived\n");
	halt_forever();
}

/*
 * reset-storm: what Linux does when a reset seems not to take: ask again,
 * forever. The VMM must stop the vCPU at the first request, so neither a
 * second request nor the line after it may ever be seen.
 */
static __noreturn void scenario_reset_storm(void)
{
	print_str("reset-storm: first\n");
	cpu_cli();
	for (;;) {
		machine_reset_request();
		print_str("reset-storm: again\n");
	}
}

static __noreturn void scenario_halt_forever(void)
{
	print_str("halting\n");
	halt_forever();
}

/* ---- dispatch ------------------------------------------------------------------- */

static __noreturn void scenario_unknown(const char *name, size_t len)
{
	print_str("unknown test: ");
	print_mem(name, len);
	print_str("\n");
	machine_reset();
}

void scenario_run(const char *cmdline)
{
	size_t prefix = sizeof(COUNT_PREFIX) - 1, bench_prefix = sizeof(BENCH_PREFIX) - 1;
	size_t touch_prefix = sizeof(TOUCH_PREFIX) - 1;
	const char *name = DEFAULT_SCENARIO;
	size_t len = strlen(DEFAULT_SCENARIO);
	uint32_t n;

	cmdline_get(cmdline, "ember.test", &name, &len);
	if (str_equals(name, len, "hello"))
		scenario_hello();
	if (str_equals(name, len, "cpuid"))
		scenario_cpuid();
	if (str_equals(name, len, "echo"))
		scenario_echo();
	if (len > prefix && memcmp(name, COUNT_PREFIX, prefix) == 0 &&
	    parse_u32(name + prefix, len - prefix, &n))
		scenario_count(n);
	if (len > touch_prefix && memcmp(name, TOUCH_PREFIX, touch_prefix) == 0 &&
	    parse_u32(name + touch_prefix, len - touch_prefix, &n))
		scenario_touch(n);
	if (str_equals(name, len, "ctrl-alt-del"))
		scenario_ctrl_alt_del();
	if (str_equals(name, len, "virtio-list"))
		scenario_virtio_list(cmdline);
	if (str_equals(name, len, "blk"))
		scenario_blk(cmdline);
	if (str_equals(name, len, "rng"))
		scenario_rng(cmdline);
	if (str_equals(name, len, "pmem"))
		scenario_pmem(cmdline);
	if (str_equals(name, len, "mem"))
		scenario_mem(cmdline);
	if (str_equals(name, len, "mem-snap"))
		scenario_mem_snap(cmdline);
	if (str_equals(name, len, "balloon"))
		scenario_balloon(cmdline);
	if (str_equals(name, len, "hostile"))
		scenario_hostile(cmdline);
	if (str_equals(name, len, "log-flood"))
		scenario_log_flood(cmdline);
	if (str_equals(name, len, "net"))
		scenario_net(cmdline);
	if (str_equals(name, len, "mmds"))
		scenario_mmds(cmdline);
	if (str_equals(name, len, "vsock"))
		scenario_vsock(cmdline);
	if (str_equals(name, len, "blk-bench"))
		scenario_blk_bench(cmdline, BENCH_DEFAULT_N);
	if (len > bench_prefix && memcmp(name, BENCH_PREFIX, bench_prefix) == 0 &&
	    parse_u32(name + bench_prefix, len - bench_prefix, &n) && n > 0)
		scenario_blk_bench(cmdline, n);
	if (str_equals(name, len, "triple-fault"))
		scenario_triple_fault();
	if (str_equals(name, len, "reset-storm"))
		scenario_reset_storm();
	if (str_equals(name, len, "halt-forever"))
		scenario_halt_forever();
	if (str_equals(name, len, "vmgenid"))
		scenario_vmgenid();
	scenario_unknown(name, len);
}
