/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The memory file of a snapshot: guest RAM laid out as in guest_mem (region
 * after region, in file-offset order), mem->size bytes long, sparse.
 *
 * Full: every page that holds anything but zeroes is written; the others are
 * holes, which read back as zeroes. A fresh VM's memfd is walked with
 * SEEK_DATA/SEEK_HOLE, so pages the guest never touched are not even read.
 *
 * Diff: exactly the pages dirtied since the last snapshot (or since boot or
 * load), zero or not, at their offsets; everything else is a hole. Merging a
 * Diff onto its base means copying the Diff's data extents (SEEK_DATA) over
 * the base, as Firecracker's rebase-snap does.
 *
 * A VM with virtio-mem (memory hotplug) has its hotplug region after RAM:
 * the file is mem->size + region_size bytes, the region at offset
 * mem->size, holding the plugged blocks only (holes elsewhere). Full writes
 * their non-zero pages; Diff writes every plugged block whole, a superset of
 * the pages dirtied in it (the dirty log covers the RAM slots only), so that a
 * Diff merged onto its base still carries every plugged block. A VM without
 * the device has exactly the RAM layout above.
 */
#ifndef EMBER_SNAPSHOT_MEM_H
#define EMBER_SNAPSHOT_MEM_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/mem/guest_mem.h"
#include "vmm/kvm/kvm_vm.h"
#include "devices/virtio/mem.h"

/* Full memory file into @fd (empty, opened for writing). Bytes written, or -errno. */
int64_t snapshot_mem_write_full(const struct guest_mem *mem, int fd);

/* The pages set in @bitmap (one bit per page, file order) into @fd. Bytes written, or -errno. */
int64_t snapshot_mem_write_pages(const struct guest_mem *mem, int fd, const uint64_t *bitmap);

/*
 * The plugged blocks of virtio-mem @d at @file_offset + their region offset
 * in @fd (already holding RAM), the file extended to the region's end: all
 * of each block with @all (Diff), else its non-zero pages. Bytes written, or
 * -errno.
 */
int64_t snapshot_mem_write_hotplug(struct mem_dev *d, int fd, uint64_t file_offset, bool all);

/*
 * The pages dirtied since the last call: KVM's dirty log of every memory
 * slot (guest writes; the slots must have KVM_MEM_LOG_DIRTY_PAGES) OR'ed
 * with the pages the VMM wrote (guest_mem vmm_dirty). Both are consumed.
 * @bitmap has guest_mem_bitmap_words() words, zeroed by the caller. 0 or -errno.
 */
int snapshot_mem_take_dirty(const struct guest_mem *mem, struct kvm_vm *vm, uint64_t *bitmap);

#endif
