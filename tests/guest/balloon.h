/* SPDX-License-Identifier: Apache-2.0 */
/*
 * balloon: a polling virtio-balloon driver scenario (balloon.c). It inflates
 * pages of its own (and shows they come back zeroed, i.e. were given back to
 * the host), offers a buffer of too many frames (refused, page untouched),
 * deflates and reuses the pages, reports "actual", hands the device one
 * statistics buffer, then waits (bounded) for the host to change the target,
 * prints it and inflates its pages once more.
 */
#ifndef GUEST_BALLOON_H
#define GUEST_BALLOON_H

#include "types.h"

__noreturn void scenario_balloon(const char *cmdline);

#endif
