/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging in Firecracker's format:
 *   2026-11-23T21:10:00.123456789 [anonymous-instance:main] message
 * with the level and origin added when enabled (PUT /logger). Thread safe.
 */
#ifndef EMBER_LOG_H
#define EMBER_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_OFF = 0, LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE };

/* Defaults: level Info, to stderr, no level/origin shown. */
void log_reset(void);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_set_show(bool show_level, bool show_origin);
void log_set_instance_id(const char *id);
/* Redirect to @path (file or FIFO, opened for append). 0 or -errno. */
int log_set_path(const char *path);
/*
 * Log only records whose module path starts with @module (PUT /logger's
 * "module"; NULL or "" logs everything). A record's module path is its
 * source file's: "vmm/controller/controller.c" is "vmm::controller::controller".
 */
void log_set_module(const char *module);
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
/* @len bytes as they are to the log sink: async-signal-safe (no lock, no formatting). */
void log_write_raw(const char *buf, size_t len);

#define log_error(...) log_msg(LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__)

#endif
