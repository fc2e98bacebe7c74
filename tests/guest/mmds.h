/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The mmds scenario: raw frames to MMDS through the first virtio-net device
 * (the host attached it to MMDS): an ARP request for 169.254.169.254, a TCP
 * connection to its port 80 carrying one HTTP GET (ember.mmds_path=, default
 * /latest/meta-data/ami-id), a clean close, then an ARP request for another
 * link-local address and one frame of the net scenario's ethertype, which
 * must both reach the tap (the host checks that only those two did).
 *
 * Serial lines:
 *   mmds: arp reply from <mac> for 169.254.169.254 | mmds: no arp reply
 *   mmds: synack mss <n> | mmds: no synack
 *   mmds: http "<status line>" body "<body>" | mmds: no response
 *   mmds: <n> requests, <c> TSC cycles per request  (ember.mmds_repeat=N: the
 *         same GET N more times on the connection, timed)
 *   mmds: closed | mmds: no fin
 *   mmds: sent tap frames
 */
#ifndef GUEST_MMDS_H
#define GUEST_MMDS_H

#include "types.h"

__noreturn void scenario_mmds(const char *cmdline);

#endif
