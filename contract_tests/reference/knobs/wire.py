"""Wire-level knobs: content codings, chunked bodies, connection close, HTTP/1.0, extra headers, slow answers.

Each is an ASGI middleware in front of the login service (``Rewrite`` buffers the answer and rewrites it), except
HTTP/1.0, which also needs a front on the TCP level (``HTTP10Front``): uvicorn always answers HTTP/1.1.
"""

from __future__ import annotations

import asyncio
import importlib.util
import socket
import socketserver
import threading
import uuid
import zlib

from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..request_body import buffered, replaying


def accepted_codings(scope: Scope) -> dict[str, float]:
    """Accept-Encoding of the request: coding -> q (RFC 9110 §12.5.3)."""
    value = b", ".join(v for k, v in scope.get("headers", []) if k.lower() == b"accept-encoding").decode("latin-1")
    codings: dict[str, float] = {}
    for item in value.split(","):
        name, _, params = item.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if name.strip():
            codings[name.strip().lower()] = q
    return codings


class Rewrite:
    """Buffers the app's answer and lets ``rewrite`` change status, headers and body chunks before sending."""

    drain_first = False  # read the whole request body before the app answers (a lingering close needs it)

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.drain_first:
            receive = await self.drained(receive)
        start: Message = {}
        body: list[bytes] = []

        async def collect(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            body.append(message.get("body", b""))
            if not message.get("more_body"):
                status, headers, chunks = await self.rewrite(scope, start["status"], list(start.get("headers", [])),
                                                             b"".join(body))
                await send({"type": "http.response.start", "status": status, "headers": headers})
                for i, chunk in enumerate(chunks):
                    await send({"type": "http.response.body", "body": chunk, "more_body": i < len(chunks) - 1})

        await self.app(scope, receive, collect)

    @staticmethod
    async def drained(receive: Receive) -> Receive:
        body, _ = await buffered(receive)
        return replaying(body or b"", receive)

    async def rewrite(self, scope: Scope, status: int, headers: list[tuple[bytes, bytes]],
                      body: bytes) -> tuple[int, list[tuple[bytes, bytes]], list[bytes]]:
        return status, headers, [body]


def without(headers: list[tuple[bytes, bytes]], *names: bytes) -> list[tuple[bytes, bytes]]:
    return [(k, v) for k, v in headers if k.lower() not in names]


def with_length(headers: list[tuple[bytes, bytes]], body: bytes) -> list[tuple[bytes, bytes]]:
    return [*without(headers, b"content-length"), (b"content-length", str(len(body)).encode())]


class GzipAnswers(GZipMiddleware):
    source = ("nginx `gzip on; gzip_types application/json;` with gzip_min_length 20 (its default), as Starlette's "
              "GZipMiddleware implements it: gzip only when Accept-Encoding lists it, Vary: Accept-Encoding")

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app, minimum_size=20)


class Encode(Rewrite):
    """A content coding applied when the request accepts it (q > 0), with Vary: Accept-Encoding."""

    coding = b""

    def available(self) -> bool:
        return True

    def encode(self, body: bytes) -> bytes:
        raise NotImplementedError

    async def rewrite(self, scope, status, headers, body):
        headers = [*headers, (b"vary", b"Accept-Encoding")]
        if (not body or not self.available()
                or accepted_codings(scope).get(self.coding.decode(), 0.0) <= 0
                or any(k.lower() == b"content-encoding" for k, _ in headers)):
            return status, headers, [body]
        encoded = self.encode(body)
        return status, with_length([*headers, (b"content-encoding", self.coding)], encoded), [encoded]


class DeflateAnswers(Encode):
    source = ("Express `compression` middleware / Apache mod_deflate: `deflate` (zlib format, RFC 9110 §8.4.1.2) "
              "when Accept-Encoding lists it")
    coding = b"deflate"

    def encode(self, body: bytes) -> bytes:
        return zlib.compress(body)


class BrotliAnswers(Encode):
    """`br` only when the request asks for it. httpx advertises br only when brotli (or brotlicffi) is installed,
    so a suite without it never receives br; a server without an encoder for it does not use it either."""

    source = "Cloudflare / nginx ngx_brotli / Express compression >= 1.8: `br` when Accept-Encoding lists it"
    coding = b"br"

    def available(self) -> bool:
        return any(importlib.util.find_spec(m) is not None for m in ("brotli", "brotlicffi"))

    def encode(self, body: bytes) -> bytes:
        try:
            import brotli
        except ImportError:  # pragma: no cover - whichever is installed
            import brotlicffi as brotli
        return brotli.compress(body)


class ChunkedAnswers(Rewrite):
    source = ("Node's http module / Express res.write(): a body streamed without Content-Length is sent "
              "Transfer-Encoding: chunked (here in three chunks)")

    async def rewrite(self, scope, status, headers, body):
        third = max(1, len(body) // 3)
        chunks = [body[:third], body[third:2 * third], body[2 * third:]]
        return status, without(headers, b"content-length"), [c for c in chunks if c] or [b""]


class ConnectionClose(Rewrite):
    source = ("an upstream or proxy with keep-alive off (nginx `keepalive_timeout 0`, Go Server.SetKeepAlivesEnabled"
              "(false)): every answer carries Connection: close and the connection is closed after it, the request "
              "read first (nginx's lingering_close, Go's closeWriteAndWait: no reset under an unread body)")
    drain_first = True

    async def rewrite(self, scope, status, headers, body):
        return status, with_length([*without(headers, b"connection"), (b"connection", b"close")], body), [body]


class HTTP10Answers(ConnectionClose):
    """The middleware half of HTTP/1.0: a Content-Length on every answer and the connection closed after it; the
    status line is rewritten by `HTTP10Front`."""

    source = ("an HTTP/1.0 server or proxy (nginx `proxy_http_version` 1.0 is its default towards upstreams; "
              "Python's http.server BaseHTTPRequestHandler.protocol_version = \"HTTP/1.0\", its default): "
              "HTTP/1.0 status line, no chunked coding, no keep-alive, no 100 Continue")


class HTTP10Front(socketserver.ThreadingTCPServer):
    """A TCP front on its own loopback port that relays to the server and rewrites each answer's status line to
    HTTP/1.0, dropping interim 1xx answers (an HTTP/1.0 server sends none). Plain blocking sockets, a thread per
    connection (socketserver), every socket closed by the thread that opened it."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, upstream: tuple[str, int]) -> None:
        super().__init__((upstream[0], 0), _Relay)
        self.upstream = upstream
        self.port = self.server_address[1]
        self.thread = threading.Thread(target=self.serve_forever, name=f"hyper3d-http10-{self.port}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self.thread.join(5)


class _Relay(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        client: socket.socket = self.request
        try:
            upstream = socket.create_connection(self.server.upstream, timeout=60)
        except OSError:
            return
        pump = threading.Thread(target=self.upload, args=(client, upstream), daemon=True)
        with upstream:
            pump.start()
            try:
                self.download(upstream, client)
            except OSError:
                pass
            for sock, how in ((upstream, socket.SHUT_RDWR), (client, socket.SHUT_RD)):  # ends the upload too
                try:
                    sock.shutdown(how)
                except OSError:
                    pass
        pump.join(5)

    @staticmethod
    def upload(client: socket.socket, upstream: socket.socket) -> None:
        try:
            while data := client.recv(65536):
                upstream.sendall(data)
        except OSError:
            pass

    @staticmethod
    def download(upstream: socket.socket, client: socket.socket) -> None:
        buffer = b""
        while True:
            while b"\r\n\r\n" not in buffer:
                data = upstream.recv(65536)
                if not data:
                    return
                buffer += data
            head, _, rest = buffer.partition(b"\r\n\r\n")
            if head[9:10] == b"1":  # 1xx interim answer: an HTTP/1.0 server sends none
                buffer = rest
                continue
            client.sendall(b"HTTP/1.0" + head[8:] + b"\r\n\r\n" + rest)
            break
        while data := upstream.recv(65536):
            client.sendall(data)


class RequestIdHeader(Rewrite):
    source = "Heroku's router / nginx `add_header X-Request-Id $request_id`: a fresh X-Request-Id on every answer"

    async def rewrite(self, scope, status, headers, body):
        return status, [*headers, (b"x-request-id", str(uuid.uuid4()).encode())], [body]


class FrameworkHeaders(Rewrite):
    source = ("Express's default X-Powered-By: Express, and a Server header naming the stack (uvicorn, "
              "Kestrel and gunicorn send one by default)")

    async def rewrite(self, scope, status, headers, body):
        return status, [*without(headers, b"server", b"x-powered-by"), (b"server", b"uvicorn"),
                        (b"x-powered-by", b"Express")], [body]


class RateLimitHeaders(Rewrite):
    source = ("express-rate-limit `standardHeaders: 'draft-6'` (IETF draft RateLimit header fields): RateLimit-Policy,"
              " RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset on every answer, never refusing here")
    limit = 1000

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app)
        self.used = 0

    async def rewrite(self, scope, status, headers, body):
        self.used += 1
        extra = [(b"ratelimit-policy", f"{self.limit};w=60".encode()), (b"ratelimit-limit", str(self.limit).encode()),
                 (b"ratelimit-remaining", str(max(0, self.limit - self.used)).encode()), (b"ratelimit-reset", b"60")]
        return status, [*headers, *extra], [body]


class SessionCookie(Rewrite):
    source = ("express-session / Django's SessionMiddleware with a session started for every visitor: Set-Cookie "
              "with a random session id (HttpOnly, SameSite=Lax) on every answer")

    async def rewrite(self, scope, status, headers, body):
        cookie = f"sessionid={uuid.uuid4().hex}; HttpOnly; Path=/; SameSite=Lax".encode()
        return status, [*headers, (b"set-cookie", cookie)], [body]


class SlowAnswers(Rewrite):
    source = "a far region or a loaded upstream: every answer 120 ms late (a transatlantic round trip and some)"
    delay = 0.12

    async def rewrite(self, scope, status, headers, body):
        await asyncio.sleep(self.delay)
        return status, headers, [body]
