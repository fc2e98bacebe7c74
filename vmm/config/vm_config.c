// SPDX-License-Identifier: Apache-2.0
/*
 * Init, deep copy and free of the configuration structs. Every copy either
 * succeeds whole or leaves @dst empty (freed and zeroed), so a caller never
 * holds a half-copied config.
 */
#include "vmm/config/vmm_config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Duplicate an optional string: NULL stays NULL. */
static int dup_str(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

void machine_config_free(struct machine_config *mc)
{
	free(mc->cpu_template);
	mc->cpu_template = NULL;
	cpu_template_free(mc->cpu_config);
	mc->cpu_config = NULL;
}

int machine_config_copy(struct machine_config *dst, const struct machine_config *src)
{
	*dst = *src;
	dst->cpu_config = NULL;
	if (dup_str(&dst->cpu_template, src->cpu_template))
		return -ENOMEM;
	if (src->cpu_config) {
		dst->cpu_config = cpu_template_dup(src->cpu_config);
		if (!dst->cpu_config) {
			machine_config_free(dst);
			return -ENOMEM;
		}
	}
	return 0;
}

void boot_source_config_free(struct boot_source_config *bs)
{
	free(bs->kernel_image_path);
	free(bs->initrd_path);
	free(bs->boot_args);
	memset(bs, 0, sizeof(*bs));
}

int boot_source_config_copy(struct boot_source_config *dst, const struct boot_source_config *src)
{
	memset(dst, 0, sizeof(*dst));
	if (dup_str(&dst->kernel_image_path, src->kernel_image_path) ||
	    dup_str(&dst->initrd_path, src->initrd_path) ||
	    dup_str(&dst->boot_args, src->boot_args)) {
		boot_source_config_free(dst);
		return -ENOMEM;
	}
	return 0;
}

void logger_config_free(struct logger_config *lc)
{
	free(lc->log_path);
	free(lc->module);
	lc->log_path = NULL;
	lc->module = NULL;
}

int logger_config_copy(struct logger_config *dst, const struct logger_config *src)
{
	*dst = *src;
	dst->log_path = dst->module = NULL;
	if (dup_str(&dst->log_path, src->log_path) || dup_str(&dst->module, src->module)) {
		logger_config_free(dst);
		return -ENOMEM;
	}
	return 0;
}

void metrics_config_free(struct metrics_config *mc)
{
	free(mc->metrics_path);
	mc->metrics_path = NULL;
}

int metrics_config_copy(struct metrics_config *dst, const struct metrics_config *src)
{
	return dup_str(&dst->metrics_path, src->metrics_path);
}

void serial_config_free(struct serial_config *sc)
{
	free(sc->serial_out_path);
	sc->serial_out_path = NULL;
}

int serial_config_copy(struct serial_config *dst, const struct serial_config *src)
{
	*dst = *src;
	return dup_str(&dst->serial_out_path, src->serial_out_path);
}

void drive_config_free(struct drive_config *d)
{
	free(d->drive_id);
	free(d->path_on_host);
	free(d->partuuid);
	free(d->socket);
	d->drive_id = d->path_on_host = d->partuuid = d->socket = NULL;
}

int drive_config_copy(struct drive_config *dst, const struct drive_config *src)
{
	*dst = *src;
	dst->drive_id = dst->path_on_host = dst->partuuid = dst->socket = NULL;
	if (dup_str(&dst->drive_id, src->drive_id) ||
	    dup_str(&dst->path_on_host, src->path_on_host) ||
	    dup_str(&dst->partuuid, src->partuuid) || dup_str(&dst->socket, src->socket)) {
		drive_config_free(dst);
		return -ENOMEM;
	}
	return 0;
}

void net_config_free(struct net_config *n)
{
	free(n->iface_id);
	free(n->host_dev_name);
	n->iface_id = n->host_dev_name = NULL;
}

int net_config_copy(struct net_config *dst, const struct net_config *src)
{
	*dst = *src;
	dst->iface_id = dst->host_dev_name = NULL;
	if (dup_str(&dst->iface_id, src->iface_id) ||
	    dup_str(&dst->host_dev_name, src->host_dev_name)) {
		net_config_free(dst);
		return -ENOMEM;
	}
	return 0;
}

void vsock_config_free(struct vsock_config *v)
{
	free(v->vsock_id);
	free(v->uds_path);
	v->vsock_id = v->uds_path = NULL;
}

int vsock_config_copy(struct vsock_config *dst, const struct vsock_config *src)
{
	*dst = *src;
	dst->vsock_id = dst->uds_path = NULL;
	if (dup_str(&dst->vsock_id, src->vsock_id) || dup_str(&dst->uds_path, src->uds_path)) {
		vsock_config_free(dst);
		return -ENOMEM;
	}
	return 0;
}

void pmem_config_free(struct pmem_config *p)
{
	free(p->id);
	free(p->path_on_host);
	p->id = p->path_on_host = NULL;
}

int pmem_config_copy(struct pmem_config *dst, const struct pmem_config *src)
{
	*dst = *src;
	if (dup_str(&dst->id, src->id) || dup_str(&dst->path_on_host, src->path_on_host)) {
		pmem_config_free(dst);
		return -ENOMEM;
	}
	return 0;
}

void pmem_update_free(struct pmem_update *u)
{
	free(u->id);
	u->id = NULL;
}

static void pmems_free(struct pmem_config *pmems, unsigned int nr)
{
	for (unsigned int i = 0; i < nr; i++)
		pmem_config_free(&pmems[i]);
	free(pmems);
}

static int pmems_copy(struct pmem_config **dst, const struct pmem_config *src, unsigned int nr)
{
	*dst = nr ? calloc(nr, sizeof(**dst)) : NULL;
	if (nr && !*dst)
		return -ENOMEM;
	for (unsigned int i = 0; i < nr; i++) {
		if (pmem_config_copy(&(*dst)[i], &src[i])) {
			pmems_free(*dst, i);
			*dst = NULL;
			return -ENOMEM;
		}
	}
	return 0;
}

static void drives_free(struct drive_config *drives, unsigned int nr)
{
	for (unsigned int i = 0; i < nr; i++)
		drive_config_free(&drives[i]);
	free(drives);
}

static void nets_free(struct net_config *nets, unsigned int nr)
{
	for (unsigned int i = 0; i < nr; i++)
		net_config_free(&nets[i]);
	free(nets);
}

/* Deep copy of @nr drives; *@dst is NULL when @nr is 0. */
static int drives_copy(struct drive_config **dst, const struct drive_config *src, unsigned int nr)
{
	*dst = nr ? calloc(nr, sizeof(**dst)) : NULL;
	if (nr && !*dst)
		return -ENOMEM;
	for (unsigned int i = 0; i < nr; i++) {
		if (drive_config_copy(&(*dst)[i], &src[i])) {
			drives_free(*dst, i);
			*dst = NULL;
			return -ENOMEM;
		}
	}
	return 0;
}

static int nets_copy(struct net_config **dst, const struct net_config *src, unsigned int nr)
{
	*dst = nr ? calloc(nr, sizeof(**dst)) : NULL;
	if (nr && !*dst)
		return -ENOMEM;
	for (unsigned int i = 0; i < nr; i++) {
		if (net_config_copy(&(*dst)[i], &src[i])) {
			nets_free(*dst, i);
			*dst = NULL;
			return -ENOMEM;
		}
	}
	return 0;
}

/* The device lists and the vsock of @src into @dst (which owns none yet). */
static int device_configs_copy(struct vm_config *dst, const struct vm_config *src)
{
	if (drives_copy(&dst->drives, src->drives, src->nr_drives))
		return -ENOMEM;
	dst->nr_drives = src->nr_drives;
	if (nets_copy(&dst->nets, src->nets, src->nr_nets))
		return -ENOMEM;
	dst->nr_nets = src->nr_nets;
	if (pmems_copy(&dst->pmems, src->pmems, src->nr_pmems))
		return -ENOMEM;
	dst->nr_pmems = src->nr_pmems;
	return vsock_config_copy(&dst->vsock, &src->vsock);
}

void vm_config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->machine.vcpu_count = VMM_DEFAULT_VCPUS;
	cfg->machine.mem_size_mib = VMM_DEFAULT_MEM_MIB;
	cfg->machine.huge_pages = HUGE_PAGES_NONE;
	cfg->logger.level = LOG_INFO;
}

void mmds_config_free(struct mmds_config *mc)
{
	for (unsigned int i = 0; i < mc->nr_network_interfaces; i++)
		free(mc->network_interfaces[i]);
	free(mc->network_interfaces);
	mc->network_interfaces = NULL;
	mc->nr_network_interfaces = 0;
}

int mmds_config_copy(struct mmds_config *dst, const struct mmds_config *src)
{
	unsigned int n = src->nr_network_interfaces;

	*dst = *src;
	dst->network_interfaces = NULL;
	dst->nr_network_interfaces = 0;
	if (!n)
		return 0;
	dst->network_interfaces = calloc(n, sizeof(*dst->network_interfaces));
	if (!dst->network_interfaces)
		return -ENOMEM;
	for (; dst->nr_network_interfaces < n; dst->nr_network_interfaces++) {
		char *id = strdup(src->network_interfaces[dst->nr_network_interfaces]);

		if (!id) {
			mmds_config_free(dst);
			return -ENOMEM;
		}
		dst->network_interfaces[dst->nr_network_interfaces] = id;
	}
	return 0;
}

void vm_config_free(struct vm_config *cfg)
{
	machine_config_free(&cfg->machine);
	boot_source_config_free(&cfg->boot_source);
	logger_config_free(&cfg->logger);
	metrics_config_free(&cfg->metrics);
	serial_config_free(&cfg->serial);
	drives_free(cfg->drives, cfg->nr_drives);
	nets_free(cfg->nets, cfg->nr_nets);
	pmems_free(cfg->pmems, cfg->nr_pmems);
	vsock_config_free(&cfg->vsock);
	mmds_config_free(&cfg->mmds_config);
	vm_config_init(cfg);
}

int vm_config_copy(struct vm_config *dst, const struct vm_config *src)
{
	*dst = *src;
	/* Nothing in @dst may alias @src, even on the error path. */
	dst->machine.cpu_template = NULL;
	dst->machine.cpu_config = NULL;
	memset(&dst->boot_source, 0, sizeof(dst->boot_source));
	dst->logger.log_path = dst->logger.module = NULL;
	dst->metrics.metrics_path = NULL;
	dst->serial.serial_out_path = NULL;
	dst->drives = NULL;
	dst->nets = NULL;
	dst->nr_drives = dst->nr_nets = 0;
	dst->pmems = NULL;
	dst->nr_pmems = 0;
	dst->vsock.vsock_id = dst->vsock.uds_path = NULL;
	dst->mmds_config.network_interfaces = NULL;
	dst->mmds_config.nr_network_interfaces = 0;
	if (mmds_config_copy(&dst->mmds_config, &src->mmds_config) ||
	    machine_config_copy(&dst->machine, &src->machine) ||
	    boot_source_config_copy(&dst->boot_source, &src->boot_source) ||
	    logger_config_copy(&dst->logger, &src->logger) ||
	    metrics_config_copy(&dst->metrics, &src->metrics) ||
	    serial_config_copy(&dst->serial, &src->serial) || device_configs_copy(dst, src)) {
		vm_config_free(dst);
		return -ENOMEM;
	}
	return 0;
}
