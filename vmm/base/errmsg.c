// SPDX-License-Identifier: Apache-2.0
#include "vmm/base/errmsg.h"

#include <stdarg.h>
#include <stdio.h>

int err_set(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}
