"""The BodyParsing part of LoginService: the login request's body read and decoded (Content-Type, size limit,
JSON object), before any field is looked at."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from .answers import Reject


class BodyParsing:
    """Content-Type checked, the body read within max_body_bytes, parsed as a JSON object; Reject otherwise."""

    max_body_bytes = 64 * 1024

    def check_content_type(self, request: Request) -> None:
        media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type != "application/json":
            raise Reject(self.unsupported_media_type())

    async def request_data(self, request: Request) -> dict[str, Any]:
        raw = await self.read_body(request)
        return self.parse_json(raw)

    async def read_body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            raise Reject(self.payload_too_large())
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise Reject(self.payload_too_large())
            chunks.append(chunk)
        return b"".join(chunks)

    def parse_json(self, raw: bytes) -> dict[str, Any]:
        if not raw.strip():
            raise Reject(self.malformed_body("request body is empty"))
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            raise Reject(self.malformed_body("request body is not valid JSON")) from None
        if not isinstance(data, dict):
            raise Reject(self.malformed_body("request body must be a JSON object"))
        return data


__all__ = ["BodyParsing"]
