/* SPDX-License-Identifier: Apache-2.0 */
/*
 * User-facing error details: functions that can fail in a way the user must
 * hear about take (char *err, size_t errlen) and fill it with this.
 */
#ifndef EMBER_ERRMSG_H
#define EMBER_ERRMSG_H

#include <stddef.h>

/* Format into @err (if any) and return @ret, so callers can `return err_set(...)`. */
int err_set(char *err, size_t errlen, int ret, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
