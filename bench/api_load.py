#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The API under load, for make bench (issue #8).

  bench/api_load.py BUILD OUT_JSON [RUNS]

One ember (BUILD/ember, its default seccomp filters on) serves, RUNS times
(default 3):
  keepalive    10 concurrent keep-alive clients x 10,000 requests each,
               GET / and PUT /machine-config alternating
  per-request  10 concurrent clients x 5,000 requests, a new connection each
Per pattern: failed requests (no answer, or not 200/204), requests/s and the
p50/p99 latency of one request (connect included for per-request), the
medians over the runs; ember's VmRSS before the first run and after the last
(growth means a leak per request or per connection). A table on stdout,
JSON in OUT_JSON; exit 1 when any request failed or ember died.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
from api_load import PUT_BODY, connect, request  # noqa: E402

CLIENTS = 10
KEEPALIVE_REQS = int(os.environ.get("BENCH_API_KEEPALIVE_REQS", 10000))
PER_REQUEST_REQS = int(os.environ.get("BENCH_API_PER_REQUEST_REQS", 5000))
OK = ("HTTP/1.1 200 OK", "HTTP/1.1 204 No Content")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def run_clients(body):
    """CLIENTS threads each running body(latencies) -> failures; (latencies, failures, seconds)."""
    lats, bad = [], [0]
    lock = threading.Lock()

    def client():
        mine = []
        fails = body(mine)
        with lock:
            lats.extend(mine)
            bad[0] += fails

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return lats, bad[0], time.monotonic() - t0


def keepalive(sock, reqs):
    def body(lats):
        fails = 0
        c = connect(sock)
        for i in range(reqs):
            t = time.monotonic()
            if i % 2:
                st = request(c, "GET", "/")
            else:
                st = request(c, "PUT", "/machine-config", PUT_BODY)
            lats.append(time.monotonic() - t)
            if st not in OK:
                fails += 1
                if st is None:
                    c.close()
                    c = connect(sock)
        c.close()
        return fails

    return run_clients(body)


def per_request(sock, reqs):
    def body(lats):
        fails = 0
        for _ in range(reqs):
            t = time.monotonic()
            try:
                c = connect(sock)
                st = request(c, "GET", "/")
                c.close()
            except OSError:
                st = None
            lats.append(time.monotonic() - t)
            fails += st not in OK
        return fails

    return run_clients(body)


def pct(sorted_lats, p):
    return sorted_lats[min(len(sorted_lats) - 1, int(len(sorted_lats) * p))] * 1e6


def main():
    build, out = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    tmp = tempfile.mkdtemp(prefix="ember-bench-api.")
    sock = os.path.join(tmp, "api.sock")
    err = open(os.path.join(tmp, "err"), "w+")
    vmm = subprocess.Popen([os.path.join(build, "ember"), "--api-sock", sock],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
    for _ in range(500):
        if os.path.exists(sock):
            break
        time.sleep(0.01)
    # A warm-up round of each pattern (a tenth of the requests): the
    # allocator's arena and the connection pool reach their steady size
    # before "before" is read.
    keepalive(sock, KEEPALIVE_REQS // 10)
    per_request(sock, PER_REQUEST_REQS // 10)
    rss_before = rss_kib(vmm.pid)
    results = {}
    for name, fn, reqs in (("keepalive", keepalive, KEEPALIVE_REQS),
                           ("per-request", per_request, PER_REQUEST_REQS)):
        rows = []
        for _ in range(runs):
            lats, fails, secs = fn(sock, reqs)
            lats.sort()
            rows.append({"failed": fails, "rps": len(lats) / secs,
                         "p50_us": pct(lats, 0.50), "p99_us": pct(lats, 0.99)})
        results[name] = {
            "clients": CLIENTS, "requests_per_client": reqs, "runs": runs,
            "failed": sum(r["failed"] for r in rows),
            "rps": statistics.median(r["rps"] for r in rows),
            "p50_us": statistics.median(r["p50_us"] for r in rows),
            "p99_us": statistics.median(r["p99_us"] for r in rows),
        }
    alive = vmm.poll() is None
    rss_after = rss_kib(vmm.pid) if alive else 0
    vmm.kill()
    vmm.wait()
    err.seek(0)
    stderr_tail = err.read()[-400:]
    doc = {"api_load": results, "rss_before_kib": rss_before, "rss_after_kib": rss_after,
           "ember_alive": alive}
    with open(out, "w") as f:
        json.dump(doc, f, indent=2)
    print(f"{'API load (median of %d runs)' % runs:<34} {'requests':>9} {'failed':>7} "
          f"{'req/s':>8} {'p50 us':>8} {'p99 us':>8}")
    for name, r in results.items():
        print(f"{name:<34} {r['clients'] * r['requests_per_client']:>9} {r['failed']:>7} "
              f"{r['rps']:>8.0f} {r['p50_us']:>8.0f} {r['p99_us']:>8.0f}")
    print(f"ember VmRSS before {rss_before} KiB, after {rss_after} KiB "
          f"(growth {rss_after - rss_before} KiB)")
    if not alive:
        print(f"bench api_load: ember died (exit {vmm.returncode}): {stderr_tail}", file=sys.stderr)
    failed = sum(r["failed"] for r in results.values())
    sys.exit(1 if failed or not alive else 0)


if __name__ == "__main__":
    main()
