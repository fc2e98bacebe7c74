// SPDX-License-Identifier: Apache-2.0
#include "vmm/base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static struct {
	pthread_mutex_t lock;
	enum log_level level;
	bool show_level, show_origin;
	int fd; /* 2 (stderr) or an opened log file */
	char id[65];
	char module[128]; /* "": no module filter */
} logger = {PTHREAD_MUTEX_INITIALIZER, LOG_INFO, false, false, 2, "anonymous-instance", ""};

static _Thread_local char thread_name[24] = "main";

static const char *const level_names[] = {"Off", "Error", "Warn", "Info", "Debug", "Trace"};

void log_reset(void)
{
	pthread_mutex_lock(&logger.lock);
	if (logger.fd > 2)
		close(logger.fd);
	logger.fd = 2;
	logger.level = LOG_INFO;
	logger.show_level = logger.show_origin = false;
	snprintf(logger.id, sizeof(logger.id), "anonymous-instance");
	logger.module[0] = '\0';
	pthread_mutex_unlock(&logger.lock);
}

void log_set_module(const char *module)
{
	pthread_mutex_lock(&logger.lock);
	snprintf(logger.module, sizeof(logger.module), "%s", module ? module : "");
	pthread_mutex_unlock(&logger.lock);
}

/*
 * Source folders -> the Rust module path of their Firecracker counterpart's
 * crate, so that a filter written for Firecracker selects the same part:
 * its devices live in the vmm crate ("vmm::devices::virtio::..."), its API
 * server and main() in the firecracker crate ("firecracker::api_server").
 * Every other path keeps its folders ("vmm/kvm/vcpu.c": "vmm::kvm::vcpu").
 */
static const struct {
	const char *dir;
	const char *module;
} module_roots[] = {
    {"devices/", "vmm::devices::"},
    {"api/", "firecracker::api_server::"},
    {"vmm/main.c", "firecracker::main"},
};

size_t log_module_path(char *dst, size_t cap, const char *file)
{
	const char *rest = file;
	size_t n = 0;

	if (!cap)
		return 0;
	dst[0] = '\0';
	for (size_t i = 0; i < sizeof(module_roots) / sizeof(module_roots[0]); i++) {
		size_t len = strlen(module_roots[i].dir);

		if (!strncmp(file, module_roots[i].dir, len)) {
			n = (size_t)snprintf(dst, cap, "%s", module_roots[i].module);
			n = n < cap ? n : cap - 1;
			rest = file + len;
			break;
		}
	}
	/* The rest of the path, '/' as "::", without the file's extension. */
	for (const char *c = rest; *c && *c != '.'; c++) {
		size_t len = *c == '/' ? 2 : 1;

		if (n + len >= cap)
			break;
		memcpy(dst + n, *c == '/' ? "::" : c, len);
		n += len;
	}
	dst[n] = '\0';
	return n;
}

static bool module_matches(const char *file, const char *prefix)
{
	char path[128];

	log_module_path(path, sizeof(path), file);
	return !strncmp(path, prefix, strlen(prefix));
}

void log_set_level(enum log_level level)
{
	logger.level = level;
}

enum log_level log_get_level(void)
{
	return logger.level;
}

void log_set_show(bool show_level, bool show_origin)
{
	logger.show_level = show_level;
	logger.show_origin = show_origin;
}

void log_set_instance_id(const char *id)
{
	pthread_mutex_lock(&logger.lock);
	snprintf(logger.id, sizeof(logger.id), "%s", id);
	pthread_mutex_unlock(&logger.lock);
}

int log_set_path(const char *path)
{
	/*
	 * As Firecracker opens it: read-write, so a FIFO nobody reads yet opens
	 * (write-only gives ENXIO; Firecracker's Go SDK creates the FIFO and
	 * starts reading it only later), and O_NONBLOCK, so a FIFO without a
	 * reader never stalls the VMM.
	 */
	int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	pthread_mutex_lock(&logger.lock);
	if (logger.fd > 2)
		close(logger.fd);
	logger.fd = fd;
	pthread_mutex_unlock(&logger.lock);
	return 0;
}

void log_set_thread_name(const char *name)
{
	snprintf(thread_name, sizeof(thread_name), "%s", name);
}

int log_level_parse(const char *s, enum log_level *out)
{
	static const struct {
		const char *name;
		enum log_level level;
	} names[] = {
	    {"Off", LOG_OFF},	{"Error", LOG_ERROR}, {"Warning", LOG_WARN}, {"Warn", LOG_WARN},
	    {"Info", LOG_INFO}, {"Debug", LOG_DEBUG}, {"Trace", LOG_TRACE},
	};

	/* Firecracker accepts the level names case-insensitively. */
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcasecmp(s, names[i].name)) {
			*out = names[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

const char *log_level_name(enum log_level level)
{
	if ((unsigned int)level >= sizeof(level_names) / sizeof(level_names[0]))
		return "?";
	return level_names[level];
}

size_t log_escape(char *dst, size_t cap, const char *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	if (!cap)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c >= 0x20 && c != 0x7f) {
			if (n + 1 >= cap)
				break;
			dst[n++] = (char)c;
		} else {
			if (n + 4 >= cap)
				break;
			dst[n++] = '\\';
			dst[n++] = 'x';
			dst[n++] = hex[c >> 4];
			dst[n++] = hex[c & 0xf];
		}
	}
	dst[n] = '\0';
	return n;
}

/*
 * Every line is escaped as a whole, just before it is written (log_escape):
 * resource ids, paths and URLs in messages come from API clients (and from
 * what a guest makes them send), so a raw newline in one would forge a log
 * line and an ESC would drive the terminal reading the log. Escaping the
 * formatted line here covers every message and every %s at once, the
 * instance id and thread name of the prefix included; a helper applied at
 * each call site that logs outside input would be one forgotten call away
 * from the same hole. No message of Ember's is meant to span lines.
 */
bool log_level_enabled(enum log_level level)
{
	return level != LOG_OFF && level <= logger.level;
}

void log_msg(enum log_level level, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, file, line, fmt, ap);
	va_end(ap);
}

void log_vmsg(enum log_level level, const char *file, int line, const char *fmt, va_list ap)
{
	char raw[1024], buf[2048];
	struct timespec ts;
	struct tm tm;
	int n, m;

	if (!log_level_enabled(level))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	pthread_mutex_lock(&logger.lock);
	if (logger.module[0] && !module_matches(file, logger.module)) {
		pthread_mutex_unlock(&logger.lock);
		return;
	}
	n = snprintf(raw, sizeof(raw), "%04d-%02d-%02dT%02d:%02d:%02d.%09ld [%s:%s",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     ts.tv_nsec, logger.id, thread_name);
	if (logger.show_level)
		n += snprintf(raw + n, sizeof(raw) - n, ":%s", level_names[level]);
	if (logger.show_origin)
		n += snprintf(raw + n, sizeof(raw) - n, ":%s:%d", file, line);
	n += snprintf(raw + n, sizeof(raw) - n, "] ");
	m = vsnprintf(raw + n, sizeof(raw) - n, fmt, ap);
	n = (m < 0 || (size_t)(n + m) >= sizeof(raw)) ? (int)sizeof(raw) - 1 : n + m;
	/* Room is left for the newline, the one control character written as it is. */
	n = (int)log_escape(buf, sizeof(buf) - 1, raw, (size_t)n);
	buf[n++] = '\n';
	/* One write per line keeps lines whole across threads and processes. */
	if (write(logger.fd, buf, n) < 0) {
		/* Nowhere left to report a logging failure. */
	}
	pthread_mutex_unlock(&logger.lock);
}

void log_write_raw(const char *buf, size_t len)
{
	/* From a signal handler: no lock, so read the sink atomically instead. */
	int fd = __atomic_load_n(&logger.fd, __ATOMIC_RELAXED);

	if (write(fd, buf, len) < 0) {
		/* Nowhere left to report a logging failure. */
	}
}
