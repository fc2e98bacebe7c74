// SPDX-License-Identifier: Apache-2.0
/*
 * TAP backend of virtio-net. Error texts follow Firecracker's TapError and
 * NetError messages (Rust's io::Error prints "<strerror> (os error <n>)"),
 * so API clients see what they would see there.
 */
#include "devices/virtio/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/if_tun.h>

#define TUN_PATH "/dev/net/tun"

int net_tap_open(const char *name, char *err, size_t errlen)
{
	struct ifreq ifr;
	int hdr_len = NET_TAP_VNET_HDR_LEN;
	int fd, ret;

	if (strlen(name) >= IFNAMSIZ) {
		snprintf(err, errlen, "Open tap device failed: Invalid interface name");
		return -EINVAL;
	}
	fd = open(TUN_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen,
			 "Open tap device failed: Couldn't open " TUN_PATH ": %s (os error %d)",
			 strerror(-ret), -ret);
		return ret;
	}
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, strlen(name));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		snprintf(
		    err, errlen,
		    "Open tap device failed: Error while creating ifreq structure: %s (os error "
		    "%d). Invalid TUN/TAP Backend provided by %s. Check our documentation on "
		    "setting up the network devices.",
		    strerror(-ret), -ret, name);
		goto fail;
	}
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr_len) < 0) {
		ret = -errno;
		snprintf(err, errlen,
			 "Setting vnet header size failed: Error while setting size of the vnet "
			 "header: %s (os error %d)",
			 strerror(-ret), -ret);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return ret;
}

unsigned int net_tap_offloads_for(uint64_t guest_features)
{
	static const struct {
		unsigned int virtio_bit;
		unsigned int tun_flag;
	} map[] = {
	    {VIRTIO_NET_F_GUEST_CSUM, TUN_F_CSUM},
	    {VIRTIO_NET_F_GUEST_TSO4, TUN_F_TSO4},
	    {VIRTIO_NET_F_GUEST_TSO6, TUN_F_TSO6},
	    {VIRTIO_NET_F_GUEST_UFO, TUN_F_UFO},
	};
	unsigned int flags = 0;

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (guest_features & (1ULL << map[i].virtio_bit))
			flags |= map[i].tun_flag;
	}
	return flags;
}

int net_tap_set_offload(int fd, unsigned int tun_flags)
{
	return ioctl(fd, TUNSETOFFLOAD, (unsigned long)tun_flags) < 0 ? -errno : 0;
}
