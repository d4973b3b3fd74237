"""Transport faults (faults.yaml, section "transport (what happens on the wire)"): what happens on the wire with a
large body."""

from __future__ import annotations

import asyncio

from starlette.requests import Request

from ..service import LoginService, Reject
from .registration import fault


@fault("hangs-on-large-body")
class HangsOnLargeBody(LoginService):
    max_body_bytes = 1024 * 1024  # the guard's limit (body-parser's '1mb')

    async def read_body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            # the size guard stops reading and never answers (an Express middleware that forgot `next(err)`, a
            # handler that pauses the stream): the client waits until it gives up
            while not await request.is_disconnected():
                await asyncio.sleep(0.05)
            raise Reject(self.payload_too_large())  # nobody is listening any more
        return await super().read_body(request)
