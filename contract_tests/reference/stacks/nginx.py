"""`nginx-front`: the conforming reference behind an nginx-like reverse proxy (an ASGI middleware, not nginx):

    limit_req_zone $binary_remote_addr zone=api:10m rate=50r/s;
    server {
        client_max_body_size 16k;
        location /api/ { limit_req zone=api burst=100 nodelay; limit_req_status 429; proxy_pass http://app; }
    }

nginx answers 413 and 429 itself, with its own HTML pages, no Retry-After and none of the upstream's headers.
"""

from __future__ import annotations

import threading
import time

from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..request_body import buffered, discard, replaying
from ..service import LoginService
from . import stack


def nginx_page(status: int, reason: str) -> bytes:
    """ngx_http_special_response.c's page (server_tokens off)."""
    return (f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
            f"<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
            ).encode()


class LeakyBucket:
    """ngx_http_limit_req_module with nodelay: `excess` drains at `rate` per second; a request that would push it
    over `burst` is rejected (and does not count)."""

    def __init__(self, rate: float, burst: int, clock=time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self.lock = threading.Lock()
        self.state: dict[str, tuple[float, float]] = {}  # key -> (excess, last)

    def allow(self, key: str) -> bool:
        now = self.clock()
        with self.lock:
            excess, last = self.state.get(key, (0.0, now))
            excess = max(0.0, excess - self.rate * (now - last)) + 1
            if excess > self.burst + 1:
                return False
            self.state[key] = (excess, now)
            return True


class NginxFront:
    max_body_bytes = 16 * 1024  # client_max_body_size 16k

    def __init__(self, app: ASGIApp, rate: float = 50.0, burst: int = 100) -> None:
        self.app = app
        self.bucket = LeakyBucket(rate, burst)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body_bytes:  # checked before anything else
            await discard(receive)
            await self.page(send, 413, "Request Entity Too Large")
            return
        if not self.bucket.allow((scope.get("client") or ("?",))[0]):
            await discard(receive)
            await self.page(send, 429, "Too Many Requests")
            return
        body, within = await buffered(receive, self.max_body_bytes)  # nginx buffers the body before proxying it
        if not within:
            await self.page(send, 413, "Request Entity Too Large")
            return
        if body is None:  # the client went away
            return
        replay = replaying(body, receive)

        async def send_as_nginx(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
                message = {**message, "headers": [*kept, (b"server", b"nginx")]}
            await send(message)

        await self.app(scope, replay, send_as_nginx)

    @staticmethod
    async def page(send: Send, status: int, reason: str) -> None:
        body = nginx_page(status, reason)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"server", b"nginx"), (b"content-type", b"text/html"),
                                (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


@stack("nginx-front")
class NginxFronted(LoginService):
    limit_rate = 50.0  # r/s: a default run (about 220 requests) meets a 429 or two, and waits a second each
    limit_burst = 100

    def middleware(self) -> list[Middleware]:
        return [Middleware(NginxFront, rate=self.limit_rate, burst=self.limit_burst)]
