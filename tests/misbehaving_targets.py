"""Targets that misbehave the ways real endpoints do, each a raw TCP server on a free loopback port.

Each connection is handed to a behaviour ``(conn, stop)``: read the request, then answer (or not) as the
named misbehaviour does. ``stop`` is set when the target closes, so no behaviour outlives its test.
"""

from __future__ import annotations

import socket
import ssl
import struct
import threading
import weakref
from typing import Callable

Behaviour = Callable[[socket.socket, threading.Event], None]


def read_request(conn: socket.socket) -> bool:
    """Read one HTTP request (headers and a Content-Length body); False when the client went away."""
    read = read_head(conn)
    if read is None:
        return False
    headers, body = read
    length = int(headers.get(b"content-length", b"0") or 0)
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


def read_head(conn: socket.socket) -> tuple[dict[bytes, bytes], bytes] | None:
    """Read the request line and headers only: (lower-cased headers, the body bytes that came with them)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    return headers, body


def read_body(conn: socket.socket, length: int, have: bytes) -> bool:
    while len(have) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return False
        have += chunk
    return True


def _json_answer(status: str, body: bytes, extra: str = "") -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
            ).encode() + body


CREDENTIAL_FAILURE = _json_answer("401 Unauthorized", b'{"error":"INVALID_CREDENTIALS"}',
                                  'WWW-Authenticate: Bearer realm="x"\r\n')
TOO_LARGE = _json_answer("413 Content Too Large", b'{"error":"PAYLOAD_TOO_LARGE"}', "Connection: close\r\n")
EDGE_LIMIT = 64 * 1024


def _reset_close(conn: socket.socket) -> None:
    """Close with unread data pending, as a process does: the peer gets a reset (RST), not an orderly close."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def edge_refusal(read_first: int) -> Behaviour:
    """An edge with a 64 KiB body limit: a body under it is answered as a credential failure; a larger one, after
    reading *read_first* bytes of it (0: from the headers alone, ignoring Expect: 100-continue), gets a 413 and the
    connection is reset while the client is still uploading."""

    def behave(conn: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            got = read_head(conn)
            if got is None:
                return
            headers, body = got
            length = int(headers.get(b"content-length", b"0") or 0)
            if length <= EDGE_LIMIT:
                if not read_body(conn, length, body):
                    return
                conn.sendall(CREDENTIAL_FAILURE)
                continue
            while len(body) < read_first:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                body += chunk
            conn.sendall(TOO_LARGE)
            _reset_close(conn)
            return

    return behave


def drops_mid_upload(conn: socket.socket, stop: threading.Event) -> None:
    """Answers small requests as credential failures; a body over 64 KiB is read for 256 KiB, then the connection is
    reset without a word (an edge dropping oversized uploads)."""
    while not stop.is_set():
        got = read_head(conn)
        if got is None:
            return
        headers, body = got
        length = int(headers.get(b"content-length", b"0") or 0)
        if length > EDGE_LIMIT:
            while len(body) < 256 * 1024:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                body += chunk
            _reset_close(conn)
            return
        if not read_body(conn, length, body):
            return
        conn.sendall(CREDENTIAL_FAILURE)


def hangs_on_large_body(conn: socket.socket, stop: threading.Event) -> None:
    """Answers small requests as credential failures; on a body over 64 KiB it stops reading and never answers."""
    while not stop.is_set():
        got = read_head(conn)
        if got is None:
            return
        headers, body = got
        length = int(headers.get(b"content-length", b"0") or 0)
        if length > EDGE_LIMIT:
            stop.wait()
            return
        if not read_body(conn, length, body):
            return
        conn.sendall(CREDENTIAL_FAILURE)


def rate_limited_once(retry_after: bytes) -> Behaviour:
    """The first request a target gets is answered 429 with the given Retry-After; every later one (on that
    connection or another: a loaded client may open a new one for its retry) a credential failure."""
    answered: weakref.WeakSet = weakref.WeakSet()  # the targets (by their stop event) that have given their 429

    def behave(conn: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set() and read_request(conn):
            if stop not in answered:
                answered.add(stop)
                conn.sendall(_json_answer("429 Too Many Requests", b'{"error":"RATE_LIMITED"}',
                                          "Retry-After: " + retry_after.decode("latin-1") + "\r\n"))
            else:
                conn.sendall(CREDENTIAL_FAILURE)

    return behave


def tls_alert(conn: socket.socket, stop: threading.Event) -> None:
    """A TLS port as plain HTTP meets it: reads the bytes and answers a TLS alert record (handshake failure)."""
    conn.recv(65536)
    conn.sendall(b"\x15\x03\x03\x00\x02\x02\x28")


BEHAVIOURS: dict[str, Behaviour] = {
    "never-answers": silent,
    "slow-endless-stream": trickle,
    "resets": reset,
    "closes": close,
    "html-200": answer("200 OK", "text/html; charset=utf-8", b"<html><body>hello\x00\x1b[2J</body></html>"),
    "redirect-302": answer("302 Found", "text/html", b"<a href=\"/login\">Found</a>", "Location: /login\r\n"),
    "moved-permanently": answer("301 Moved Permanently", "text/html", b"<html><body>301 Moved Permanently</body></html>",
                             "Location: https://login.example.test/api/user/login\r\n"),
    "500-for-everything": answer("500 Internal Server Error", "text/plain", b"Internal Server Error"),
    "401-json": answer("401 Unauthorized", "application/json", b'{"error": "INVALID_CREDENTIALS"}'),
    # a proxy's Content-Encoding on a body that is not compressed: the body cannot be read as the header says
    "gzip-header-on-plain-body": answer("401 Unauthorized", "application/json", b'{"error":"INVALID_CREDENTIALS"}',
                                        "Content-Encoding: gzip\r\n"),
    "10-mb-body": answer("200 OK", "application/json", b'{"error": "' + b"x" * (10 * 1024 * 1024) + b'"}'),
    # what happens on the wire with a large body, a malformed Retry-After, the wrong scheme
    "refuses-from-headers-and-resets": edge_refusal(read_first=0),
    "refuses-mid-upload-and-resets": edge_refusal(read_first=256 * 1024),
    "drops-mid-upload": drops_mid_upload,
    "hangs-on-large-body": hangs_on_large_body,
    "429-unreadable-retry-after": rate_limited_once(b"later, please"),
    "tls-alert-to-plain-http": tls_alert,
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
