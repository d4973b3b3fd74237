"""What one request did on the wire, recorded below httpx: bytes written and read, a write that failed, the first
bytes that came back, and the ``Expect: 100-continue`` wait httpcore does not do itself.

httpx hands a failed request back as an exception whose text says little (``ReadError`` with an empty message for
a reset). The facts here are what the transport outcome is classified by (transport.py): whether the connection
was made, whether the TLS handshake finished, how much of the request was written before a write failed, whether
anything at all came back and whether it looked like TLS. A :class:`WireLog` is set per request in a context
variable; the network streams of the connection pool (``ObservedBackend``) record into the one of the request
running in their task.

``Expect: 100-continue`` (RFC 9110 section 10.1.1): httpcore writes the body right after the headers whatever the
request expects. For a request that carries the expectation, the observed stream waits, before the first body
write, for the target's interim ``100 Continue`` or a final answer, up to ``continue_wait`` seconds (curl waits 1 s):
a final answer (a 413 decided from the headers) ends the upload before it starts and is read as the response, so
an edge that refuses and closes is not cut off mid-upload; a ``100 Continue``, or no word within the wait, lets the
body go.
"""

from __future__ import annotations

import contextvars
import ssl
import typing
from dataclasses import dataclass

import anyio
import httpcore

UPLOAD_PIECE = 64 * 1024  # bytes handed to the stream at a time
TLS_RECORD_TYPES = (0x15, 0x16)  # alert, handshake: what a TLS port sends back to bytes that are not TLS


@dataclass
class WireLog:
    """One request's facts on the wire (all attempts of one connection the request used)."""

    expect_continue: bool = False  # the request carries Expect: 100-continue: wait before the body
    continue_wait: float = 1.0
    connected: bool = False  # a TCP connection was made
    tls: bool = False  # a TLS handshake was started on it
    tls_done: bool = False  # ... and completed
    written: int = 0  # bytes written (request line, headers, body)
    head_size: int | None = None  # the size of the header block (the first write)
    write_error: BaseException | None = None  # the write that failed, if one did
    received: int = 0  # bytes read from the target
    first_bytes: bytes = b""  # the first bytes read (up to 16)
    continued: bool = False  # the target said 100 Continue (or nothing within the wait)
    interim: int = 0  # bytes of interim (1xx) answers read: no answer to the request

    @property
    def answered(self) -> int:
        """Bytes of a final answer read (interim 100 Continue lines not counted)."""
        return self.received - self.interim

    @property
    def body_written(self) -> int:
        return max(0, self.written - (self.head_size or 0))

    @property
    def looks_like_tls(self) -> bool:
        """The target answered with a TLS record (to a request that was not TLS)."""
        return len(self.first_bytes) >= 2 and self.first_bytes[0] in TLS_RECORD_TYPES and self.first_bytes[1] == 3


_CURRENT: contextvars.ContextVar[WireLog | None] = contextvars.ContextVar("hyper3d_wire_log", default=None)


def begin(log: WireLog) -> contextvars.Token:
    """Record the running task's network I/O into *log* until :func:`end`."""
    return _CURRENT.set(log)


def end(token: contextvars.Token) -> None:
    _CURRENT.reset(token)


def _final_status_line(data: bytes) -> bool:
    """*data* starts a final (not 1xx) status line."""
    return not (data[:9].upper().startswith(b"HTTP/") and data[9:10] == b"1")


class ObservedStream(httpcore.AsyncNetworkStream):
    """A network stream that records into the running request's :class:`WireLog` and waits for 100 Continue."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._pending = b""  # read while waiting for 100 Continue; handed to the HTTP parser first

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if self._pending:
            data, self._pending = self._pending[:max_bytes], self._pending[max_bytes:]
            return data
        data = await self._inner.read(max_bytes, timeout)
        self._note_read(data)
        return data

    def _note_read(self, data: bytes) -> None:
        log = _CURRENT.get()
        if log is not None and data:
            if len(log.first_bytes) < 16:
                log.first_bytes += data[: 16 - len(log.first_bytes)]
            log.received += len(data)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        log = _CURRENT.get()
        if log is not None and buffer and log.head_size is not None and log.expect_continue \
                and not log.continued and log.body_written == 0:
            await self._await_continue(log, timeout)
        if log is None:
            await self._inner.write(buffer, timeout)
            return
        if buffer:
            log.connected = True  # made for this request, or a kept-alive one
        # a large body in pieces: the stream takes a whole buffer and reports a connection lost meanwhile only at
        # the next write, so each piece tells how far the upload got
        view = memoryview(buffer)
        for start in range(0, len(buffer), UPLOAD_PIECE):
            piece = bytes(view[start:start + UPLOAD_PIECE])
            try:
                await self._inner.write(piece, timeout)
            except BaseException as exc:
                log.write_error = exc
                raise
            if log.head_size is None:
                log.head_size = len(buffer)  # httpcore writes the request line and headers first, in one write
            log.written += len(piece)

    async def _await_continue(self, log: WireLog, timeout: float | None) -> None:
        """Before the first body byte: wait for 100 Continue or a final answer (then no body is sent)."""
        wait = log.continue_wait if timeout is None else min(log.continue_wait, timeout)
        received = b""
        while b"\r\n" not in received and len(received) < 16:
            try:
                data = await self._inner.read(65536, wait)
            except httpcore.ReadTimeout:
                break  # no word within the wait: the body goes (the target ignores the expectation)
            except httpcore.ReadError:
                break  # the connection went: the body write says so, and the answer is looked for as always
            self._note_read(data)
            if not data:
                break  # closed: the body write will say so
            received += data
        self._pending += received
        if not received:
            log.continued = True  # nothing said: send the body
            return
        if _final_status_line(received):  # refused from the headers: no body byte is sent
            raise httpcore.WriteError("the target answered before the body was sent")  # httpcore reads it next
        log.continued = True
        log.interim += len(received)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        log = _CURRENT.get()
        if log is not None:
            log.tls = True
        try:
            stream = await self._inner.start_tls(ssl_context, server_hostname, timeout)
        except BaseException:  # cancelled at the request's deadline too: httpcore closes the connection only on an
            with anyio.CancelScope(shield=True):  # Exception, and the socket would be left to the garbage collector
                await self._inner.aclose()
            raise
        if log is not None:
            log.tls_done = True
        return ObservedStream(stream)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class ObservedBackend(httpcore.AsyncNetworkBackend):
    """The connection pool's network backend, its streams observed (:class:`ObservedStream`)."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                          socket_options: typing.Iterable | None = None) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        log = _CURRENT.get()
        if log is not None:
            log.connected = True
        return ObservedStream(stream)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: typing.Iterable | None = None) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_unix_socket(path, timeout, socket_options)
        log = _CURRENT.get()
        if log is not None:
            log.connected = True
        return ObservedStream(stream)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def observe_pool(transport: typing.Any) -> bool:
    """Put an :class:`ObservedBackend` under an httpx transport's connection pool; False when it has none (a mock
    transport, a proxy): its outcomes are then classified by the exception alone."""
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if not isinstance(backend, httpcore.AsyncNetworkBackend):
        return False
    if not isinstance(backend, ObservedBackend):
        pool._network_backend = ObservedBackend(backend)
    return True
