/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging in Firecracker's format:
 *   2026-11-23T21:10:00.123456789 [anonymous-instance:main] message
 * with the level and origin added when enabled (PUT /logger). Thread safe.
 */
#ifndef EMBER_LOG_H
#define EMBER_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_OFF = 0, LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE };

/* Defaults: level Info, to stderr, no level/origin shown. */
void log_reset(void);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_set_show(bool show_level, bool show_origin);
void log_set_instance_id(const char *id);
/* Redirect to @path (file or FIFO, created if missing, opened read-write for
 * append). 0 or -errno. */
int log_set_path(const char *path);
/*
 * Log only records whose module path starts with @module (PUT /logger's
 * "module", a plain prefix as in Firecracker; NULL or "" logs everything).
 * A record's module path is its source file's, named like the Rust module
 * of the Firecracker part it corresponds to, so Firecracker's filters carry
 * over at the crate and subsystem level:
 *   devices/virtio/block.c      vmm::devices::virtio::block
 *   devices/legacy/serial.c     vmm::devices::legacy::serial
 *   api/api_server.c            firecracker::api_server::api_server
 *   vmm/main.c                  firecracker::main
 *   vmm/kvm/vcpu.c              vmm::kvm::vcpu (any other path: its folders)
 * ("vmm" selects the VMM and its devices, "firecracker" the API server and
 * main(), "vmm::devices::virtio" the virtio devices, as there.)
 */
void log_set_module(const char *module);
/* @file's module path into @dst (NUL-terminated, cut to @cap); its length. */
size_t log_module_path(char *dst, size_t cap, const char *file);
/* Name shown for the calling thread ("main", "api", "vcpu 0", ...). */
void log_set_thread_name(const char *name);
/* Parse "Error"/"Warning"/"Info"/"Debug"/"Trace"/"Off" (Firecracker spelling). */
int log_level_parse(const char *s, enum log_level *out);
const char *log_level_name(enum log_level level);

/*
 * Copy @len bytes of @src to @dst (NUL-terminated, at most @cap - 1 bytes),
 * each control character (below 0x20, and 0x7f) as "\xNN". Stops before an
 * escape that would not fit whole. Returns the length written. log_msg()
 * passes every line through it, so no message can forge a line.
 */
size_t log_escape(char *dst, size_t cap, const char *src, size_t len);

void log_msg(enum log_level level, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void log_vmsg(enum log_level level, const char *file, int line, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
/* @len bytes as they are to the log sink: async-signal-safe (no lock, no formatting). */
void log_write_raw(const char *buf, size_t len);
/* Whether a record of @level passes the level filter. */
bool log_level_enabled(enum log_level level);

/*
 * Rate limit per call site, Firecracker's (logger/rate_limited.rs): each
 * log_error/log_warn/log_info call site logs at most LOG_LIMIT_BURST lines
 * back to back, then one per LOG_LIMIT_PERIOD_MS; lines over that are
 * dropped and counted in logger.rate_limited_log_count, and the site's next
 * line is preceded by "N messages were suppressed due to rate limiting"
 * (Warn). So a guest that triggers a message in a loop cannot flood the log,
 * and one flooding site does not silence the others. Records filtered out by
 * level do not count; records the module filter drops do (as there).
 * The *_unrestricted forms are for host-only paths, where every line is
 * wanted (the API server's request lines, start-up, exit); log_debug is not
 * limited either.
 */
#define LOG_LIMIT_BURST	    10
#define LOG_LIMIT_REFILL_MS 5000
#define LOG_LIMIT_PERIOD_MS (LOG_LIMIT_REFILL_MS / LOG_LIMIT_BURST)

/* One call site's state: zero-initialised (a static in the macros below). */
struct log_limiter {
	uint64_t state; /* suppressed count (24 bits) : theoretical arrival time, ms (40 bits) */
};

/*
 * Whether a line at @now_ms (any monotonic millisecond clock) may go out.
 * True: *@suppressed is how many were dropped since the last one that went
 * out. Lock-free, for any thread.
 */
bool log_limiter_allow(struct log_limiter *lim, uint64_t now_ms, uint64_t *suppressed);
void log_msg_limited(struct log_limiter *lim, enum log_level level, const char *file, int line,
		     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#define LOG_LIMITED(level, ...)                                                                    \
	do {                                                                                       \
		static struct log_limiter log_site_limiter_;                                       \
		log_msg_limited(&log_site_limiter_, level, __FILE__, __LINE__, __VA_ARGS__);       \
	} while (0)

#define log_error(...) LOG_LIMITED(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  LOG_LIMITED(LOG_WARN, __VA_ARGS__)
#define log_info(...)  LOG_LIMITED(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__)

#define log_error_unrestricted(...) log_msg(LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define log_warn_unrestricted(...)  log_msg(LOG_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define log_info_unrestricted(...)  log_msg(LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)

#endif
