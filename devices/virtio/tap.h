/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host side of virtio-net: a Linux TAP interface opened by name, the way
 * Firecracker opens it. Every frame crossing the fd carries a 12-byte
 * virtio_net_hdr_v1 in front (IFF_VNET_HDR + TUNSETVNETHDRSZ), so the guest's
 * checksum/GSO metadata passes through unchanged.
 *
 * TUNSETIFF attaches to an existing interface or creates a new one (which
 * then disappears with the fd). Without IFF_MULTI_QUEUE an interface takes
 * one fd only: a second open of a tap already in use fails with EBUSY.
 */
#ifndef EMBER_VIRTIO_TAP_H
#define EMBER_VIRTIO_TAP_H

#include <stddef.h>
#include <stdint.h>

#include <linux/virtio_net.h>

#define NET_TAP_VNET_HDR_LEN sizeof(struct virtio_net_hdr_v1) /* 12 */

/*
 * Open /dev/net/tun (O_RDWR | O_NONBLOCK | O_CLOEXEC), attach it to the TAP
 * interface @name with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR and set the vnet
 * header size to 12. Returns the fd, or -errno with Firecracker's wording in
 * @err ("Open tap device failed: ... Invalid TUN/TAP Backend provided by
 * <name>. ..."). Names of IFNAMSIZ (16) bytes or more are refused (-EINVAL).
 */
int net_tap_open(const char *name, char *err, size_t errlen);

/* TUN_F_* offloads the tap may hand the guest, from negotiated VIRTIO_NET_F_GUEST_* bits. */
unsigned int net_tap_offloads_for(uint64_t guest_features);

/* TUNSETOFFLOAD: 0 or -errno. */
int net_tap_set_offload(int fd, unsigned int tun_flags);

#endif
