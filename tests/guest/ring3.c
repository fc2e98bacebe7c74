// SPDX-License-Identifier: Apache-2.0
#include "io.h"
#include "paging.h"
#include "reset.h"
#include "ring3.h"
#include "traps.h"

#define CR4_TSD	 (1UL << 2)  /* RDTSC only at CPL 0 */
#define CR4_SMEP (1UL << 20) /* no kernel execution from user pages */
#define CR4_SMAP (1UL << 21) /* no kernel data access to user pages */

#define VECTOR_UD	      6
#define TSS_TYPE_AVAILABLE_64 0x89 /* present, DPL 0, available 64-bit TSS */
#define KERNEL_STACK_SIZE     8192

/* 64-bit task state segment (Intel SDM vol. 3, 8.7). */
struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __packed;

_Static_assert(sizeof(struct tss64) == 104, "the 64-bit TSS is 104 bytes");

extern uint64_t gdt_tss[2];		/* entry.S */
extern const char ring3_exit_ud2[];	/* ring3_entry.S */
extern const char startup_32[], _end[]; /* guest.ld */

__noreturn void ring3_enter(ring3_fn fn, uint64_t arg, void *stack_top); /* ring3_entry.S */

/* Where exceptions from ring 3, ring3_exit() included, arrive (TSS RSP0). */
static uint8_t kernel_stack[KERNEL_STACK_SIZE] __aligned(16) __noinit;
static struct tss64 tss;
static ring3_exit_fn exit_fn;

static void gdt_set_tss(const struct tss64 *t)
{
	uint64_t base = (uint64_t)t, limit = sizeof(*t) - 1;

	gdt_tss[0] = (limit & 0xffff) | (base & 0xffffff) << 16 |
		     (uint64_t)TSS_TYPE_AVAILABLE_64 << 40 | ((limit >> 16) & 0xf) << 48 |
		     ((base >> 24) & 0xff) << 56;
	gdt_tss[1] = base >> 32;
}

static uint64_t read_cr4(void)
{
	uint64_t val;

	__asm__ volatile("mov %%cr4, %0" : "=r"(val));
	return val;
}

static void write_cr4(uint64_t val)
{
	__asm__ volatile("mov %0, %%cr4" : : "r"(val) : "memory");
}

/* Exception hook: #UD from ring 3 at ring3_exit_ud2 is ring3_exit(); nothing else is ours. */
static bool ring3_trap(const struct trap_frame *f)
{
	if (f->vector != VECTOR_UD || (f->cs & 3) != 3 || f->rip != (uint64_t)ring3_exit_ud2 ||
	    !exit_fn)
		return false;
	exit_fn(f->rdi);
	/* on_exit functions end the machine; if one does not, do it for it. */
	machine_reset();
}

void ring3_init(void)
{
	tss.rsp[0] = (uint64_t)(kernel_stack + sizeof(kernel_stack));
	tss.iomap_base = sizeof(tss); /* no I/O bitmap: every port is closed to ring 3 */
	gdt_set_tss(&tss);
	__asm__ volatile("ltr %w0" : : "r"(KERNEL_TSS) : "memory");

	traps_set_user_hook(ring3_trap);
	write_cr4(read_cr4() & ~(CR4_TSD | CR4_SMEP | CR4_SMAP));
	paging_allow_user((uint64_t)startup_32, (uint64_t)(_end - startup_32));
}

void ring3_run(ring3_fn fn, uint64_t arg, void *stack_top, ring3_exit_fn on_exit)
{
	exit_fn = on_exit;
	ring3_enter(fn, arg, stack_top);
}
