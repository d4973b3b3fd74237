"""Targets that misbehave the ways real endpoints do, each a raw TCP server on a free loopback port.

Each connection is handed to a behaviour ``(conn, stop)``: read the request, then answer (or not) as the
named misbehaviour does. ``stop`` is set when the target closes, so no behaviour outlives its test.
"""

from __future__ import annotations

import socket
import ssl
import struct
import threading
from typing import Callable

Behaviour = Callable[[socket.socket, threading.Event], None]


def read_request(conn: socket.socket) -> bool:
    """Read one HTTP request (headers and a Content-Length body); False when the client went away."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return False
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip() or 0)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return False
        body += chunk
    return True


def answer(status: str, content_type: str, body: bytes, extra: str = "") -> Behaviour:
    """Every request gets the same answer (keep-alive, as a real server would)."""
    head = (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n{extra}"
            "\r\n").encode()

    def behave(conn: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set() and read_request(conn):
            conn.sendall(head + body)

    return behave


def silent(conn: socket.socket, stop: threading.Event) -> None:
    """Accepts and reads the request, then never answers."""
    read_request(conn)
    stop.wait()


def trickle(conn: socket.socket, stop: threading.Event) -> None:
    """Answers a status line and headers, then one byte of body every half second, forever."""
    if not read_request(conn):
        return
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n")
    while not stop.wait(0.5):
        conn.sendall(b" ")


def reset(conn: socket.socket, stop: threading.Event) -> None:
    """Resets the connection as soon as it is accepted."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def close(conn: socket.socket, stop: threading.Event) -> None:
    """Reads the request and closes the connection without a word."""
    read_request(conn)


BEHAVIOURS: dict[str, Behaviour] = {
    "never-answers": silent,
    "slow-endless-stream": trickle,
    "resets": reset,
    "closes": close,
    "html-200": answer("200 OK", "text/html; charset=utf-8", b"<html><body>hello\x00\x1b[2J</body></html>"),
    "redirect-302": answer("302 Found", "text/html", b"<a href=\"/login\">Found</a>", "Location: /login\r\n"),
    "500-for-everything": answer("500 Internal Server Error", "text/plain", b"Internal Server Error"),
    "401-json": answer("401 Unauthorized", "application/json", b'{"error": "INVALID_CREDENTIALS"}'),
    "10-mb-body": answer("200 OK", "application/json", b'{"error": "' + b"x" * (10 * 1024 * 1024) + b'"}'),
}


class RawTarget:
    """A misbehaving target; a context manager, with ``.url``. With *tls* (a server context) it speaks HTTPS."""

    def __init__(self, behaviour: Behaviour, tls: ssl.SSLContext | None = None) -> None:
        self._behaviour = behaviour
        self._tls = tls
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.url = "%s://127.0.0.1:%d" % ("https" if tls else "http", self._sock.getsockname()[1])
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            if self._tls is not None:
                conn = self._tls.wrap_socket(conn, server_side=True)  # a failed handshake is an OSError too
            self._behaviour(conn, self._stop)
        except OSError:
            pass  # the suite gave up on this connection: that is the point
        finally:
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._sock.close()

    def __enter__(self) -> "RawTarget":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
