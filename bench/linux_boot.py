#!/usr/bin/env python3
"""Boot a real Linux kernel to init: Ember against QEMU's -M microvm.

Usage: bench/linux_boot.py BUILD OUT_JSON [RUNS]

Both VMMs boot the same kernel (BUILD/linux/vmlinux, Debian's stock kernel
as an ELF) with the same initramfs (BUILD/linux/initramfs.cpio), 1 vCPU and
128 MiB, on the same /dev/kvm, and the guest's init prints
"EMBER-TEST: stage=initramfs" as its first line. Two figures each, medians
of RUNS runs taken in turn (Ember, QEMU, Ember, ...):
  spawn -> Linux init          the VMM process started with everything on
                               its command line (Ember: --config-file)
  InstanceStart -> Linux init  the VMM already up and configured; Ember:
                               PUT /actions InstanceStart; QEMU: started
                               with -S, then QMP "cont"
Where the guest's code is emulated (the nested KVM host), absolute times
say little about either VMM: the table's point is the ratio.
A run that fails or exceeds its limit fails the benchmark (exit 1).
"""
import json
import os
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

MARKER = b"EMBER-TEST: stage=initramfs"
BOOT_LIMIT_S = 600  # a boot that takes longer than this has failed
# quiet: every console byte is an exit; ember.nomods: init prints its first
# line before loading modules.
CMDLINE = "console=ttyS0 reboot=k panic=1 quiet ember.nomods ember.t=reboot"
MEM_MIB = 128


class BenchError(Exception):
    pass


def wait_marker(proc, t0, limit_s=BOOT_LIMIT_S):
    """Seconds from t0 until MARKER appears on proc's stdout."""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    seen = b""
    deadline = t0 + limit_s
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise BenchError("no init marker within %d s" % limit_s)
        if not sel.select(timeout=left):
            continue
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            raise BenchError("VMM exited (%s) before init: %r" % (proc.wait(), seen[-300:]))
        seen = (seen + chunk)[-4096:]
        if MARKER in seen:
            return time.monotonic() - t0


def finish(proc):
    """The figure is taken: end the VMM (QEMU's microvm has no i8042, so its
    guest cannot end itself with reboot=k as Ember's does)."""
    proc.kill()
    proc.wait()


def wait_socket(path, proc, limit_s=10):
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError("exited before its socket appeared")
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            return s
        except OSError:
            s.close()
            time.sleep(0.002)
    raise BenchError("socket %s never accepted" % path)


def http_put(sock_path, path, body):
    """One PUT over the API socket (curl, as a user would)."""
    out = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "30",
         "--unix-socket", sock_path, "-X", "PUT", "http://localhost" + path,
         "-H", "Content-Type: application/json", "-d", json.dumps(body)],
        capture_output=True, text=True, check=False)
    if out.stdout != "204":
        raise BenchError("PUT %s: HTTP %s" % (path, out.stdout or out.returncode))


class Ember:
    name = "Ember"

    def __init__(self, build, kernel, initrd, tmp):
        self.ember = os.path.join(build, "ember")
        self.kernel, self.initrd, self.tmp = kernel, initrd, tmp
        self.config = {
            "boot-source": {"kernel_image_path": kernel, "initrd_path": initrd,
                            "boot_args": CMDLINE},
            "machine-config": {"vcpu_count": 1, "mem_size_mib": MEM_MIB},
        }

    def spawn_to_init(self):
        cfg = os.path.join(self.tmp, "ember.json")
        with open(cfg, "w") as f:
            json.dump(self.config, f)
        t0 = time.monotonic()
        proc = subprocess.Popen([self.ember, "--no-api", "--config-file", cfg],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
        try:
            return wait_marker(proc, t0)
        finally:
            finish(proc)

    def start_to_init(self):
        sock = os.path.join(self.tmp, "ember.sock")
        if os.path.exists(sock):
            os.unlink(sock)
        proc = subprocess.Popen([self.ember, "--api-sock", sock],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
        try:
            wait_socket(sock, proc).close()
            http_put(sock, "/machine-config", self.config["machine-config"])
            http_put(sock, "/boot-source", self.config["boot-source"])
            t0 = time.monotonic()
            http_put(sock, "/actions", {"action_type": "InstanceStart"})
            return wait_marker(proc, t0)
        finally:
            finish(proc)


class Qemu:
    name = "QEMU microvm"

    def __init__(self, qemu, kernel, initrd, tmp):
        self.tmp = tmp
        # The microvm machine as its docs suggest for a fast boot, without the
        # devices Ember does not have either (RTC, option ROMs); ACPI stays on.
        self.argv = [qemu, "-M", "microvm,x-option-roms=off,rtc=off", "-enable-kvm",
                     "-cpu", "host", "-smp", "1", "-m", str(MEM_MIB), "-nodefaults",
                     "-no-user-config", "-nographic", "-display", "none",
                     "-serial", "stdio", "-no-reboot",
                     "-kernel", kernel, "-initrd", initrd, "-append", CMDLINE]

    def spawn_to_init(self):
        t0 = time.monotonic()
        proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            return wait_marker(proc, t0)
        finally:
            finish(proc)

    def start_to_init(self):
        qmp_path = os.path.join(self.tmp, "qmp.sock")
        if os.path.exists(qmp_path):
            os.unlink(qmp_path)
        proc = subprocess.Popen(self.argv + ["-S", "-qmp", "unix:%s,server=on,wait=off" % qmp_path],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
        try:
            qmp = wait_socket(qmp_path, proc).makefile("rwb", buffering=0)
            qmp_command(qmp, None)  # the greeting
            qmp_command(qmp, "qmp_capabilities")
            t0 = time.monotonic()
            qmp_command(qmp, "cont")
            return wait_marker(proc, t0)
        finally:
            finish(proc)


def qmp_command(f, command):
    """Send one QMP command (None: read the greeting); its 'return', or raise."""
    if command:
        f.write(json.dumps({"execute": command}).encode() + b"\n")
    while True:
        line = f.readline()
        if not line:
            raise BenchError("QMP closed during %s" % command)
        msg = json.loads(line)
        if "error" in msg:
            raise BenchError("QMP %s: %s" % (command, msg["error"]))
        if "QMP" in msg or "return" in msg:
            return msg


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    build, out_json = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    kernel = os.path.abspath(os.path.join(build, "linux", "vmlinux"))
    initrd = os.path.abspath(os.path.join(build, "linux", "initramfs.cpio"))
    qemu = shutil.which("qemu-system-x86_64")
    for path, what in ((kernel, "make linux-guest"), (initrd, "make linux-guest")):
        if not os.path.exists(path):
            sys.exit("bench_linux: %s missing (%s)" % (path, what))
    if not qemu:
        sys.exit("bench_linux: qemu-system-x86_64 missing (Debian package qemu-system-x86)")
    with tempfile.TemporaryDirectory(prefix="ember-bench-linux.") as tmp:
        vmms = [Ember(build, kernel, initrd, tmp), Qemu(qemu, kernel, initrd, tmp)]
        figures = {(v.name, m): [] for v in vmms for m in ("spawn_to_init", "start_to_init")}
        failed = []
        for i in range(runs):
            for metric in ("spawn_to_init", "start_to_init"):
                for vmm in vmms:
                    try:
                        v = getattr(vmm, metric)()
                        figures[(vmm.name, metric)].append(v)
                        print("bench_linux: run %d/%d %s %s: %.3f s" % (i + 1, runs, vmm.name, metric, v),
                              flush=True)
                    except BenchError as e:
                        failed.append("%s %s run %d: %s" % (vmm.name, metric, i + 1, e))
                        print("bench_linux: run %d/%d %s %s: FAILED: %s" % (i + 1, runs, vmm.name, metric, e),
                              flush=True)
        report(figures, failed, runs, out_json)
    if failed:
        for f in failed:
            print("bench_linux: FAILED: " + f, file=sys.stderr)
        sys.exit(1)


def report(figures, failed, runs, out_json):
    rows = []
    print("\nLinux boot to init (Debian's stock kernel, vmlinux ELF, 1 vCPU, %d MiB), "
          "median of %d runs" % (MEM_MIB, runs))
    print("%-30s %12s %14s %12s" % ("benchmark", "Ember", "QEMU microvm", "QEMU/Ember"))
    for metric, label in (("spawn_to_init", "spawn -> Linux init"),
                          ("start_to_init", "InstanceStart -> Linux init")):
        e, q = figures[("Ember", metric)], figures[("QEMU microvm", metric)]
        em = statistics.median(e) if e else None
        qm = statistics.median(q) if q else None
        ratio = qm / em if em and qm else None
        print("%-30s %12s %14s %12s" % (label, fmt_s(em), fmt_s(qm),
                                        "%.2fx" % ratio if ratio else "FAILED"))
        rows.append({"name": label, "metric": metric, "runs": runs,
                     "ember_s": e, "qemu_s": q, "ember_median_s": em,
                     "qemu_median_s": qm, "qemu_over_ember": ratio})
    with open(out_json, "w") as f:
        json.dump({"benchmark": "linux_boot", "failed": failed, "results": rows}, f, indent=1)
    print("written: %s" % out_json)


def fmt_s(v):
    return "%.3f s" % v if v is not None else "FAILED"


if __name__ == "__main__":
    main()
