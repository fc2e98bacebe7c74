/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Configuration of one microVM, as the API and the config file describe it.
 * api/ fills these from JSON (and turns them back into JSON for GET); vmm/
 * only ever sees these structs. Strings are heap-allocated, NULL when unset.
 */
#ifndef EMBER_VMM_CONFIG_H
#define EMBER_VMM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "log.h"

#define VMM_MAX_VCPUS		32
#define VMM_DEFAULT_VCPUS	1
#define VMM_DEFAULT_MEM_MIB	128
#define VMM_CMDLINE_MAX		2048	/* bytes incl. NUL, like Firecracker */

/* Firecracker's default kernel command line (x86_64). */
#define VMM_DEFAULT_BOOT_ARGS                                                                      \
	"reboot=k panic=1 pci=off nomodule 8250.nr_uarts=0 i8042.noaux i8042.nomux "              \
	"i8042.dumbkbd swiotlb=noforce"

enum huge_pages { HUGE_PAGES_NONE = 0, HUGE_PAGES_2M };

struct machine_config {
	uint32_t vcpu_count;
	uint64_t mem_size_mib;
	bool smt;
	bool track_dirty_pages;
	enum huge_pages huge_pages;
	char *cpu_template;	/* deprecated static template name, NULL = None */
};

struct boot_source_config {
	char *kernel_image_path;
	char *initrd_path;
	char *boot_args;	/* NULL: VMM_DEFAULT_BOOT_ARGS */
};

struct logger_config {
	char *log_path;
	enum log_level level;
	bool show_level;
	bool show_log_origin;
	char *module;
	/* In a PUT /logger request: the flag was given (else the current setting stays). */
	bool has_show_level, has_show_log_origin;
};

struct metrics_config {
	char *metrics_path;
};

struct serial_config {
	char *serial_out_path;	/* NULL: stdout */
};

struct vm_config {
	struct machine_config machine;
	bool has_boot_source;
	struct boot_source_config boot_source;
	bool has_logger;
	struct logger_config logger;
	bool has_metrics;
	struct metrics_config metrics;
	bool has_serial;
	struct serial_config serial;
};

void vm_config_init(struct vm_config *cfg);	/* Firecracker defaults: 1 vCPU, 128 MiB */
void vm_config_free(struct vm_config *cfg);
int vm_config_copy(struct vm_config *dst, const struct vm_config *src);

void machine_config_free(struct machine_config *mc);
int machine_config_copy(struct machine_config *dst, const struct machine_config *src);
void boot_source_config_free(struct boot_source_config *bs);
int boot_source_config_copy(struct boot_source_config *dst, const struct boot_source_config *src);
void logger_config_free(struct logger_config *lc);
int logger_config_copy(struct logger_config *dst, const struct logger_config *src);
void metrics_config_free(struct metrics_config *mc);
int metrics_config_copy(struct metrics_config *dst, const struct metrics_config *src);
void serial_config_free(struct serial_config *sc);
int serial_config_copy(struct serial_config *dst, const struct serial_config *src);

#endif
