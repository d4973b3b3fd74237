"""Body size limit faults (faults.yaml, section "body size limit")."""

from __future__ import annotations

from starlette.requests import Request

from ..service import LoginService
from .registration import fault


@fault("no-body-limit")
class NoBodyLimit(LoginService):
    async def read_body(self, request: Request) -> bytes:
        # "request.body() already buffers the stream": the refactor dropped the size guard with the loop
        return await request.body()
