// SPDX-License-Identifier: Apache-2.0
#include "pic.h"
#include "print.h"
#include "reset.h"
#include "traps.h"

#define KERNEL_CS      0x10
#define TRAP_STUB_SIZE 16
#define GATE_INTERRUPT 0x8e /* present, DPL 0, 64-bit interrupt gate (IF cleared) */

struct idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_high;
	uint32_t reserved;
} __packed;

struct desc_ptr {
	uint16_t limit;
	uint64_t base;
} __packed;

_Static_assert(sizeof(struct idt_gate) == 16, "64-bit IDT gates are 16 bytes");

extern const char trap_stubs[];

static struct idt_gate idt[NR_STUB_VECTORS];
static irq_handler_t irq_handlers[NR_IRQS];
static user_trap_hook_t user_trap_hook;

static void idt_set_gate(unsigned int vector, uint64_t handler)
{
	struct idt_gate *g = &idt[vector];

	g->offset_low = (uint16_t)handler;
	g->selector = KERNEL_CS;
	g->ist = 0;
	g->type_attr = GATE_INTERRUPT;
	g->offset_mid = (uint16_t)(handler >> 16);
	g->offset_high = (uint32_t)(handler >> 32);
	g->reserved = 0;
}

static void load_idt(const void *base, uint16_t limit)
{
	struct desc_ptr ptr = {.limit = limit, .base = (uint64_t)base};

	__asm__ volatile("lidt %0" : : "m"(ptr) : "memory");
}

void traps_init(void)
{
	unsigned int v;

	for (v = 0; v < NR_STUB_VECTORS; v++)
		idt_set_gate(v, (uint64_t)trap_stubs + v * TRAP_STUB_SIZE);
	load_idt(idt, sizeof(idt) - 1);
}

void traps_set_user_hook(user_trap_hook_t hook)
{
	user_trap_hook = hook;
}

void traps_load_empty_idt(void)
{
	load_idt(NULL, 0);
}

void irq_set_handler(unsigned int irq, irq_handler_t handler)
{
	if (irq < NR_IRQS)
		irq_handlers[irq] = handler;
}

static void irq_dispatch(unsigned int irq)
{
	if (pic_is_spurious(irq))
		return;
	if (irq_handlers[irq])
		irq_handlers[irq]();
	pic_eoi(irq);
}

/* An exception means the guest itself is broken: say where, then reset. */
static __noreturn void exception_panic(const struct trap_frame *f)
{
	print_str("panic: exception ");
	print_dec(f->vector);
	print_str(" error ");
	print_hex(f->error_code);
	print_str(" at rip ");
	print_hex(f->rip);
	print_str("\n");
	machine_reset();
}

void trap_dispatch(struct trap_frame *frame)
{
	if (frame->vector >= IRQ_VECTOR_BASE && frame->vector < IRQ_VECTOR_BASE + NR_IRQS)
		irq_dispatch((unsigned int)(frame->vector - IRQ_VECTOR_BASE));
	else if (!((frame->cs & 3) == 3 && user_trap_hook && user_trap_hook(frame)))
		exception_panic(frame);
}
