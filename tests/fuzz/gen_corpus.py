#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the seed corpora of the fuzz targets: tests/fuzz/corpus/<target>/.

virtq (fuzz_virtq.c): a fuzz_header, optional register ops, and a guest
memory image with well-formed (and a few deliberately hostile) rings and
requests. net, vsock, rng (fuzz_net.c, fuzz_vsock.c, fuzz_rng.c): the layout
of fuzz_dev.h, i.e. a fuzz_dev_header, register ops, the host's data and the
guest memory image. Either way the fuzzer starts from inputs that reach deep
into the device code.
kernel (fuzz_kernel.c): kernel image files, ELF vmlinux with and without
the PVH entry note (and broken ones) and a bzImage.

Usage: gen_corpus.py [corpus root]   (default: the corpus/ next to this file)
"""
import os
import struct
import sys

F_NEXT, F_WRITE, F_INDIRECT = 1, 2, 4
EVENT_IDX, INDIRECT, RNG, NO_DRIVER_OK = 0x01, 0x02, 0x04, 0x08
T_IN, T_OUT, T_FLUSH, T_GET_ID = 0, 1, 4, 8
DESC, AVAIL, USED = 0x1000, 0x2000, 0x3000
QNUM = 16


class Image:
    def __init__(self, size=0x9000):
        self.mem = bytearray(size)

    def put(self, addr, data):
        self.mem[addr:addr + len(data)] = data

    def desc(self, table, i, addr, length, flags, nxt):
        self.put(table + 16 * i, struct.pack("<QIHH", addr, length, flags, nxt))

    def hdr(self, addr, typ, sector):
        self.put(addr, struct.pack("<IIQ", typ, 0, sector))

    def avail(self, heads, idx=None, used_event=0):
        idx = len(heads) if idx is None else idx
        self.put(AVAIL, struct.pack("<HH", 0, idx))
        for n, h in enumerate(heads):
            self.put(AVAIL + 4 + 2 * n, struct.pack("<H", h))
        self.put(AVAIL + 4 + 2 * QNUM, struct.pack("<H", used_event))


def seed(flags, img, regops=(), kicks=0):
    head = struct.pack("<BBBBIIIIQI", flags, len(regops), kicks, 0, QNUM, DESC, AVAIL, USED,
                       0, 0)
    ops = b"".join(struct.pack("<HBBI", *op) for op in regops)
    return head + ops + bytes(img.mem)


def blk_read():
    img = Image()
    img.hdr(0x4000, T_IN, 1)
    img.desc(DESC, 0, 0x4000, 16, F_NEXT, 1)
    img.desc(DESC, 1, 0x5000, 512, F_WRITE | F_NEXT, 2)
    img.desc(DESC, 2, 0x6000, 1, F_WRITE, 0)
    img.avail([0])
    return seed(0, img)


def blk_write_indirect():
    img = Image()
    img.hdr(0x4000, T_OUT, 3)
    img.put(0x5000, bytes(range(256)) * 4)
    img.desc(DESC, 0, 0x7000, 48, F_INDIRECT, 0)
    img.desc(0x7000, 0, 0x4000, 16, F_NEXT, 1)
    img.desc(0x7000, 1, 0x5000, 1024, F_NEXT, 2)
    img.desc(0x7000, 2, 0x6000, 1, F_WRITE, 0)
    img.avail([0])
    return seed(INDIRECT | EVENT_IDX, img)


def blk_flush_get_id():
    img = Image()
    img.hdr(0x4000, T_FLUSH, 0)
    img.desc(DESC, 0, 0x4000, 16, F_NEXT, 1)
    img.desc(DESC, 1, 0x6000, 1, F_WRITE, 0)
    img.hdr(0x4010, T_GET_ID, 0)
    img.desc(DESC, 3, 0x4010, 16, F_NEXT, 4)
    img.desc(DESC, 4, 0x5000, 20, F_WRITE | F_NEXT, 5)
    img.desc(DESC, 5, 0x6001, 1, F_WRITE, 0)
    img.avail([0, 3], used_event=1)
    return seed(EVENT_IDX, img, kicks=1)


def blk_mixed_chain():
    img = Image()
    img.hdr(0x4000, T_IN, 0)
    img.desc(DESC, 0, 0x4000, 16, F_NEXT, 1)
    img.desc(DESC, 1, 0x7000, 32, F_INDIRECT, 0)
    img.desc(0x7000, 0, 0x5000, 1024, F_WRITE | F_NEXT, 1)
    img.desc(0x7000, 1, 0x6000, 1, F_WRITE, 0)
    img.avail([0])
    return seed(INDIRECT, img)


def rng_fill():
    img = Image()
    img.desc(DESC, 0, 0x5000, 256, F_WRITE | F_NEXT, 1)
    img.desc(DESC, 1, 0x6000, 64, F_WRITE, 0)
    img.avail([0])
    return seed(RNG | EVENT_IDX, img)


def hostile():
    img = Image()
    img.desc(DESC, 0, 0x4000, 16, F_NEXT, 0)                    # self loop
    img.desc(DESC, 1, 0x4000, 16, F_WRITE | F_NEXT, 2)          # write then read
    img.desc(DESC, 2, 0x5000, 16, 0, 0)
    img.desc(DESC, 3, 0x7000, 24, F_INDIRECT, 0)                # bad table length
    img.desc(DESC, 4, 0xffff_ffff_ffff_fff0, 0x100, 0, 0)       # wrapping buffer
    img.desc(DESC, 5, 0x7000, 16, F_INDIRECT | F_NEXT, 6)       # indirect + next
    img.desc(0x7000, 0, 0x7100, 16, F_INDIRECT, 0)              # nested indirect
    img.avail([0, 1, 3, 4, 5, 99])                              # 99: head out of range
    return seed(INDIRECT, img)


def avail_jump():
    img = Image()
    img.avail([0], idx=QNUM + 5)
    return seed(EVENT_IDX, img)


def register_ops():
    img = Image()
    img.avail([])
    ops = [(0x100, 8, 0, 0), (0x0fc, 4, 0, 0), (0x070, 4, 1, 0), (0x070, 4, 1, 1),
           (0x050, 4, 1, 0), (0x064, 4, 1, 3), (0x102, 2, 1, 0xffff), (0x030, 4, 1, 9)]
    return seed(NO_DRIVER_OK, img, regops=ops)


# ---- fuzz_dev.h targets: net, vsock, rng -------------------------------------

DEV_NO_DRIVER_OK, DEV_RAW_FEATURES, DEV_LIMITER = 0x01, 0x02, 0x04
F_VERSION_1, F_INDIRECT_DESC, F_EVENT_IDX = 1 << 32, 1 << 28, 1 << 29
NET_CSUM, NET_GUEST_CSUM, NET_GUEST_TSO4, NET_HOST_TSO4, NET_MRG_RXBUF = (
    1 << 0, 1 << 1, 1 << 7, 1 << 11, 1 << 15)
NET_HDR = 12
VS_GUEST_CID, VS_HOST_CID = 3, 2
VS_REQUEST, VS_RESPONSE, VS_RST, VS_SHUTDOWN, VS_RW, VS_CREDIT_UPDATE, VS_CREDIT_REQUEST = range(1, 8)
VS_STREAM = 1
VS_HDR = 44
BUF = 0x40000  # guest buffers live past the image: RAM there is zero-filled


def qaddr(q):
    """desc, avail, used of queue q: 0x1000 + 0x3000 * q onwards."""
    base = 0x1000 + 0x3000 * q
    return base, base + 0x1000, base + 0x2000


class DevImage(Image):
    def __init__(self, size=0xa000):
        super().__init__(size)
        self.next = {}

    def chain(self, q, segs):
        """Descriptors for one chain [(addr, len, write)] on queue q; returns its head."""
        desc = qaddr(q)[0]
        head = self.next.get(q, 0)
        for n, (addr, length, write) in enumerate(segs):
            i = head + n
            last = n == len(segs) - 1
            self.desc(desc, i, addr, length, (0 if last else F_NEXT) | (F_WRITE if write else 0),
                      0 if last else i + 1)
        self.next[q] = head + len(segs)
        return head

    def indirect(self, q, table, segs):
        desc = qaddr(q)[0]
        head = self.next.get(q, 0)
        for n, (addr, length, write) in enumerate(segs):
            last = n == len(segs) - 1
            self.desc(table, n, addr, length, (0 if last else F_NEXT) | (F_WRITE if write else 0),
                      0 if last else n + 1)
        self.desc(desc, head, table, 16 * len(segs), F_INDIRECT, 0)
        self.next[q] = head + 1
        return head

    def publish(self, q, heads, used_event=0):
        avail = qaddr(q)[1]
        self.put(avail, struct.pack("<HH", 0, len(heads)))
        for n, h in enumerate(heads):
            self.put(avail + 4 + 2 * n, struct.pack("<H", h))
        self.put(avail + 4 + 2 * QNUM, struct.pack("<H", used_event))


def dev_seed(img, nr_queues, features=0, flags=0, target_flags=0, kicks=0xff, regops=(),
             host=b""):
    queues = b""
    for q in range(3):
        queues += struct.pack("<HBBIII", QNUM, 1, 0, *qaddr(q)) if q < nr_queues else bytes(16)
    head = struct.pack("<BBBBIQ", flags, len(regops), kicks, target_flags, 0, features) + queues
    assert len(head) == 64
    ops = b"".join(struct.pack("<HBBI", *op) for op in regops)
    return head + ops + struct.pack("<I", len(host)) + host + bytes(img.mem)


def eth_frame(payload, src=b"\x06\x00\x00\x00\x00\x01"):
    return b"\xff" * 6 + src + b"\x88\xb5" + payload


def net_tx_simple():
    img = DevImage()
    frame = bytes(NET_HDR) + eth_frame(bytes(range(46)))
    img.put(0x9000, frame)
    img.publish(1, [img.chain(1, [(0x9000, NET_HDR, False), (0x9000 + NET_HDR, len(frame) - NET_HDR,
                                                                 False)])])
    return dev_seed(img, 2, kicks=0x02)


def net_tx_indirect_mixed():
    img = DevImage()
    frame = bytes(NET_HDR) + eth_frame(b"spoofed" * 8, src=b"\x02\x11\x22\x33\x44\x55")
    img.put(0x9000, frame)
    good = img.indirect(1, 0x9800, [(0x9000, 8, False), (0x9008, len(frame) - 8, False)])
    writable = img.chain(1, [(0x9000, len(frame), False), (BUF, 64, True)])
    short = img.chain(1, [(0x9000, NET_HDR - 2, False)])
    img.publish(1, [good, writable, short], used_event=2)
    return dev_seed(img, 2, features=F_INDIRECT_DESC | F_EVENT_IDX | NET_CSUM | NET_HOST_TSO4,
                    kicks=0x0a)


def net_rx_single():
    img = DevImage()
    img.publish(0, [img.chain(0, [(BUF, 1526, True)]), img.chain(0, [(BUF + 0x1000, 1526, True)])])
    host = b""
    for n in range(2):
        frame = bytes(NET_HDR) + eth_frame(bytes([n]) * 60)
        host += struct.pack("<H", len(frame)) + frame
    return dev_seed(img, 2, kicks=0x01, host=host)


def net_rx_mergeable():
    img = DevImage()
    heads = [img.chain(0, [(BUF + 0x400 * n, 256, True)]) for n in range(6)]
    img.publish(0, heads, used_event=3)
    frame = bytes(NET_HDR) + eth_frame(bytes(range(256)) * 3)
    tiny = bytes(NET_HDR) + eth_frame(b"x" * 10)
    host = struct.pack("<H", len(frame)) + frame + struct.pack("<H", len(tiny)) + tiny
    host += struct.pack("<H", 4) + b"shrt"  # shorter than the virtio-net header
    return dev_seed(img, 2, features=NET_MRG_RXBUF | F_EVENT_IDX, kicks=0x05, host=host)


def net_rx_refused():
    img = DevImage()
    small = img.chain(0, [(BUF, 100, True)])
    readable = img.chain(0, [(BUF, 16, False), (BUF + 0x1000, 2000, True)])
    img.publish(0, [small, readable])
    frame = bytes(NET_HDR) + eth_frame(b"y" * 100)
    return dev_seed(img, 2, kicks=0x01, host=struct.pack("<H", len(frame)) + frame)


def net_limited():
    img = DevImage()
    frame = bytes(NET_HDR) + eth_frame(b"z" * 50)
    img.put(0x9000, frame)
    txs = [img.chain(1, [(0x9000, len(frame), False)]) for _ in range(3)]
    img.publish(1, txs)
    img.publish(0, [img.chain(0, [(BUF + 0x1000 * n, 1526, True)]) for n in range(3)])
    host = (struct.pack("<H", len(frame)) + frame) * 3
    return dev_seed(img, 2, flags=DEV_LIMITER, kicks=0xff, host=host)


def net_gso_conflict():
    img = DevImage()
    img.publish(0, [img.chain(0, [(BUF, 65562, True)])])
    return dev_seed(img, 2, features=NET_GUEST_TSO4, kicks=0x03)


def net_registers():
    img = DevImage()
    img.publish(1, [img.chain(1, [(0x9000, 60, False)])])
    ops = [(0x100, 4, 0, 0), (0x104, 2, 0, 0), (0x10a, 2, 0, 0), (0x100, 1, 1, 0x42),
           (0x050, 4, 1, 1), (0x060, 4, 0, 0), (0x064, 4, 1, 1), (0x070, 4, 0, 0)]
    return dev_seed(img, 2, regops=ops, kicks=0)


def vs_hdr(op, src_port, dst_port, length=0, buf_alloc=65536, fwd_cnt=0, flags=0,
           src_cid=VS_GUEST_CID, dst_cid=VS_HOST_CID, typ=VS_STREAM):
    return struct.pack("<QQIIIHHIII", src_cid, dst_cid, src_port, dst_port, length, typ, op, flags,
                       buf_alloc, fwd_cnt)


def vs_rx_buffers(img, nr, size=VS_HDR + 4096):
    img.publish(0, [img.chain(0, [(BUF + 0x2000 * n, size, True)]) for n in range(nr)])
    img.publish(2, [img.chain(2, [(BUF + 0x20000, 8, True)])])


class TxPackets:
    """Packets on the tx queue, each header (+ payload) in the image from 0x9000 on."""

    def __init__(self, img):
        self.img, self.addr, self.heads = img, 0x9000, []

    def add(self, hdr, payload=b"", split=True):
        img, a = self.img, self.addr
        img.put(a, hdr + payload)
        if payload and split:
            segs = [(a, VS_HDR, False), (a + VS_HDR, len(payload), False)]
        else:
            segs = [(a, len(hdr) + len(payload), False)]
        self.heads.append(img.chain(1, segs))
        self.addr += (len(hdr) + len(payload) + 15) & ~15

    def publish(self):
        self.img.publish(1, self.heads)


def vsock_connect_rw():
    img = DevImage()
    vs_rx_buffers(img, 6)
    tx = TxPackets(img)
    tx.add(vs_hdr(VS_REQUEST, 5000, 1024))
    tx.add(vs_hdr(VS_RW, 5000, 1024, 100), bytes(range(100)))
    tx.add(vs_hdr(VS_CREDIT_REQUEST, 5000, 1024))
    tx.add(vs_hdr(VS_CREDIT_UPDATE, 5000, 1024, fwd_cnt=10))
    tx.publish()
    return dev_seed(img, 3, kicks=0x0a, host=b"hello from the host\n" * 8)


def vsock_host_connect():
    img = DevImage()
    vs_rx_buffers(img, 4)
    tx = TxPackets(img)
    tx.add(vs_hdr(VS_RESPONSE, 1234, 1 << 30))
    tx.add(vs_hdr(VS_RW, 1234, 1 << 30, 5), b"hello", split=False)
    tx.publish()
    return dev_seed(img, 3, target_flags=1, kicks=0x09,
                    host=b"CONNECT 1234\n" + b"payload for the guest")


def vsock_malformed():
    img = DevImage()
    img.publish(0, [img.chain(0, [(BUF, 16, False), (BUF + 0x1000, 200, True)]),
                    img.chain(0, [(BUF + 0x2000, 20, True)])])
    tx = TxPackets(img)
    tx.add(vs_hdr(VS_REQUEST, 1, 1024)[:30])                       # short header
    tx.add(vs_hdr(VS_RW, 1, 1024, 5000), b"abc")                    # len past the buffer
    tx.add(vs_hdr(VS_RW, 1, 1024, 70000))                           # len above 64 KiB
    tx.add(vs_hdr(VS_REQUEST, 1, 1024, src_cid=7))                  # wrong source cid
    tx.add(vs_hdr(VS_REQUEST, 1, 1024, dst_cid=3))                  # not to the host
    tx.add(vs_hdr(VS_REQUEST, 1, 1024, typ=2))                      # SEQPACKET
    tx.add(vs_hdr(0, 1, 1024))                                      # INVALID op
    tx.add(vs_hdr(99, 1, 1024))                                     # unknown op
    tx.add(vs_hdr(VS_RW, 2, 1024, 4), b"data")                      # no connection: RST
    tx.add(vs_hdr(VS_REQUEST, 3, 9))                                # nobody listening
    tx.publish()
    return dev_seed(img, 3, kicks=0x1a)


def vsock_shutdown_credit():
    img = DevImage()
    vs_rx_buffers(img, 8, size=VS_HDR + 64)
    tx = TxPackets(img)
    tx.add(vs_hdr(VS_REQUEST, 6000, 52, buf_alloc=64))
    tx.add(vs_hdr(VS_RW, 6000, 52, 256), bytes(256))
    tx.add(vs_hdr(VS_SHUTDOWN, 6000, 52, flags=1))
    tx.add(vs_hdr(VS_SHUTDOWN, 6000, 52, flags=3))
    tx.add(vs_hdr(VS_RST, 6000, 52))
    tx.add(vs_hdr(VS_REQUEST, 6001, 52, buf_alloc=0))
    tx.add(vs_hdr(VS_REQUEST, 6001, 52))                            # duplicate
    tx.publish()
    return dev_seed(img, 3, features=F_EVENT_IDX | F_INDIRECT_DESC, kicks=0xda,
                    host=bytes(range(256)) * 2)


def rng_simple():
    img = DevImage()
    img.publish(0, [img.chain(0, [(BUF, 64, True)]), img.chain(0, [(BUF + 0x100, 16, True),
                                                                    (BUF + 0x200, 48, True)])])
    return dev_seed(img, 1, kicks=0x01)


def rng_limited():
    img = DevImage()
    img.publish(0, [img.chain(0, [(BUF + 0x100 * n, 32, True)]) for n in range(4)])
    return dev_seed(img, 1, flags=DEV_LIMITER, features=F_EVENT_IDX, kicks=0x03)


def rng_indirect_big():
    img = DevImage()
    head = img.indirect(0, 0x9800, [(BUF, 0x8000, True), (BUF + 0x8000, 0x8000, True),
                                    (BUF + 0x10000, 0x1000, True)])
    img.publish(0, [head])
    return dev_seed(img, 1, features=F_INDIRECT_DESC, kicks=0x01)


def rng_odd_chains():
    img = DevImage()
    readable = img.chain(0, [(BUF, 16, False), (BUF + 0x100, 16, True)])
    zero = img.chain(0, [(BUF, 0, True)])
    past_ram = img.chain(0, [(0x100000 - 8, 64, True)])
    img.publish(0, [readable, zero, past_ram, 200])
    return dev_seed(img, 1, kicks=0x01)


def rng_raw_features():
    img = DevImage()
    img.publish(0, [img.chain(0, [(BUF, 64, True)])])
    return dev_seed(img, 1, flags=DEV_RAW_FEATURES, features=F_EVENT_IDX, kicks=0x01,
                    regops=[(0x070, 4, 1, 0xf), (0x050, 4, 1, 0)])


# ---- pmem (fuzz_pmem.c): 4-byte request type, 4-byte writable status ----

def pmem_req(img, addr, rtype):
    img.put(addr, struct.pack("<I", rtype))


def pmem_flush():
    img = DevImage()
    pmem_req(img, BUF, 0)
    img.publish(0, [img.chain(0, [(BUF, 4, False), (BUF + 0x10, 4, True)]),
                    img.chain(0, [(BUF, 4, False), (BUF + 0x20, 4, True)])])
    return dev_seed(img, 1, kicks=0x01, regops=[(0x100, 8, 0, 0), (0x108, 4, 0, 0)])


def pmem_malformed():
    img = DevImage()
    pmem_req(img, BUF, 5)
    pmem_req(img, BUF + 0x40, 0)
    img.publish(0, [img.chain(0, [(BUF, 4, False), (BUF + 0x10, 4, True)]),       # unknown type
                    img.chain(0, [(BUF + 0x40, 8, False), (BUF + 0x10, 4, True)]),  # long request
                    img.chain(0, [(BUF + 0x40, 4, False)]),                        # no status
                    img.chain(0, [(BUF + 0x40, 4, False), (BUF + 0x10, 2, True)]),  # short status
                    img.chain(0, [(BUF + 0x10, 4, True)]),                         # no request
                    img.chain(0, [(BUF + 0x40, 4, False), (0x100000 - 2, 4, True)]),  # past RAM
                    200])
    return dev_seed(img, 1, kicks=0x01, regops=[(0x100, 4, 1, 0x1234), (0x110, 4, 0, 0)])


def pmem_limited_indirect():
    img = DevImage()
    pmem_req(img, BUF, 0)
    heads = [img.indirect(0, 0x9800, [(BUF, 4, False), (BUF + 0x10, 4, True)])]
    heads += [img.chain(0, [(BUF, 4, False), (BUF + 0x20, 4, True)]) for _ in range(3)]
    img.publish(0, heads)
    return dev_seed(img, 1, flags=DEV_LIMITER, features=F_INDIRECT_DESC | F_EVENT_IDX, kicks=0x0f)


# ---- mem (fuzz_mem.c): 24-byte request, 10-byte writable response; 2 MiB blocks at 4 GiB ----

MEM_GPA = 4 << 30
MEM_BLOCK = 2 << 20


def mem_req(img, addr, rtype, gpa, nb):
    img.put(addr, struct.pack("<H6xQH6x", rtype, gpa, nb))


def mem_plug_state_unplug():
    img = DevImage()
    mem_req(img, BUF, 0, MEM_GPA, 2)                   # plug 2 blocks
    mem_req(img, BUF + 0x40, 3, MEM_GPA, 4)            # state (mixed)
    mem_req(img, BUF + 0x80, 1, MEM_GPA + MEM_BLOCK, 1)  # unplug 1
    mem_req(img, BUF + 0xc0, 2, 0, 0)                  # unplug all
    img.publish(0, [img.chain(0, [(BUF + o, 24, False), (BUF + 0x200 + o, 10, True)])
                    for o in (0, 0x40, 0x80, 0xc0)])
    return dev_seed(img, 1, target_flags=4, kicks=0x01, regops=[(0x100, 8, 0, 0), (0x130, 8, 0, 0)])


def mem_refused():
    img = DevImage()
    mem_req(img, BUF, 0, MEM_GPA + 4096, 1)            # unaligned
    mem_req(img, BUF + 0x40, 0, MEM_GPA + (8 << 20), 1)  # past the usable region
    mem_req(img, BUF + 0x80, 0, MEM_GPA, 3)            # past requested_size
    mem_req(img, BUF + 0xc0, 9, MEM_GPA, 1)            # unknown type
    mem_req(img, BUF + 0x100, 0, 0xffffffffffe00000, 0xffff)  # wrapping
    img.publish(0, [img.chain(0, [(BUF + o, 24, False), (BUF + 0x200 + o, 10, True)])
                    for o in (0, 0x40, 0x80, 0xc0, 0x100)])
    return dev_seed(img, 1, target_flags=2, kicks=0x01)


def mem_malformed():
    img = DevImage()
    mem_req(img, BUF, 0, MEM_GPA, 1)
    heads = [img.chain(0, [(BUF, 23, False), (BUF + 0x200, 10, True)]),   # short request
             img.chain(0, [(BUF, 24, False), (BUF + 0x200, 9, True)]),    # short response
             img.chain(0, [(BUF + 0x200, 10, True)]),                    # no request
             img.chain(0, [(BUF, 24, False)]),                           # no response
             img.chain(0, [(BUF, 24, False), (0x100000 - 4, 10, True)]),  # past RAM
             img.indirect(0, 0x9800, [(BUF, 24, False), (BUF + 0x240, 10, True)]),
             200]
    img.publish(0, heads)
    return dev_seed(img, 1, features=F_INDIRECT_DESC | F_EVENT_IDX, target_flags=16, kicks=0x03)


def mem_state(usable, plugged, requested, bits, gpa=MEM_GPA):
    """A saved device state (fuzz_mem.c takes the host data as one): 4 slots of 4 blocks."""
    return struct.pack("<7QI", gpa, 32 << 20, MEM_BLOCK, 8 << 20, usable, plugged, requested,
                       len(bits)) + bits


def mem_restore_plugged():
    img = DevImage()
    mem_req(img, BUF, 0, MEM_GPA, 2)                   # plug 2 blocks
    img.publish(0, [img.chain(0, [(BUF, 24, False), (BUF + 0x200, 10, True)])])
    host = mem_state(16 << 20, 3 * MEM_BLOCK, 4 * MEM_BLOCK, bytes([0x31, 0x00]))
    return dev_seed(img, 1, target_flags=4, kicks=0x01, host=host)


def mem_restore_corrupt():
    img = DevImage()
    # A block plugged past the usable region, in a state otherwise well-formed.
    host = mem_state(8 << 20, MEM_BLOCK, 2 * MEM_BLOCK, bytes([0x00, 0x01]))
    return dev_seed(img, 1, target_flags=2, kicks=0x00, host=host)


# ---- balloon (fuzz_balloon.c): target_flags picks the third queue and the host's moves ----

def pfn_list(pfns):
    return struct.pack("<%dI" % len(pfns), *pfns)


def balloon_inflate_deflate():
    img = DevImage()
    img.put(0x9000, pfn_list([BUF >> 12, (BUF >> 12) + 2, (BUF >> 12) + 1, 0xffffffff, 0xd0000]))
    img.publish(0, [img.chain(0, [(0x9000, 20, False)])])
    img.publish(1, [img.chain(1, [(0x9000, 12, False)])])
    return dev_seed(img, 2, target_flags=0x04, kicks=0x03)


def balloon_hostile_inflate():
    img = DevImage()
    img.put(0x9000, pfn_list([BUF >> 12] * 257))
    too_many = img.chain(0, [(0x9000, 257 * 4, False)])
    odd = img.chain(0, [(0x9000, 6, False)])
    writable = img.chain(0, [(0x9000, 8, True)])
    split = img.chain(0, [(0x9000, 4, False), (0x9004, 4, False)])
    img.publish(0, [too_many, odd, writable, split])
    return dev_seed(img, 2, features=F_INDIRECT_DESC, kicks=0x01)


def balloon_stats():
    img = DevImage()
    img.put(0x9000, struct.pack("<HQHQHQ", 4, 1 << 24, 5, 1 << 27, 300, 7))
    img.publish(2, [img.chain(2, [(0x9000, 30, False)]), img.chain(2, [(0x9000, 4000, False)])])
    return dev_seed(img, 3, target_flags=0x01 | 0x08, kicks=0x04)


def balloon_hinting():
    img = DevImage()
    img.put(0x9000, struct.pack("<I", 2))
    img.put(0x9010, struct.pack("<I", 0))
    run = img.chain(2, [(0x9000, 4, False), (BUF, 0x2000, True), (BUF + 0x10, 0x100, True)])
    stop = img.chain(2, [(0x9010, 4, False)])
    img.publish(2, [run, stop])
    return dev_seed(img, 3, target_flags=0x02 | 0x10, kicks=0x04)


def balloon_reporting():
    img = DevImage()
    img.publish(2, [img.chain(2, [(BUF, 0x2000, True), (BUF + 0x3000, 0x1000, True)]),
                    img.chain(2, [(0x100000 - 0x1000, 0x2000, True)])])
    return dev_seed(img, 3, target_flags=0x03, kicks=0x04)


# ---- mmds_frame (fuzz_mmds_frame.c): records of control byte, le16 length, frame ----

GUEST_MAC, MMDS_MAC = b"\x06\x00\x00\x00\x00\x0f", b"\x06\x01\x23\x45\x67\x01"
GUEST_IP, MMDS_IP = bytes([10, 0, 0, 15]), bytes([169, 254, 169, 254])
MMDS_ISS = 1000000000 >> 6  # the harness's salt 0 and clock at 1 s
SYN, ACK, FIN, RST, PSH = 0x02, 0x10, 0x01, 0x04, 0x08


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def tcp_frame(seq, ack, flags, data=b"", sport=40000, dport=80, mss=None, frag=0x4000, dst=MMDS_IP,
              bad_csum=False):
    opts = struct.pack("!BBH", 2, 4, mss) if mss else b""
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xffffffff, ack & 0xffffffff,
                      (20 + len(opts)) // 4 << 4, flags, 65535, 0, 0) + opts
    seg = hdr + data
    pseudo = GUEST_IP + dst + struct.pack("!BBH", 0, 6, len(seg))
    c = csum(pseudo + seg) ^ (0xffff if bad_csum else 0)
    seg = seg[:16] + struct.pack("!H", c) + seg[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), 1, frag, 64, 6, 0, GUEST_IP, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return MMDS_MAC + GUEST_MAC + b"\x08\x00" + ip + seg


def arp_frame(tpa=MMDS_IP, op=1):
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + GUEST_MAC + GUEST_IP + b"\0" * 6 + tpa
    return b"\xff" * 6 + GUEST_MAC + b"\x08\x06" + arp


def rec(frame, ctl=0, steps=0):
    return bytes([ctl | steps << 2]) + struct.pack("<H", len(frame)) + frame


def mmds_session(version, requests, close=True):
    """SYN, ACK, the requests (each acked back), then FIN."""
    out = bytes([version]) + rec(arp_frame()) + rec(tcp_frame(100, 0, SYN, mss=1460))
    seq, ours = 101, MMDS_ISS + 1
    out += rec(tcp_frame(seq, ours, ACK))
    for r in requests:
        out += rec(tcp_frame(seq, ours, ACK | PSH, r))
        seq += len(r)
    if close:
        out += rec(tcp_frame(seq, ours, ACK | FIN))
    return out


def mmds_v1_get():
    return mmds_session(0, [b"GET /latest/meta-data/ami-id HTTP/1.1\r\nAccept: */*\r\n\r\n",
                            b"GET /latest HTTP/1.1\r\nAccept: application/json\r\n\r\n"])


def mmds_v2_token():
    return mmds_session(1, [b"PUT /latest/api/token HTTP/1.1\r\n"
                            b"X-metadata-token-ttl-seconds: 60\r\n\r\n",
                            b"GET /latest/meta-data HTTP/1.1\r\nX-metadata-token: bad\r\n\r\n"])


def mmds_retransmit():
    out = mmds_session(0, [b"GET /latest/meta-data/tags HTTP/1.1\r\n\r\n"], close=False)
    for steps in (7, 7, 63, 63):  # past the 300 ms timeout, then towards the give-up
        out += rec(b"", steps=steps)
    return out + rec(tcp_frame(101, MMDS_ISS + 1, ACK))  # a duplicate ACK


def mmds_hostile():
    out = bytes([0])
    out += rec(tcp_frame(1, 0, SYN, frag=0x2000))  # fragment
    out += rec(tcp_frame(1, 0, SYN, bad_csum=True))
    out += rec(tcp_frame(1, 0, SYN, bad_csum=True), ctl=1)  # checksum offloaded
    out += rec(tcp_frame(1, 0, SYN, dport=81))
    out += rec(tcp_frame(1, 5, ACK, b"x"))  # no connection: RST
    out += rec(tcp_frame(2, 0, RST, sport=40001))
    out += rec(arp_frame(op=2)) + rec(arp_frame(tpa=bytes([10, 0, 0, 1])), ctl=2)
    out += rec(tcp_frame(1, 0, SYN)[:40]) + rec(b"\x01" * 13, ctl=2)
    for port in range(50000, 50040):  # more SYNs than the table holds
        out += rec(tcp_frame(9, 0, SYN, sport=port))
    out += rec(b"", steps=63) * 4  # past the eviction time: the next SYN evicts one
    return out + rec(tcp_frame(9, 0, SYN, sport=60000))


def mmds_big_request():
    return mmds_session(0, [b"GET /" + b"a" * 3000 + b" HTTP/1.1\r\n\r\n"], close=False)


# ---- kernel (fuzz_kernel.c): kernel image files, ELF with and without the PVH note, bzImage ----

PT_LOAD, PT_NOTE, XEN_ELFNOTE_PHYS32_ENTRY = 1, 4, 18
KERNEL_LOAD = 0x100000


def elf_note(name, ntype, desc, align=4):
    pad = lambda b: b + b"\0" * (-len(b) % align)
    return struct.pack("<III", len(name), len(desc), ntype) + pad(name) + pad(desc)


def kernel_elf(notes=b"", note_align=4, loads=((0x200, 0x300),)):
    """ELF64 x86-64 ET_EXEC: PT_LOADs of (file size, memory size) from 1 MiB, one PT_NOTE."""
    phnum = len(loads) + (1 if notes else 0)
    data_off = 64 + 56 * phnum
    body, phdrs, paddr = b"", b"", KERNEL_LOAD
    if notes:
        phdrs += struct.pack("<IIQQQQQQ", PT_NOTE, 4, data_off, 0, 0, len(notes), len(notes),
                             note_align)
        body += notes
    for filesz, memsz in loads:
        body += b"\0" * (-(data_off + len(body)) % 16)
        off = data_off + len(body)
        phdrs += struct.pack("<IIQQQQQQ", PT_LOAD, 5, off, paddr | 0xffffffff80000000, paddr,
                             filesz, memsz, 0x1000)
        body += bytes((i * 7 + 3) & 0xff for i in range(filesz))
        paddr += 0x100000
    ident = b"\x7fELF" + bytes([2, 1, 1]) + b"\0" * 9
    ehdr = ident + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, KERNEL_LOAD, 64, 0, 0, 64, 56, phnum,
                               0, 0, 0)
    return ehdr + phdrs + body


def pvh_note(entry, size=8, align=4):
    return elf_note(b"Xen\0", XEN_ELFNOTE_PHYS32_ENTRY, struct.pack("<Q", entry)[:size], align)


def linux_notes(entry, align=4):
    return (elf_note(b"GNU\0", 3, b"\xab" * 20, align) +
            elf_note(b"Xen\0", 6, b"linux\0", align) + pvh_note(entry, 8, align) +
            elf_note(b"Linux\0", 0x100, b"6.1\0", align))


def kernel_pvh():
    return kernel_elf(linux_notes(KERNEL_LOAD + 0x10))


def kernel_pvh_desc4_align8():
    return kernel_elf(elf_note(b"GNU\0", 3, b"\x01" * 5, 8) + pvh_note(KERNEL_LOAD + 0x20, 4, 8),
                      note_align=8)


def kernel_pvh_second_segment():
    return kernel_elf(pvh_note(KERNEL_LOAD + 0x100000 + 0x40),
                      loads=((0x100, 0x1000), (0x80, 0x80)))


def kernel_no_note():
    return kernel_elf()


def kernel_bad_notes():
    notes = linux_notes(KERNEL_LOAD + 0x10)
    return kernel_elf(notes[:-6])  # the last note cut short


def kernel_pvh_in_bss():
    return kernel_elf(pvh_note(KERNEL_LOAD + 0x280))


def kernel_bzimage():
    setup_sects, pm = 1, 0x400
    img = bytearray(b"\x5a" * ((setup_sects + 1) * 512) + bytes(i & 0xff for i in range(pm)))
    img[0x1f1] = setup_sects
    struct.pack_into("<I", img, 0x1f4, pm // 16)
    struct.pack_into("<H", img, 0x1fe, 0xaa55)
    img[0x200:0x202] = b"\xeb\x6a"
    img[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", img, 0x206, 0x020f)
    img[0x210:0x212] = b"\0\x01"  # type_of_loader, loadflags LOADED_HIGH
    struct.pack_into("<I", img, 0x214, 0x100000)
    struct.pack_into("<I", img, 0x22c, 0x7fffffff)  # initrd_addr_max
    struct.pack_into("<I", img, 0x230, 0x200000)  # kernel_alignment
    img[0x234] = 1  # relocatable
    struct.pack_into("<H", img, 0x236, 0x3)  # XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G
    struct.pack_into("<I", img, 0x238, 2047)  # cmdline_size
    struct.pack_into("<Q", img, 0x258, 0x1000000)  # pref_address
    struct.pack_into("<I", img, 0x260, 0x100000)  # init_size
    return bytes(img)


CORPORA = {
    "virtq": (blk_read, blk_write_indirect, blk_flush_get_id, blk_mixed_chain, rng_fill, hostile,
              avail_jump, register_ops),
    "net": (net_tx_simple, net_tx_indirect_mixed, net_rx_single, net_rx_mergeable, net_rx_refused,
            net_limited, net_gso_conflict, net_registers),
    "vsock": (vsock_connect_rw, vsock_host_connect, vsock_malformed, vsock_shutdown_credit),
    "rng": (rng_simple, rng_limited, rng_indirect_big, rng_odd_chains, rng_raw_features),
    "pmem": (pmem_flush, pmem_malformed, pmem_limited_indirect),
    "mem": (mem_plug_state_unplug, mem_refused, mem_malformed, mem_restore_plugged,
            mem_restore_corrupt),
    "balloon": (balloon_inflate_deflate, balloon_hostile_inflate, balloon_stats, balloon_hinting,
                balloon_reporting),
    "kernel": (kernel_pvh, kernel_pvh_desc4_align8, kernel_pvh_second_segment, kernel_no_note,
               kernel_bad_notes, kernel_pvh_in_bss, kernel_bzimage),
    "mmds_frame": (mmds_v1_get, mmds_v2_token, mmds_retransmit, mmds_hostile, mmds_big_request),
}


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
    for target, seeds in CORPORA.items():
        out = os.path.join(root, target)
        os.makedirs(out, exist_ok=True)
        for fn in seeds:
            with open(os.path.join(out, fn.__name__), "wb") as f:
                f.write(fn())


if __name__ == "__main__":
    main()
