/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kernel command line parameters: words separated by blanks, each either
 * "name" or "name=value". As in Linux, a parameter given twice takes its
 * last value. Quoting is not supported (no test needs it).
 */
#ifndef GUEST_CMDLINE_H
#define GUEST_CMDLINE_H

#include "types.h"

/* Is "name" present, bare or as "name=..."? */
bool cmdline_has(const char *cmdline, const char *name);

/*
 * Find "name=value"; on success point @value at the value inside @cmdline
 * and set @len to its length (may be 0).
 */
bool cmdline_get(const char *cmdline, const char *name, const char **value, size_t *len);

/*
 * Parameters that may repeat (virtio_mmio.device=...): find the next
 * "name=value" at or after *@cursor (start with the command line itself),
 * point @value/@len at the value and move *@cursor past it. False when
 * there is none left.
 */
bool cmdline_next(const char **cursor, const char *name, const char **value, size_t *len);

#endif
