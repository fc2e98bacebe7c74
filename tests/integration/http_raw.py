#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""One raw request on ember's API socket, for tests/integration/test_api_http.sh.

  http_raw.py SOCK BYTES

BYTES is sent as given, with Python's escapes (\\r, \\n, \\xNN) decoded:
requests no HTTP client would send. Prints the answer exactly as received,
CR and LF written as \\r and \\n, on one line, without the Date header
(libmicrohttpd's, its value changes). The second line says what happened to
the connection next:

  then: open (HTTP/1.1 200 OK)   a GET /version sent after the answer was answered
  then: closed                   the server closed the connection after the answer

Anything the server sent after the first answer on a connection it then
closed is part of the first line (a doubled answer shows there). Exits 1 if
nothing came back at all.
"""
import re
import socket
import sys

FOLLOW_UP = b"GET /version HTTP/1.1\r\n\r\n"


def read_answer(s, buf):
    """Reads one whole answer (headers + Content-Length body) starting with @buf.
    Returns (answer, rest, eof)."""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            return buf, b"", True
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    m = re.search(rb"\r\ncontent-length: *([0-9]+)", head, re.I)
    length = int(m.group(1)) if m else 0
    while len(rest) < length:
        chunk = s.recv(65536)
        if not chunk:
            return head + b"\r\n\r\n" + rest, b"", True
        rest += chunk
    return head + b"\r\n\r\n" + rest[:length], rest[length:], False


def show(data):
    data = re.sub(rb"\r\nDate: [^\r]*", b"", data)
    return data.decode("latin-1").replace("\r", "\\r").replace("\n", "\\n")


def main():
    sock, raw = sys.argv[1], sys.argv[2]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sock)
    s.sendall(raw.encode("latin-1").decode("unicode_escape").encode("latin-1"))
    answer, rest, eof = read_answer(s, b"")
    if not answer:
        print("(no answer)\nthen: closed")
        return 1
    then = "closed"
    if not eof:
        try:
            s.sendall(FOLLOW_UP)
        except OSError:
            pass
        try:
            nxt, _, eof = read_answer(s, rest)
        except OSError:
            nxt, eof = rest, True
        if eof:
            answer += nxt
        else:
            then = "open (" + nxt.split(b"\r\n", 1)[0].decode("latin-1") + ")"
    print(show(answer))
    print("then: " + then)
    return 0


if __name__ == "__main__":
    sys.exit(main())
