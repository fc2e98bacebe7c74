// SPDX-License-Identifier: Apache-2.0
/*
 * Jailer messages. The jailer is a short-lived command-line tool, so errors
 * go to stderr as one plain line each, prefixed with the program name. As in
 * ember's log, control characters in a message (a path given on the command
 * line, a name read from the filesystem) come out as \xNN: one message, one
 * line.
 */
#include "jailer/jailer.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void jail_vline(const char *kind, const char *suffix, const char *fmt, va_list ap)
{
	char raw[1024], line[2048];
	int n = vsnprintf(raw, sizeof(raw), fmt, ap);

	if (n < 0)
		n = 0;
	else if ((size_t)n >= sizeof(raw))
		n = sizeof(raw) - 1;
	log_escape(line, sizeof(line), raw, (size_t)n);
	fprintf(stderr, "ember-jailer: %s: %s%s\n", kind, line, suffix);
}

void jail_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	jail_vline("error", "", fmt, ap);
	va_end(ap);
}

void jail_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	jail_vline("warning", "", fmt, ap);
	va_end(ap);
}

int jail_syserr(const char *fmt, ...)
{
	int err = errno;
	char suffix[160];
	va_list ap;

	snprintf(suffix, sizeof(suffix), ": %s", strerror(err));
	va_start(ap, fmt);
	jail_vline("error", suffix, fmt, ap);
	va_end(ap);
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
