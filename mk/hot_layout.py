#!/usr/bin/env python3
"""Profile-guided code and data layout for the static ember (issue #12).

    mk/hot_layout.py OUT.ld WORK_DIR GUEST_ELF -- CC ARGS...   (make hot-layout)

Why: a static ember's resident memory is mostly its own file pages, and the
kernel maps those 64 KiB at a time: a read fault maps every page of the
surrounding fault-around window (fault_around_bytes, 64 KiB) that is in the
page cache, which for a binary that was just run is all of them. Code that
runs at start-up is spread over nearly every window of the 900 KB of text
(glibc, libmicrohttpd, jansson, libseccomp and Ember interleaved), so an idle
ember had almost its whole binary resident. Packing what runs into a few
windows (and the read-only data it reads into a few more) leaves the rest
unmapped until something needs it.

What: OUT.ld is a linker script for GNU ld that the static link adds with
-T (mk/static.mk): it places the listed input sections (archive member and
section, e.g. *libc.a:malloc.o(.text)) into .text.hot, before .text, and
.rodata.hot, after .rodata (which opens the read-only segment: hot data
must not land in the executable one); INSERT keeps the default script.
First what an idle `ember --api-sock` touches, then what booting and
running a 1-vCPU guest and answering API requests adds. A pattern that no
longer matches anything (renamed function, other glibc) is ignored by ld: a
stale list costs resident memory, never correctness.

How: link (CC ARGS... -Wl,-T,candidate -Wl,-Map), run the scenario, move the
input section of every address it touched in the cold part of .text or
.rodata into the hot list, relink, repeat. The first round of each scenario
runs under valgrind's lackey (every instruction and load, with --no-seccomp:
valgrind does not implement seccomp(2)) when valgrind is installed; the
others natively under `perf record -e page-faults -d` (every fault with its
address: what differs natively, e.g. the vDSO set-up and glibc's CPU-specific
string functions), until a native run faults nowhere cold. A fault shows one
address per 64 KiB window, so without valgrind it takes many more rounds.
Needs perf; the scenario with a guest needs /dev/kvm (skipped otherwise).
The result depends on the CPU a little (glibc picks string functions by CPU
features at start: all the variants of those it uses come last); it is made
on a build machine and checked in.
"""
import bisect
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

MAX_ROUNDS = 200
SCENARIOS = {"idle": "ember --api-sock, until the socket accepts",
             "vm": "then: configure, boot and run a 1-vCPU guest, API requests",
             "variants": "the other CPUs' variants of the string functions above"}


def parse_map(path):
    """Input sections [(addr, size, name, file)] and output sections {name: (addr, size)}."""
    lines = open(path).read().split("\n")
    start = lines.index("Linker script and memory map")
    inputs, outputs = [], {}
    in_rx = re.compile(r"^ (\.\S+|\S+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$")
    out_rx = re.compile(r"^(\.\S+|[A-Za-z_]\S*)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)")
    cont_rx = re.compile(r"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)(?:\s+(\S.*))?$")
    pending = None  # (kind, name) of a name alone on its line
    for line in lines[start:]:
        if pending:
            m = cont_rx.match(line)
            kind, name = pending
            pending = None
            if m:
                addr, size = int(m.group(1), 16), int(m.group(2), 16)
                if kind == "in" and m.group(3):
                    inputs.append((addr, size, name, m.group(3)))
                elif kind == "out":
                    outputs[name] = (addr, size)
                continue
        m = out_rx.match(line)
        if m:
            outputs[m.group(1)] = (int(m.group(2), 16), int(m.group(3), 16))
            continue
        m = re.match(r"^(\.\S+|[A-Za-z_]\S*)$", line)
        if m:
            pending = ("out", m.group(1))
            continue
        m = in_rx.match(line)
        if m and not m.group(1).startswith("*"):
            inputs.append((int(m.group(2), 16), int(m.group(3), 16), m.group(1), m.group(4)))
            continue
        m = re.match(r"^ (\.\S+)$", line)
        if m:
            pending = ("in", m.group(1))
    inputs = sorted(s for s in inputs if s[1] > 0 and s[0] > 0)
    return inputs, outputs


def pattern(name, file):
    """An ld input-section pattern for section @name of @file."""
    m = re.match(r"^(?:.*/)?([^/(]+\.a)\((.+)\)$", file)
    if m:
        return "*%s:%s(%s)" % (m.group(1), m.group(2), name)
    # An object on the command line: its path from the build's obj/ dir on.
    tail = file.split("/obj/", 1)[1] if "/obj/" in file else os.path.basename(file)
    return "*%s(%s)" % (tail, name)


def write_script(path, hot):
    """hot: {"text": [(scenario, pattern)...], "rodata": [...]}, in order."""
    with open(path, "w") as f:
        f.write("/* Generated by mk/hot_layout.py (make hot-layout): the code and read-only data\n"
                " * that an idle ember, then a running VM, touch, packed together so that the\n"
                " * rest of the binary is never mapped (see mk/hot_layout.py). Do not edit. */\n")
        # .text.hot goes first in the text segment; .rodata.hot after .rodata,
        # which starts the read-only segment (never executable).
        for kind, where in (("text", "BEFORE"), ("rodata", "AFTER")):
            f.write("SECTIONS\n{\n  .%s.hot :\n  {\n" % kind)
            last = None
            for scenario, p in hot[kind]:
                if scenario != last:
                    f.write("    /* %s */\n" % SCENARIOS[scenario])
                    last = scenario
                f.write("    %s\n" % p)
            f.write("  }\n}\nINSERT %s .%s;\n" % (where, kind))


def link(cmd, script, exe, mapfile):
    """The profiling link. ld merges identical strings and constants (SHF_MERGE
    sections: .rodata.str1.1, .rodata.cst16, ...) across an output section and
    the map then puts them all in one input section, so an address there says
    nothing about where the string came from. Here each such input section is
    an output section of its own (--unique): nothing merges, an address names
    its section. The real link merges the hot ones among themselves."""
    subprocess.run(cmd + ["-o", exe, "-Wl,-T," + script, "-Wl,-Map," + mapfile,
                          "-Wl,--unique=.rodata*str*", "-Wl,--unique=.rodata*cst*"], check=True)


# ---- scenarios -------------------------------------------------------------------


def wait_socket(path, proc, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError("ember exited (%s) before its API socket accepted" % proc.returncode)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return
        except OSError:
            time.sleep(0.002)
        finally:
            s.close()
    raise RuntimeError("the API socket never accepted")


def api(path, method, url, body=None):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    data = json.dumps(body).encode() if body is not None else b""
    s.sendall(("%s %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
               "Content-Length: %d\r\nConnection: close\r\n\r\n" % (method, url, len(data))).encode()
              + data)
    resp = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        resp += chunk
    s.close()
    m = re.match(rb"HTTP/1\.[01] (\d{3})", resp)
    if not m:
        raise RuntimeError("%s %s: no HTTP answer: %r" % (method, url, resp[:100]))
    status = int(m.group(1))
    if status >= 300:
        raise RuntimeError("%s %s answered %d: %s" % (method, url, status, resp[-300:]))


def drive(sock, proc, work, scenario, guest, slow):
    """The scenario's requests, on ember's API socket."""
    wait_socket(sock, proc, 60 if slow else 10)
    if scenario == "vm":
        api(sock, "PUT", "/boot-source", {"kernel_image_path": guest,
                                          "boot_args": "console=ttyS0 ember.test=halt-forever"})
        api(sock, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 128})
        api(sock, "PUT", "/actions", {"action_type": "InstanceStart"})
        end = time.monotonic() + (60 if slow else 10)
        while b"halting" not in open(os.path.join(work, "serial.out"), "rb").read():
            if time.monotonic() > end:
                raise RuntimeError("the guest never said 'halting'")
            time.sleep(0.01)
        api(sock, "GET", "/vm/config")
        api(sock, "GET", "/")
        api(sock, "GET", "/machine-config")
    time.sleep(1 if slow else 0.2)


def run_scenario(exe, work, scenario, guest, tracer):
    """Run @scenario; the addresses it touched: every page fault's (tracer
    "perf", the real thing), or every instruction and load's (tracer
    "valgrind": lackey sees all, not just the first touch of each window,
    but not ember's own seccomp filters, nor what differs natively)."""
    sock = os.path.join(work, "api.sock")
    data = os.path.join(work, tracer + ".data")
    for p in (sock, data):
        if os.path.exists(p):
            os.unlink(p)
    if tracer == "perf":
        argv = ["perf", "record", "-q", "-e", "page-faults", "-c", "1", "-d", "-o", data, "--",
                exe, "--api-sock", sock]
    else:
        argv = ["valgrind", "--tool=lackey", "--trace-mem=yes", "--log-file=" + data, exe,
                "--no-seccomp", "--api-sock", sock]
    out = open(os.path.join(work, "serial.out"), "wb")
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.DEVNULL)
    try:
        drive(sock, proc, work, scenario, guest, tracer != "perf")
    finally:
        # perf's child is ember: end it, perf then writes its data and exits.
        # Under valgrind ember is the process itself: SIGTERM lets it flush.
        if tracer == "perf":
            children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                                      text=True).stdout.split()
            for c in children:
                os.kill(int(c), signal.SIGKILL)
        else:
            proc.send_signal(signal.SIGTERM)
        proc.wait()
        out.close()
    if tracer == "perf":
        script = subprocess.run(["perf", "script", "-i", data, "-F", "addr"],
                                capture_output=True, text=True, check=True).stdout
        return [int(a, 16) for a in script.split()]
    addrs = set()
    with open(data) as f:
        for line in f:
            m = re.match(r"^ ?[ILSM] +([0-9a-f]+),", line)
            if m:
                addrs.add(int(m.group(1), 16))
    os.unlink(data)  # tens of MB
    return addrs


def main():
    if len(sys.argv) < 6 or sys.argv[4] != "--":
        sys.exit("usage: mk/hot_layout.py OUT.ld WORK_DIR GUEST_ELF -- CC ARGS...")
    out, work, guest, cmd = sys.argv[1], sys.argv[2], os.path.abspath(sys.argv[3]), sys.argv[5:]
    os.makedirs(work, exist_ok=True)
    scenarios = ["idle"]
    if os.access("/dev/kvm", os.R_OK | os.W_OK) and os.path.exists(guest):
        scenarios.append("vm")
    else:
        print("hot_layout: no usable /dev/kvm or no guest: idle start-up only", file=sys.stderr)
    hot = {"text": [], "rodata": []}
    known = set()
    section_sizes = {}
    script = os.path.join(work, "candidate.ld")
    exe = os.path.join(work, "ember")
    mapfile = os.path.join(work, "ember.map")
    tracers = ["perf"]
    if shutil.which("valgrind"):
        tracers.insert(0, "valgrind")
    else:
        print("hot_layout: no valgrind: page faults only, many more rounds", file=sys.stderr)
    for scenario in scenarios:
        for rnd in range(MAX_ROUNDS):
            tracer = tracers[0] if rnd == 0 else "perf"
            write_script(script, hot)
            link(cmd, script, exe, mapfile)
            inputs, outputs = parse_map(mapfile)
            starts = [s[0] for s in inputs]
            hot_ranges = [outputs.get("." + k + ".hot", (0, 0)) for k in ("text", "rodata")]
            new = []
            for a in run_scenario(exe, work, scenario, guest, tracer):
                if any(lo <= a < lo + size for lo, size in hot_ranges):
                    continue
                i = bisect.bisect_right(starts, a) - 1
                if i < 0 or not starts[i] <= a < starts[i] + inputs[i][1]:
                    continue  # not in an input section (padding, heap, stack, ...)
                kind = inputs[i][2].split(".")[1] if inputs[i][2].count(".") else ""
                if kind not in ("text", "rodata"):
                    continue  # .data, .eh_frame, ...: not placed by this script
                p = pattern(inputs[i][2], inputs[i][3])
                if p not in known:
                    known.add(p)
                    section_sizes[p] = inputs[i][1]
                    new.append((kind, inputs[i][0], p))
            print("hot_layout: %s round %d (%s): %d new sections" % (scenario, rnd + 1, tracer,
                                                                     len(new)), file=sys.stderr)
            if not new and tracer == "perf":
                break
            # Within a scenario, keep the link order (related code stays together).
            for kind, _, p in sorted(new):
                hot[kind].append((scenario, p))
        else:
            sys.exit("hot_layout: %s still faulting after %d rounds" % (scenario, MAX_ROUNDS))
    # glibc picks its string functions by CPU (IFUNC): another CPU runs other
    # variants of the same functions (evex rather than avx2, ...). All the
    # variants of each function seen here come last, together, so that a
    # different CPU touches one more window or two rather than a dozen.
    families = []
    for kind in ("text", "rodata"):
        for _, p in hot[kind]:
            m = re.match(r"^\*libc\.a:(\w+)-(?:sse|ssse|avx|evex)", p)
            if m and m.group(1) not in families:
                families.append(m.group(1))
    for fam in families:
        hot["text"].append(("variants", "*libc.a:%s-*.o(.text .text.*)" % fam))
        hot["rodata"].append(("variants", "*libc.a:%s-*.o(.rodata .rodata.*)" % fam))
    write_script(out, hot)
    sizes = {}
    for kind in hot:
        for scenario, p in hot[kind]:
            if scenario != "variants":
                sizes[(kind, scenario)] = sizes.get((kind, scenario), 0) + section_sizes[p]
    print("hot_layout: %s: %s; then every variant of %d string functions" % (out, ", ".join(
        "%s %s %d KiB" % (k, s, v // 1024) for (k, s), v in sorted(sizes.items())),
        len(families)), file=sys.stderr)


if __name__ == "__main__":
    main()
