// SPDX-License-Identifier: Apache-2.0
#include "vmm/boot/virtio_discovery.h"

#include <string.h>

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/*
 * Kernel arguments are split at white space; "--" ends them (what follows is
 * init's). Quoted values are not looked into: "acpi=off" only counts as a
 * whole argument.
 */
bool cmdline_has_arg(const char *args, const char *token)
{
	size_t tlen = strlen(token);
	const char *p = args;

	if (!p)
		return false;
	while (*p) {
		size_t len;

		while (is_space(*p))
			p++;
		for (len = 0; p[len] && !is_space(p[len]); len++)
			;
		if (len == 2 && !strncmp(p, "--", 2))
			return false;
		if (len && len == tlen && !strncmp(p, token, len))
			return true;
		p += len;
	}
	return false;
}

/*
 * The bytes the loader wrote, [load_addr, load_end): one memmem over the
 * image (a few ms for a 30 MiB vmlinux), once per boot, before any vCPU runs.
 */
bool kernel_takes_virtio_cmdline(const struct guest_mem *mem, const struct kernel_info *ki)
{
	uint64_t len = ki->load_end > ki->load_addr ? ki->load_end - ki->load_addr : 0;
	const void *image = len ? guest_mem_translate(mem, ki->load_addr, len) : NULL;

	return image && memmem(image, len, VIRTIO_CMDLINE_PARAM, strlen(VIRTIO_CMDLINE_PARAM));
}

enum virtio_discovery virtio_discovery_choose(const struct guest_mem *mem,
					      const struct kernel_info *ki, const char *boot_args)
{
	if (cmdline_has_arg(boot_args, "acpi=off"))
		return VIRTIO_DISCOVERY_CMDLINE;
	if (kernel_takes_virtio_cmdline(mem, ki))
		return VIRTIO_DISCOVERY_CMDLINE;
	return VIRTIO_DISCOVERY_ACPI;
}
