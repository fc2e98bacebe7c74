/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The test scenarios, chosen with ember.test=<name> on the command line
 * (default hello). Every scenario ends in a machine reset, a triple fault or
 * a halt that never ends; the README lists what each one prints.
 */
#ifndef GUEST_SCENARIOS_H
#define GUEST_SCENARIOS_H

#include "types.h"

__noreturn void scenario_run(const char *cmdline);

#endif
