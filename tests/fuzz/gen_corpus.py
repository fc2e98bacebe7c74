#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the seed corpus for fuzz_virtq (tests/fuzz/corpus/virtq/).

Each seed is a fuzz_header, optional register ops, and a guest memory image
with well-formed (and a few deliberately hostile) rings and requests, so the
fuzzer starts from inputs that reach deep into the device code.
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


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__),
                                                              "corpus", "virtq")
    os.makedirs(out, exist_ok=True)
    for fn in (blk_read, blk_write_indirect, blk_flush_get_id, blk_mixed_chain, rng_fill,
               hostile, avail_jump, register_ops):
        with open(os.path.join(out, fn.__name__), "wb") as f:
            f.write(fn())


if __name__ == "__main__":
    main()
