"""Service-level and proxy-level knobs: failure statuses, validators, success extras, body limits, lockout and
rate-limit policies, proxy pages. Each class names its real-world source and documented default in ``source``."""

from __future__ import annotations

import math
import threading
from typing import Any

from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ..guards import RequestRate
from ..request_body import discard
from ..service import LoginRequest, LoginService, User
from ..stacks.lockout import LockoutPolicy
from ..stacks.nginx import LeakyBucket, NginxFront, nginx_page


# ----------------------------------------------------------------------------------------- failure statuses
class ErrorIn200(LoginService):
    source = ("the 2xx-with-error vendor style (Slack's Web API answers HTTP 200 {\"ok\": false, \"error\": ...}): "
              "credential failures 200 + error; validation failures keep their 4xx")

    def credential_failure(self, login: LoginRequest, user: User | None) -> Response:
        return self.json(200, {"error": "INVALID_CREDENTIALS"})


class Validation422(LoginService):
    source = "Laravel / Rails / FastAPI: a failed validation is 422 Unprocessable Content (malformed JSON stays 400)"

    def validation_failure(self, detail: str) -> Response:
        return self.login_failure(422, {"error": "INVALID_REQUEST", "detail": detail})


# ----------------------------------------------------------------------------------------- validators
class CoerceNumbers(LoginService):
    source = ("lax validators: Django REST framework's CharField and pydantic v1's str accept a number and turn it "
              "into its string (12345 -> \"12345\"); booleans, null, arrays and objects are still refused")

    def validate(self, data: dict[str, Any]) -> LoginRequest:
        coerced = {k: (str(v) if k in ("email", "username", "password") and isinstance(v, (int, float))
                       and not isinstance(v, bool) else v) for k, v in data.items()}
        return super().validate(coerced)


class TrimIdentifiers(LoginService):
    source = ("Laravel's TrimStrings middleware (on by default; its $except lists password, password_confirmation, "
              "current_password): identifiers are trimmed, passwords never")

    def validate_email(self, value: Any) -> str:
        return super().validate_email(value.strip() if isinstance(value, str) else value)

    def validate_username(self, value: Any) -> str:
        return super().validate_username(value.strip() if isinstance(value, str) else value)


# ----------------------------------------------------------------------------------------- success extras
class OAuthExtras(LoginService):
    source = ("OAuth 2.0 token-response members next to the token (RFC 6749 §5.1: token_type, expires_in, "
              "refresh_token, an opaque string)")

    def success_body(self, user: User, token: str) -> dict[str, Any]:
        import secrets

        return {**super().success_body(user, token), "token_type": "Bearer",
                "expires_in": self.token_lifetime_seconds, "refresh_token": secrets.token_urlsafe(32)}


# ----------------------------------------------------------------------------------------- body limits
class BodyParser100kb(LoginService):
    source = "Express / NestJS body-parser: json({ limit: '100kb' }) is the default, over it 413 (JSON under NestJS)"
    max_body_bytes = 100 * 1024


class GoMaxBytesReader(LoginService):
    source = ("Go net/http: http.MaxBytesReader(w, r.Body, 1<<20) (inclusive: exactly 1 MiB is read) and "
              "http.Error(w, \"http: request body too large\", 400): text/plain; charset=utf-8 with nosniff")
    max_body_bytes = 1 << 20

    def payload_too_large(self) -> Response:
        return PlainTextResponse("http: request body too large\n", status_code=400,
                                 headers={"X-Content-Type-Options": "nosniff"})


class ApiGateway10MB(LoginService):
    source = ("Amazon API Gateway: payloads up to 10 MB; over it 413 {\"message\": \"Request Too Long\"} "
              "(the gateway's own answer, no `error`)")
    max_body_bytes = 10 * 1024 * 1024

    def payload_too_large(self) -> Response:
        return self.json(413, {"message": "Request Too Long"})


class NginxBodyLimit1m(NginxFront):
    source = ("nginx client_max_body_size 1m (its default; a body of exactly 1 MiB is allowed): nginx's own HTML 413 "
              "page, none of the upstream's headers")
    max_body_bytes = 1024 * 1024

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app, rate=1e9, burst=10**9)


class EarlyClose413:
    """Answers from the headers and closes without reading the body."""

    source = ("Go net/http: a handler that answers without reading a body over 256 KiB (maxPostHandlerReadBytes) "
              "gets the connection closed after its answer; here 413 JSON from Content-Length, body unread")
    limit = 256 * 1024

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = dict(scope.get("headers", [])).get(b"content-length", b"") if scope["type"] == "http" else b""
        if declared.isdigit() and int(declared) > self.limit:
            body = b'{"error":"PAYLOAD_TOO_LARGE"}'
            await send({"type": "http.response.start", "status": 413,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", b"29"),
                                    (b"x-content-type-options", b"nosniff"), (b"connection", b"close")]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


# ----------------------------------------------------------------------------------------- account policies
class IdentifierLockout(LockoutPolicy):
    source = ("django-axes with AXES_LOCKOUT_PARAMETERS=[\"username\"] (unknown identifiers counted too), "
              "AXES_RESET_ON_SUCCESS=False (its default) and AXES_HTTP_RESPONSE_CODE=403, answering the vendor's "
              "USER_FORBIDDEN without Retry-After")
    lock_after = 6
    window_seconds = 300.0
    lock_seconds = 2.0
    lock_status, lock_error, retry_after, reset_on_success = 403, "USER_FORBIDDEN", False, False


class Lockout429ResetOnSuccess(IdentifierLockout):
    source = ("Spring Security / ASP.NET Core Identity style lockout (Identity: MaxFailedAccessAttempts 5, the count "
              "reset by a successful sign-in): 5 failures lock the identifier, 429 RATE_LIMITED with Retry-After")
    lock_after = 5
    lock_status, lock_error, retry_after, reset_on_success = 429, "RATE_LIMITED", True, True


# ----------------------------------------------------------------------------------------- address policies
class AddressRateLimitJSON:
    source = ("express-rate-limit keyed by address (its default keyGenerator) with message {error: 'RATE_LIMITED'}: "
              "429 JSON with Retry-After once the window's requests are used up")
    burst, cooldown = 80, 1.0

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.rate = RequestRate(self.burst, self.cooldown)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            wait = self.rate.refused_for()
            if wait > 0:
                body = b'{"error":"RATE_LIMITED"}'
                await send({"type": "http.response.start", "status": 429, "headers": [
                    (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                    (b"x-content-type-options", b"nosniff"), (b"retry-after", str(math.ceil(wait)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


class AddressRateLimitNginx:
    source = ("nginx limit_req zone=$binary_remote_addr rate=40r/s burst=60 nodelay, limit_req_status 429: "
              "nginx's HTML 429 page, no Retry-After")

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.bucket = LeakyBucket(40.0, 60)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.bucket.allow((scope.get("client") or ("?",))[0]):
            # nginx reads and discards the rest of the request body before it closes (lingering_close), so the client
            # gets the page instead of a reset
            await discard(receive)
            await NginxFront.page(send, 429, "Too Many Requests")
            return
        await self.app(scope, receive, send)


# ----------------------------------------------------------------------------------------- proxy pages
class ProxyBlip:
    """Every `every`-th request is answered by the proxy with its own page (an upstream restart, a health-check
    flap): counted in requests, so the moment does not depend on the machine's speed."""

    every = 45
    status = 502
    content_type = b"text/html"
    page = b""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.count = 0
        self.lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            with self.lock:
                self.count += 1
                blip = self.count % self.every == 0
            if blip:
                await send({"type": "http.response.start", "status": self.status, "headers": [
                    (b"content-type", self.content_type), (b"content-length", str(len(self.page)).encode())]})
                await send({"type": "http.response.body", "body": self.page})
                return
        await self.app(scope, receive, send)


class Nginx502(ProxyBlip):
    source = "nginx proxy_pass to an upstream that reset the connection: nginx's HTML 502 Bad Gateway page"
    status, page = 502, nginx_page(502, "Bad Gateway")


class HAProxy503(ProxyBlip):
    source = ("HAProxy with no healthy server in the backend for a moment: its default 503 page "
              "(\"No server is available to handle this request.\")")
    status = 503
    page = (b"<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n"
            b"</body></html>\n")


class Envoy504(ProxyBlip):
    source = "Envoy's route timeout (15 s by default) expired: 504 text/plain \"upstream request timeout\""
    status, content_type, page = 504, b"text/plain", b"upstream request timeout"
