/* SPDX-License-Identifier: Apache-2.0 */
/* Port I/O, MMIO and the few privileged instructions the guest needs. */
#ifndef GUEST_IO_H
#define GUEST_IO_H

#include "types.h"

static inline void outb(uint8_t val, uint16_t port)
{
	__asm__ volatile("outb %0, %1" : : "a"(val), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t val;

	__asm__ volatile("inb %1, %0" : "=a"(val) : "Nd"(port));
	return val;
}

/* One MMIO store the VMM sees as a single 1-byte write (no merging, no reordering). */
static inline void mmio_write8(uint64_t addr, uint8_t val)
{
	__asm__ volatile("movb %0, (%1)" : : "q"(val), "r"(addr) : "memory");
}

/* 32-bit MMIO accesses, as single instructions the VMM sees whole (virtio-mmio registers). */
static inline uint32_t mmio_read32(uint64_t addr)
{
	uint32_t val;

	__asm__ volatile("movl (%1), %0" : "=r"(val) : "r"(addr) : "memory");
	return val;
}

static inline void mmio_write32(uint64_t addr, uint32_t val)
{
	__asm__ volatile("movl %0, (%1)" : : "r"(val), "r"(addr) : "memory");
}

/*
 * Compiler barrier. Enough between ring stores (or ring loads) shared with
 * the VMM: x86 orders stores with stores and loads with loads, and an
 * uncached MMIO store is not reordered with earlier stores (Linux's
 * virt_wmb()/virt_rmb() on x86).
 */
static inline void barrier(void)
{
	__asm__ volatile("" : : : "memory");
}

static inline void cpu_cli(void)
{
	__asm__ volatile("cli" : : : "memory");
}

/*
 * Enable interrupts and halt in one go: STI delays interrupt delivery by one
 * instruction, so an interrupt that became pending while IF was clear wakes
 * the HLT instead of being taken before it (the classic lost-wakeup race).
 */
static inline void cpu_sti_hlt(void)
{
	__asm__ volatile("sti; hlt" : : : "memory");
}

static inline void cpu_pause(void)
{
	__asm__ volatile("pause");
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline void write_cr3(uint64_t val)
{
	__asm__ volatile("mov %0, %%cr3" : : "r"(val) : "memory");
}

/* Never returns: interrupts off, HLT in a loop (an NMI would only resume the loop). */
static inline __noreturn void halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt" : : : "memory");
}

#endif
