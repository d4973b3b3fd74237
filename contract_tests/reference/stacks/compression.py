"""Compressed answers, as a CDN, nginx (``gzip on; gzip_types application/json;``, ``brotli on;``) or a compression
middleware (Starlette's GZipMiddleware, Express's ``compression()``, ASP.NET's ResponseCompression) sends them: the
answer's body in a content coding the client listed in ``Accept-Encoding`` (RFC 9110 §12.5.3), with
``Content-Encoding`` and ``Vary: Accept-Encoding``; an answer the client did not ask to compress goes as it is.

Conforming: the suite's client must read the body as its HTTP library decodes it, once. Used by the conforming
variants ``gzip``, ``br`` and ``deflate`` (contract_tests/reference/variants.py).
"""

from __future__ import annotations

import gzip
import zlib
from typing import Callable

from starlette.datastructures import Headers, MutableHeaders


def _brotli(data: bytes) -> bytes:
    import brotli  # a dependency of the project: httpx decodes (and asks for) br only with it installed

    return brotli.compress(data)


CODINGS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": lambda data: gzip.compress(data, mtime=0),
    "br": _brotli,
    "deflate": zlib.compress,  # HTTP's "deflate" is the zlib format (RFC 9110 §8.4.1.2)
}


def accepted(accept_encoding: str) -> set[str]:
    """The codings an ``Accept-Encoding`` value accepts (q=0 refuses one)."""
    found = set()
    for item in accept_encoding.split(","):
        name, _, params = item.strip().partition(";")
        q = params.strip().lower()
        if name and not (q.startswith("q=") and float(q[2:] or 0) == 0):
            found.add(name.strip().lower())
    return found


class CompressAnswers:
    """ASGI middleware: compresses every answer body of at least *minimum_size* bytes with *coding* when the request
    accepts it (the whole body is collected first: login answers are small)."""

    def __init__(self, app, coding: str, minimum_size: int = 0) -> None:
        self.app, self.coding, self.minimum_size = app, coding, minimum_size

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or self.coding not in accepted(Headers(scope=scope).get("accept-encoding", "")):
            await self.app(scope, receive, send)
            return
        start: dict = {}
        chunks: list[bytes] = []

        async def collect(message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            headers = MutableHeaders(raw=list(start.get("headers", [])))
            if len(body) >= self.minimum_size and "content-encoding" not in headers:
                body = CODINGS[self.coding](body)
                headers["Content-Encoding"] = self.coding
                headers.add_vary_header("Accept-Encoding")
            headers["Content-Length"] = str(len(body))
            await send({**start, "headers": headers.raw})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, collect)
