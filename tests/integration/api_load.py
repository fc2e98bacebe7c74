#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Load patterns on ember's API socket, for tests/integration/test_api_load.sh.

  api_load.py SOCK keepalive-idle N        N keep-alive connections, one GET / each, all closed
  api_load.py SOCK keepalive-mixed N REQS  N concurrent keep-alive clients, REQS GET/PUT each
  api_load.py SOCK per-request REQS        one new connection per GET /, REQS times
  api_load.py SOCK per-request N REQS      the same from N concurrent clients
  api_load.py SOCK big-bodies N SIZE       N keep-alive connections, a SIZE-byte PUT body each
  api_load.py SOCK stalled                 1 idle keep-alive and 9 stalled requests; see stalled()

Prints one line "<status line>: <count>" per distinct answer (sorted), and
"closed: <count>" for connections closed without an answer; exits 1 if any
request got no answer at all, 0 otherwise. Plain sockets: the exact bytes
(keep-alive, close timing) are what the tests are about.
"""
import collections
import socket
import sys
import threading
import time

PUT_BODY = '{"vcpu_count": 1, "mem_size_mib": 128}'


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(path)
    return s


def request(s, method, path, body=None):
    """One request on @s; the status line, or None if the server closed first."""
    data = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n"
    if body is not None:
        data += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    data += "\r\n" + (body or "")
    try:
        s.sendall(data.encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                return None
            buf += chunk
    except OSError:
        return None
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    length = 0
    for line in lines[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    return lines[0].decode()


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = collections.Counter()

    def add(self, status):
        with self.lock:
            self.counts[status or "closed"] += 1


def keepalive_idle(sock, n, tally):
    conns = [connect(sock) for _ in range(n)]
    for c in conns:
        tally.add(request(c, "GET", "/"))
    for c in conns:
        c.close()


def keepalive_mixed(sock, n, reqs, tally):
    def client():
        c = connect(sock)
        for i in range(reqs):
            status = request(c, "GET", "/") if i % 2 else request(c, "PUT", "/machine-config",
                                                                   PUT_BODY)
            tally.add(status)
            if status is None:
                break
        c.close()

    threads = [threading.Thread(target=client) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def per_request(sock, n, reqs, tally):
    def client():
        for _ in range(reqs):
            c = connect(sock)
            tally.add(request(c, "GET", "/"))
            c.close()

    threads = [threading.Thread(target=client) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def big_bodies(sock, n, size, tally):
    body = '{"kernel_image_path": "/nonexistent", "boot_args": "' + "a" * size + '"}'
    conns = [connect(sock) for _ in range(n)]
    for c in conns:
        tally.add(request(c, "PUT", "/boot-source", body))
    for c in conns:
        c.close()


STALLED = [
    b"PUT /machi",  # half a request line
    b"PUT /machine-config HTTP/1.1\r\n",  # a request line
    b"PUT /machine-config HTTP/1.1\r\nContent-Le",  # half a header
    b"PUT /machine-config HTTP/1.1\r\nContent-Length: 40\r\n",  # headers, no end
    b"PUT /machine-config HTTP/1.1\r\nContent-Length: 40\r\n\r\n{\"vcpu",  # half a body
]


def stalled(sock, tally):
    """One keep-alive connection that completed a request, then 9 stalled
    requests: the API is full. New connections are tried every 0.2 s until
    one is served (the others get the 503, or are closed before they can
    read it); prints the seconds that took ("served after: S") and
    checks that the stalled ones were closed by the server ("stalled
    closed: N") while the idle keep-alive one still answers ("keep-alive:
    <status>")."""
    idle = connect(sock)
    tally.add(request(idle, "GET", "/"))
    held = []
    for i in range(9):
        c = connect(sock)
        c.sendall(STALLED[i % len(STALLED)])
        held.append(c)
    start = time.monotonic()
    while time.monotonic() - start < 30:
        c = connect(sock)
        status = request(c, "GET", "/")
        c.close()
        if status == "HTTP/1.1 200 OK":
            break
        time.sleep(0.2)
    print(f"served after: {round(time.monotonic() - start)}")
    closed = 0
    for c in held:
        c.settimeout(1)
        try:
            closed += c.recv(1) == b""
        except OSError:
            pass
        c.close()
    print(f"stalled closed: {closed}")
    print(f"keep-alive: {request(idle, 'GET', '/')}")
    idle.close()


def main():
    sock, mode = sys.argv[1], sys.argv[2]
    args = [int(a) for a in sys.argv[3:]]
    tally = Tally()
    if mode == "keepalive-idle":
        keepalive_idle(sock, args[0], tally)
    elif mode == "keepalive-mixed":
        keepalive_mixed(sock, args[0], args[1], tally)
    elif mode == "per-request":
        per_request(sock, args[0] if len(args) > 1 else 1, args[-1], tally)
    elif mode == "big-bodies":
        big_bodies(sock, args[0], args[1], tally)
    elif mode == "stalled":
        stalled(sock, tally)
    else:
        sys.exit(f"unknown mode {mode}")
    for status, count in sorted(tally.counts.items()):
        print(f"{status}: {count}")
    sys.exit(1 if tally.counts["closed"] else 0)


if __name__ == "__main__":
    main()
