/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The "CPUT" section of a snapshot: the custom CPU template (PUT
 * /cpu-config) the VM booted with, so that a restored VM keeps it in its
 * configuration (and a snapshot of it records it again) and a restore can
 * check the host has what the template exposes. A static template is the
 * name in the "CONF" section. Absent without a custom template, and
 * optional on load (older snapshots have none).
 */
#ifndef EMBER_SNAPSHOT_CPU_TEMPLATE_H
#define EMBER_SNAPSHOT_CPU_TEMPLATE_H

#include "vmm/base/vmstate.h"
#include "vmm/config/vmm_config.h"

#define SNAPSHOT_CPUT_TAG VMSTATE_TAG('C', 'P', 'U', 'T')

/* Most entries of each list a section may hold (a template is small; the input is hostile). */
#define SNAPSHOT_CPUT_MAX_ENTRIES 1024

/* One "CPUT" section when @cfg has a custom template. Errors stay in the writer. */
void snapshot_cpu_template_encode(const struct vm_config *cfg, struct vmstate_writer *w);

/* Into @cfg->machine.cpu_config. 0, -EINVAL or -ENOMEM (nothing kept on error). */
int snapshot_cpu_template_decode(struct vmstate_reader *r, struct vm_config *cfg);

#endif
