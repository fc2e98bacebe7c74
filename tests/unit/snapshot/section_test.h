// SPDX-License-Identifier: Apache-2.0
/*
 * What the unit tests of the snapshot's optional sections share: encoding a
 * configuration through a section's encoder into a whole vmstate file and
 * finding the section in it again. Include after <cmocka.h>.
 */
#ifndef TESTS_UNIT_SNAPSHOT_SECTION_TEST_H
#define TESTS_UNIT_SNAPSHOT_SECTION_TEST_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/base/vmstate.h"
#include "vmm/config/vmm_config.h"

typedef void section_encode_fn(const struct vm_config *cfg, struct vmstate_writer *w);

/*
 * Encode @cfg with @encode into @w (a whole file, opened as @f) and find the
 * section @tag in it (@r); false if @encode wrote none.
 */
static inline bool section_encode(section_encode_fn *encode, uint32_t tag, struct vm_config *cfg,
				  struct vmstate_writer *w, struct vmstate_file *f,
				  struct vmstate_reader *r)
{
	char err[128];

	vmstate_writer_init(w);
	encode(cfg, w);
	assert_int_equal(vmstate_writer_finish(w), 0);
	assert_int_equal(vmstate_open(f, w->buf, w->len, err, sizeof(err)), 0);
	return vmstate_find(f, tag, 0, r);
}

#endif
