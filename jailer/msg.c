// SPDX-License-Identifier: Apache-2.0
/*
 * Jailer messages. The jailer is a short-lived command-line tool, so errors
 * go to stderr as one plain line each, prefixed with the program name.
 */
#include "jailer/jailer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void jail_vmsg(const char *kind, const char *fmt, va_list ap)
{
	fprintf(stderr, "ember-jailer: %s: ", kind);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void jail_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	jail_vmsg("error", fmt, ap);
	va_end(ap);
}

void jail_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	jail_vmsg("warning", fmt, ap);
	va_end(ap);
}

int jail_syserr(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	fprintf(stderr, "ember-jailer: error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(err));
	return -err;
}

int jail_fmt_err(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (buf && len) {
		va_start(ap, fmt);
		vsnprintf(buf, len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}
