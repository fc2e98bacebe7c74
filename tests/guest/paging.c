// SPDX-License-Identifier: Apache-2.0
#include "io.h"
#include "paging.h"

#define PTE_PRESENT (1UL << 0)
#define PTE_RW	    (1UL << 1)
#define PTE_USER    (1UL << 2)
#define PTE_PWT	    (1UL << 3)
#define PTE_PCD	    (1UL << 4)
#define PTE_PS	    (1UL << 7) /* in a PDE: 2 MiB page */

#define ENTRIES_PER_TABLE 512
#define PAGE_2M		  (2UL << 20)
#define PAGE_1G		  (1UL << 30)
#define PD_TABLES	  (PAGING_IDENTITY_LIMIT / PAGE_2M / ENTRIES_PER_TABLE)

static uint64_t pml4[ENTRIES_PER_TABLE] __aligned(4096);
static uint64_t pdpt[ENTRIES_PER_TABLE] __aligned(4096);
/* Every entry is written by paging_init(). */
static uint64_t pd[PD_TABLES][ENTRIES_PER_TABLE] __aligned(4096) __noinit;
/* paging_map_high()'s window; zeroed .bss. */
static uint64_t pd_high[ENTRIES_PER_TABLE] __aligned(4096);

/* The tables live in .bss, already zeroed; the kernel runs identity-mapped. */
void paging_init(void)
{
	unsigned int t, i;

	for (t = 0; t < PD_TABLES; t++) {
		for (i = 0; i < ENTRIES_PER_TABLE; i++) {
			uint64_t addr = ((uint64_t)t * ENTRIES_PER_TABLE + i) * PAGE_2M;
			uint64_t flags = PTE_PRESENT | PTE_RW | PTE_PS;

			if (addr >= PAGING_MMIO_START)
				flags |= PTE_PCD | PTE_PWT;
			pd[t][i] = addr | flags;
		}
		pdpt[t] = (uint64_t)pd[t] | PTE_PRESENT | PTE_RW;
	}
	pml4[0] = (uint64_t)pdpt | PTE_PRESENT | PTE_RW;
	write_cr3((uint64_t)pml4);
}

void paging_allow_user(uint64_t start, uint64_t len)
{
	uint64_t addr, end = start + len;

	if (end < start || end > PAGING_IDENTITY_LIMIT)
		end = PAGING_IDENTITY_LIMIT;
	for (addr = start & ~(PAGE_2M - 1); addr < end; addr += PAGE_2M) {
		pd[addr / PAGE_1G][(addr / PAGE_2M) % ENTRIES_PER_TABLE] |= PTE_USER;
		pdpt[addr / PAGE_1G] |= PTE_USER;
	}
	pml4[0] |= PTE_USER;
	write_cr3((uint64_t)pml4);
}

bool paging_map_high(uint64_t start, uint64_t len)
{
	uint64_t end = start + len, gb = start / PAGE_1G;

	if (start < PAGING_IDENTITY_LIMIT || !len || end < start || (end - 1) / PAGE_1G != gb ||
	    gb >= ENTRIES_PER_TABLE ||
	    (pdpt[gb] && pdpt[gb] != ((uint64_t)pd_high | PTE_PRESENT | PTE_RW)))
		return false;
	for (uint64_t addr = start & ~(PAGE_2M - 1); addr < end; addr += PAGE_2M)
		pd_high[(addr / PAGE_2M) % ENTRIES_PER_TABLE] =
		    addr | PTE_PRESENT | PTE_RW | PTE_PS;
	pdpt[gb] = (uint64_t)pd_high | PTE_PRESENT | PTE_RW;
	write_cr3((uint64_t)pml4);
	return true;
}
