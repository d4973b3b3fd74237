"""The conforming login service of the bundled reference server.

`LoginService` answers ``POST /api/user/login`` (and everything else) for one server instance.  It is written
as a chain of small methods; faults and conforming variants (see ``faults.py`` / ``variants.py``) are subclasses
that override one of them.  Every instance owns its state: a fresh in-memory SQLite user store, a random JWT
secret and its own argon2 hashes.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import secrets
import sqlite3
import time
import unicodedata
import uuid
from dataclasses import dataclass, replace
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from .accounts import (  # noqa: F401  (re-exported: the service's accounts)
    DEMO_EMAIL,
    DEMO_PASSWORD,
    DEMO_USER_UUID,
    DEMO_USERNAME,
    LOGIN_PATH,
    OTHER_EMAIL,
    OTHER_PASSWORD,
    OTHER_USER_UUID,
    OTHER_USERNAME,
)
from .guards import CaptchaVerifier, Throttle

logger = logging.getLogger("contract_tests.reference")

KNOWN_FIELDS = frozenset({"email", "username", "password"})


@dataclass(frozen=True)
class SeedUser:
    uuid: str
    email: str
    username: str
    password: str
    avatar_url: str
    created_at: str


SEED_USERS: tuple[SeedUser, ...] = (
    SeedUser(DEMO_USER_UUID, DEMO_EMAIL, DEMO_USERNAME, DEMO_PASSWORD,
             "https://avatars.hyper3d.test/demo.png", "2024-03-01T09:00:00Z"),
    SeedUser(OTHER_USER_UUID, OTHER_EMAIL, OTHER_USERNAME, OTHER_PASSWORD,
             "https://avatars.hyper3d.test/other.png", "2024-06-15T17:30:00Z"),
)


@dataclass(frozen=True)
class User:
    uuid: str
    email: str
    username: str
    avatar_url: str
    password_hash: str
    created_at: str


USER_COLUMNS = "uuid, email, username, avatar_url, password_hash, created_at"


@dataclass(frozen=True)
class LoginRequest:
    """A schema-valid login request."""

    email: str | None
    username: str | None
    password: str
    data: dict[str, Any]


class Reject(Exception):
    """Short-circuits request handling with a ready response."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class JSONBody(Response):
    """application/json, ASCII-escaped (lone surrogates in echoed input can never break encoding)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def is_email_address(value: str, max_length: int = 254) -> bool:
    """A simple, sane email check: one "@", non-empty local part, dotted domain, no whitespace/control chars."""
    if not value or len(value) > max_length or value.count("@") != 1:
        return False
    if any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        return False
    local, domain = value.split("@")
    if not local or "." not in domain:
        return False
    return all(domain.split("."))


class LoginService:
    """The conforming reference implementation. Subclasses override one method to become a fault/variant."""

    max_body_bytes = 64 * 1024
    username_max_length = 80
    email_max_length = 254
    token_lifetime_seconds = 24 * 3600
    jwt_algorithm = "HS256"
    realm = "hyper3d-login"
    allowed_methods = ("POST", "OPTIONS")
    # Origins allowed to call the API from a browser. The reference allows none.
    allowed_origins: frozenset[str] = frozenset()
    # Set by the @fault / @variant registration decorators.
    mutation_name: str | None = None

    def __init__(self, *, database: str = ":memory:", demo_password: str | None = None) -> None:
        self.hasher = self.make_hasher()
        self.secret = secrets.token_bytes(32)
        self.db = sqlite3.connect(database, check_same_thread=False, isolation_level=None)
        self.create_schema()
        for seed in SEED_USERS:
            if demo_password and seed.email == DEMO_EMAIL:
                seed = replace(seed, password=demo_password)  # e.g. a distinctive password for secret greps
            self.register(seed)
        self.dummy_hash = self.hash_password(secrets.token_urlsafe(18))
        self.setup()

    # ------------------------------------------------------------------ set-up
    def setup(self) -> None:
        """Hook for subclasses needing extra per-instance state."""

    # argon2 cost: deliberately cheap so the suite is fast (the `slow` variant and the timing-leak fault use a
    # realistic one).
    hash_time_cost = 1
    hash_memory_cost = 1024  # KiB

    def make_hasher(self) -> PasswordHasher:
        return PasswordHasher(time_cost=self.hash_time_cost, memory_cost=self.hash_memory_cost, parallelism=1)

    def create_schema(self) -> None:
        self.db.execute(
            "CREATE TABLE users ("
            " id INTEGER PRIMARY KEY,"
            " uuid TEXT NOT NULL UNIQUE,"
            " email TEXT NOT NULL UNIQUE COLLATE NOCASE,"
            " username TEXT NOT NULL,"
            " avatar_url TEXT NOT NULL,"
            " password_hash TEXT NOT NULL,"
            " created_at TEXT NOT NULL)"
        )

    def register(self, seed: SeedUser) -> None:
        self.db.execute(
            "INSERT INTO users (uuid, email, username, avatar_url, password_hash, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (seed.uuid, seed.email, seed.username, seed.avatar_url, self.hash_password(seed.password),
             seed.created_at),
        )

    # ------------------------------------------------------------------ ASGI entry
    async def handle(self, request: Request) -> Response:
        """Answers any request (any path, any method)."""
        try:
            response = await self.route(request)
        except Reject as reject:
            response = reject.response
        except ClientDisconnect:  # the client went away mid-body (an interrupted run): nobody reads an answer
            return Response(status_code=400)
        except Exception as exc:  # noqa: BLE001 - the server must always answer JSON
            response = self.internal_error(exc)
        try:
            return self.finalize(request, response)
        except Exception as exc:  # noqa: BLE001
            return self.internal_error(exc)

    async def route(self, request: Request) -> Response:
        if request.url.path != LOGIN_PATH:
            return self.not_found(request)
        if request.method == "OPTIONS":
            return self.options(request)
        if request.method != "POST":
            return self.method_not_allowed(request)
        return await self.login(request)

    async def login(self, request: Request) -> Response:
        self.check_content_type(request)
        data = await self.request_data(request)
        login = self.validate(data)
        self.check_captcha(request, login)
        user = self.guarded_authenticate(login)
        return self.success(request, user, login)

    # ------------------------------------------------------------------ request body
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

    # ------------------------------------------------------------------ validation
    def invalid(self, detail: str) -> Reject:
        return Reject(self.validation_failure(detail))

    def validate(self, data: dict[str, Any]) -> LoginRequest:
        self.check_unknown_fields(sorted(set(data) - KNOWN_FIELDS))
        password = self.validate_password(data)
        email = self.validate_email(data["email"]) if "email" in data else None
        username = self.validate_username(data["username"]) if "username" in data else None
        if email is None and username is None:
            raise self.invalid("one of email or username is required")
        return LoginRequest(email=email, username=username, password=password, data=data)

    def check_unknown_fields(self, names: list[str]) -> None:
        """Unknown properties are ignored by the reference."""

    def validate_password(self, data: dict[str, Any]) -> str:
        if "password" not in data:
            raise self.invalid("password is required")
        password = data["password"]
        if not isinstance(password, str):
            raise self.invalid("password must be a string")
        return password

    def validate_email(self, value: Any) -> str:
        if not isinstance(value, str):
            raise self.invalid("email must be a string")
        if not is_email_address(value, self.email_max_length):
            raise self.invalid("email must be a valid email address")
        return value

    def validate_username(self, value: Any) -> str:
        if not isinstance(value, str):
            raise self.invalid("username must be a string")
        if len(value) > self.username_max_length:
            raise self.invalid(f"username must be at most {self.username_max_length} characters")
        return value

    # ------------------------------------------------------------------ authentication
    def account_key(self, login: LoginRequest) -> str | None:
        """`email` decides the account; the deprecated `username` carries the email otherwise."""
        key = login.email if login.email is not None else login.username
        try:
            key.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: cannot be a stored email
            return None
        return key

    def find_user(self, key: str) -> User | None:
        row = self.db.execute(f"SELECT {USER_COLUMNS} FROM users WHERE email = ?", (key,)).fetchone()
        return User(*row) if row else None

    def prepare_password(self, password: str) -> bytes:
        return password.encode("utf-8", "surrogatepass")

    def hash_password(self, password: str) -> str:
        return self.hasher.hash(self.prepare_password(password))

    def verify_password(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, self.prepare_password(password))
        except VerificationError:
            return False

    def authenticate(self, login: LoginRequest) -> User:
        key = self.account_key(login)
        user = self.find_user(key) if key is not None else None
        # Unknown accounts are verified against a dummy hash so both failures cost the same.
        ok = self.verify_password(user.password_hash if user else self.dummy_hash, login.password)
        if user is None or not ok:
            raise Reject(self.credential_failure(login, user))
        return user

    # ------------------------------------------------------------------ opt-in guards: throttling, captcha
    # Off by default so the suite's own runs stay fast and lock nothing. `throttle_after` switches brute-force
    # throttling on (the suite's --probe=throttling does so on the bundled server right before it probes);
    # `captcha_required` switches a Turnstile-like captcha on (the `captcha-turnstile` variant). State: guards.py.
    throttle_after: int | None = None  # consecutive failed logins per account key (known or not) that lock it
    throttle_lockout_seconds = 30.0
    captcha_required = False
    captcha_header = "cf-turnstile-response"

    @functools.cached_property
    def throttle(self) -> Throttle:
        return Throttle()

    @functools.cached_property
    def captcha(self) -> CaptchaVerifier:
        return CaptchaVerifier()

    def guarded_authenticate(self, login: LoginRequest) -> User:
        """authenticate() behind the brute-force throttle: a locked account key gets 429, whatever the password."""
        if self.throttle_after is None:
            return self.authenticate(login)
        key = self.throttle_key(login)
        remaining = self.throttle.locked_for(key)
        if remaining > 0:
            raise Reject(self.error_response(429, "RATE_LIMITED", headers={"Retry-After": str(math.ceil(remaining))}))
        try:
            user = self.authenticate(login)
        except Reject:
            self.throttle.failure(key, self.throttle_after, self.throttle_lockout_seconds)
            raise
        self.throttle.success(key)
        return user

    def throttle_key(self, login: LoginRequest) -> str | None:
        """Failures are counted per account key, existing or not (else the throttle reveals which accounts exist)."""
        key = self.account_key(login)
        return key.lower() if key is not None else None

    def check_captcha(self, request: Request, login: LoginRequest) -> None:
        """Before any credential is looked at: no token, or one that does not verify, is refused."""
        if not self.captcha_required:
            return
        token = request.headers.get(self.captcha_header, "").strip()
        if not token:
            raise Reject(self.error_response(403, "CAPTCHA_REQUIRED"))
        if not self.verify_captcha(token):
            raise Reject(self.error_response(403, "CAPTCHA_INVALID"))

    def verify_captcha(self, token: str) -> bool:
        return self.captcha.siteverify(token)

    # ------------------------------------------------------------------ tokens
    def token_claims(self, user: User, login: LoginRequest) -> dict[str, Any]:
        now = int(time.time())
        return {"sub": user.uuid, "iat": now, "exp": now + self.token_lifetime_seconds, "jti": str(uuid.uuid4())}

    def issue_token(self, user: User, login: LoginRequest) -> str:
        return jwt.encode(self.token_claims(user, login), self.secret, algorithm=self.jwt_algorithm)

    def verify_token(self, token: str) -> dict[str, Any] | None:
        try:
            return jwt.decode(token, self.secret, algorithms=[self.jwt_algorithm],
                              options={"require": ["sub", "iat", "exp"]})
        except Exception:  # noqa: BLE001 - any unusable token is simply not a session
            return None

    def bearer_claims(self, request: Request) -> dict[str, Any] | None:
        """Claims of a valid bearer token on the request (unused by the reference: it ignores Authorization)."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return self.verify_token(token.strip())

    # ------------------------------------------------------------------ success
    def success(self, request: Request, user: User, login: LoginRequest) -> Response:
        token = self.issue_token(user, login)
        return self.success_response(self.success_body(user, token))

    def success_body(self, user: User, token: str) -> dict[str, Any]:
        return {"token": token, "user_uuid": user.uuid, "username": user.username,
                "avatar_url": user.avatar_url, "email": user.email}

    def success_headers(self) -> dict[str, str]:
        return {"Cache-Control": "no-store", "Pragma": "no-cache"}

    def success_response(self, body: dict[str, Any]) -> Response:
        return self.json(201, body, self.success_headers())

    # ------------------------------------------------------------------ failures
    def json(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
        return JSONBody(body, status_code=status, headers=headers)

    def error_response(self, status: int, error: str, detail: str | None = None,
                       headers: dict[str, str] | None = None) -> Response:
        body: dict[str, Any] = {"error": error}
        if detail is not None:
            body["detail"] = detail
        return self.json(status, body, headers)

    def login_failure(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
        """Credential and validation failures of the login itself."""
        return self.json(status, body, headers)

    def www_authenticate(self) -> dict[str, str]:
        return {"WWW-Authenticate": f'Bearer realm="{self.realm}"'}

    def credential_failure(self, login: LoginRequest, user: User | None) -> Response:
        # Identical for an unknown account and a wrong password (no account enumeration).
        return self.login_failure(401, {"error": "INVALID_CREDENTIALS"}, self.www_authenticate())

    def validation_failure(self, detail: str) -> Response:
        return self.login_failure(400, {"error": "INVALID_REQUEST", "detail": detail})

    def malformed_body(self, detail: str) -> Response:
        return self.error_response(400, "INVALID_REQUEST", detail)

    def unsupported_media_type(self) -> Response:
        return self.error_response(415, "UNSUPPORTED_MEDIA_TYPE")

    def payload_too_large(self) -> Response:
        return self.error_response(413, "PAYLOAD_TOO_LARGE")

    def method_not_allowed(self, request: Request) -> Response:
        return self.error_response(405, "METHOD_NOT_ALLOWED", headers={"Allow": ", ".join(self.allowed_methods)})

    def not_found(self, request: Request) -> Response:
        return self.error_response(404, "NOT_FOUND")

    def internal_error(self, exc: BaseException) -> Response:
        logger.warning("reference server: unhandled %s", type(exc).__name__, exc_info=exc)
        return self.error_response(500, "INTERNAL_ERROR")

    # ------------------------------------------------------------------ OPTIONS / CORS / common headers
    def options(self, request: Request) -> Response:
        allow = {"Allow": ", ".join(self.allowed_methods)}
        if "origin" in request.headers and "Access-Control-Allow-Origin" not in self.cors_headers(request):
            return self.error_response(403, "CORS_ORIGIN_NOT_ALLOWED", headers=allow)  # preflight refused
        return self.json(200, {"allow": list(self.allowed_methods)}, allow)

    def cors_headers(self, request: Request) -> dict[str, str]:
        origin = request.headers.get("origin")
        if origin is None or origin not in self.allowed_origins:
            return {}
        headers = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
        if request.method == "OPTIONS":
            headers["Access-Control-Allow-Methods"] = ", ".join(self.allowed_methods)
            headers["Access-Control-Allow-Headers"] = "Content-Type"
        return headers

    def base_headers(self) -> dict[str, str]:
        return {"X-Content-Type-Options": "nosniff",
                "Strict-Transport-Security": "max-age=31536000; includeSubDomains"}

    def middleware(self) -> list:
        """ASGI middleware (starlette.middleware.Middleware) in front of the service: a proxy, say. None here."""
        return []

    def finalize(self, request: Request, response: Response) -> Response:
        for name, value in {**self.base_headers(), **self.cors_headers(request)}.items():
            response.headers[name] = value
        return response


def registrar(kind: str, table: dict[str, type[LoginService]]):
    """The ``@fault(name)`` / ``@variant(name)`` / ``@stack(name)`` decorators: register a subclass under a unique
    name. Registering the same class again is a re-import of its module (pytester's in-process runs drop and re-load
    modules), not a clash."""

    def decorator(name: str):
        def register(cls: type[LoginService]) -> type[LoginService]:
            known = table.get(name)
            if known is not None and (known.__module__, known.__qualname__) != (cls.__module__, cls.__qualname__):
                raise RuntimeError(f"{kind} {name!r} registered twice")
            cls.mutation_name = name
            table[name] = cls
            return cls
        return register
    return decorator
