"""What Node.js stacks share: body-parser (100kb limit, lenient UTF-8 decoding, strict top-level JSON), JavaScript
string semantics and jsonwebtoken's default claims."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from ..service import LOGIN_PATH, LoginRequest, LoginService, User

BODY_PARSER_LIMIT = 100 * 1024  # body-parser's default `limit: '100kb'`
# Node's http.STATUS_CODES (the `statuses` package) for the statuses these servers send
STATUS_TEXT = {400: "Bad Request", 404: "Not Found", 413: "Payload Too Large", 500: "Internal Server Error"}


class BodyParserError(Exception):
    """An error body-parser hands to next(err): an HTTP status and its `message`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def read_limited(request: Request, limit: int = BODY_PARSER_LIMIT) -> bytes:
    """raw-body: Content-Length checked first, then the stream; over the limit is a 413."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyParserError(413, "request entity too large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyParserError(413, "request entity too large")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json_body(raw: bytes) -> Any:
    """body-parser's json(): iconv-lite decodes leniently (invalid bytes become U+FFFD), an empty body is {},
    strict mode accepts only an object or an array at the top level, JSON.parse errors are 400s."""
    text = raw.decode("utf-8", "replace")
    if not text:
        return {}
    first = text.lstrip(" \t\n\r")[:1]
    if first not in ("{", "["):
        raise BodyParserError(400, f"Unexpected token '{first or ' '}', \"{text[:10]}\" is not valid JSON")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise BodyParserError(400, f"Unexpected token in JSON at position {getattr(exc, 'pos', 0)}") from None
    except RecursionError:  # V8 has a deeper stack; a nesting bomb is still refused as malformed
        raise BodyParserError(400, "Maximum call stack size exceeded") from None


def parse_urlencoded_body(raw: bytes) -> dict[str, Any]:
    """urlencoded({ extended: true }) as NestJS registers it: repeated keys become arrays."""
    data: dict[str, Any] = {}
    for key, value in parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True):
        if key in data:
            data[key] = [*data[key], value] if isinstance(data[key], list) else [data[key], value]
        else:
            data[key] = value
    return data


def js_length(value: str) -> int:
    """String.prototype.length: UTF-16 code units (an emoji counts 2)."""
    return len(value.encode("utf-16-le", "surrogatepass")) // 2


def validator_js_length(value: str) -> int:
    """validator.js isLength(), used by class-validator's MaxLength: surrogate pairs count 1, and the variation
    selectors U+FE0E / U+FE0F are not counted at all."""
    return len(value) - value.count("\ufe0e") - value.count("\ufe0f")


def js_utf8(value: str) -> bytes:
    """Buffer.from(string): lone surrogates become U+FFFD (Node never throws on them)."""
    return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace").encode("utf-8")


class JsonWebTokenClaims:
    """jsonwebtoken's jwt.sign({ sub }, secret, { expiresIn }): `iat` in whole seconds, no `jti`, so two logins in
    the same second get the same token. The clock is read once per server, which makes "the same second" hold for
    every login of a run instead of almost every one (deterministic self-tests)."""

    jwt_expires_in = 7 * 24 * 3600

    def token_claims(self, user: User, login: LoginRequest) -> dict[str, Any]:
        issued = getattr(self, "_issued_at", None)
        if issued is None:
            issued = self._issued_at = int(time.time())
        return {"sub": user.uuid, "iat": issued, "exp": issued + self.jwt_expires_in}


class NodeJSON(Response):
    """res.json(): JSON.stringify (non-ASCII as UTF-8, lone surrogates escaped), charset in the content type."""

    media_type = "application/json; charset=utf-8"

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "backslashreplace")


class ExpressRouted(JsonWebTokenClaims, LoginService):
    """A login route on an Express router (Express itself, or under NestJS): res.json() answers, OPTIONS answered by
    Express (200, Allow, the method list as a text/html body), anything else by ``not_found``."""

    def json(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
        return NodeJSON(body, status_code=status, headers=headers)

    async def route(self, request: Request) -> Response:
        if request.url.path == LOGIN_PATH and request.method == "POST":
            return await self.login(request)
        if request.url.path == LOGIN_PATH and request.method == "OPTIONS":
            return Response("POST", 200, {"Allow": "POST"}, media_type="text/html; charset=utf-8")
        return self.not_found(request)

    def not_found(self, request: Request) -> Response:
        raise NotImplementedError

    async def login(self, request: Request) -> Response:
        data = await self.request_data(request)
        login = self.validate(data)
        user = self.guarded_authenticate(login)
        return self.success(request, user, login)
