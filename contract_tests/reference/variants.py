"""Conforming variants: legal implementations that differ from the reference (they must break nothing).

To add one: write the subclass here, decorate it with ``@variant("name")`` and add the entry to ``variants.yaml``.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import jwt
from argon2 import PasswordHasher
from starlette.requests import Request
from starlette.responses import Response

from .service import KNOWN_FIELDS, LoginRequest, LoginService, registrar, Reject, User
from .stacks.lockout import IdentifierLock

VARIANT_CLASSES: dict[str, type[LoginService]] = {}


variant = registrar("variant", VARIANT_CLASSES)


@variant("error-in-201")
class ErrorIn201(LoginService):
    def credential_failure(self, login: LoginRequest, user: User | None) -> Response:
        # The vendor web client only reads `error`. Validation failures stay 4xx: INPUT-06 (SHOULD)
        # asks for a 4xx on schema-invalid requests, and this variant must stay fully conforming.
        return self.json(201, {"error": "INVALID_CREDENTIALS"})


@variant("validation-422")
class Validation422(LoginService):
    """A framework-style validation pipe: every unusable body (malformed JSON included) is a 422."""

    def validation_failure(self, detail: str) -> Response:
        return self.json(422, {"statusCode": 422, "message": [detail], "error": "Unprocessable Entity"})

    def malformed_body(self, detail: str) -> Response:
        return self.validation_failure(detail)


@variant("reject-unknown-fields")
class RejectUnknownFields(LoginService):
    def check_unknown_fields(self, names: list[str]) -> None:
        if names:
            raise self.invalid("unknown properties: " + ", ".join(names))


@variant("already-loggedin")
class AlreadyLoggedIn(LoginService):
    def success(self, request: Request, user: User, login: LoginRequest) -> Response:
        claims = self.bearer_claims(request)
        if claims is not None and claims.get("sub") == user.uuid:
            return self.json(201, {"error": "ALREADY_LOGGEDIN"}, self.success_headers())
        return super().success(request, user, login)


@variant("rate-limit-429")
class RateLimit429(LoginService):
    """More than `max_failures` failed logins for one account within `window_seconds`: further attempts are
    refused with 429 until `lockout_seconds` after the latest failure (so Retry-After is truthful)."""

    max_failures = 5
    window_seconds = 60.0
    lockout_seconds = 1.0

    def setup(self) -> None:
        self.failures: dict[str, list[float]] = {}

    def authenticate(self, login: LoginRequest) -> User:
        key = (self.account_key(login) or "").lower()
        now = time.monotonic()
        recent = [t for t in self.failures.get(key, ()) if now - t < self.window_seconds]
        if len(recent) >= self.max_failures and now - recent[-1] < self.lockout_seconds:
            raise Reject(self.error_response(429, "RATE_LIMITED", headers={"Retry-After": "1"}))
        try:
            user = super().authenticate(login)
        except Reject:
            recent.append(now)
            self.failures[key] = recent
            raise
        self.failures.pop(key, None)
        return user


@variant("slow")
class Slow(LoginService):
    def make_hasher(self) -> PasswordHasher:
        return PasswordHasher(time_cost=2, memory_cost=64 * 1024, parallelism=1)  # ~100 ms per verify


@variant("extra-fields")
class ExtraFields(LoginService):
    def success_body(self, user: User, token: str) -> dict[str, Any]:
        body = super().success_body(user, token)
        body.update({"plan": "free", "created_at": user.created_at, "roles": []})
        return body


@variant("rs256-kid")
class Rs256Kid(LoginService):
    jwt_algorithm = "RS256"

    def setup(self) -> None:
        try:
            from cryptography.hazmat.primitives.asymmetric import rsa
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise RuntimeError("variant 'rs256-kid' needs the 'cryptography' package "
                               "(installed by pyjwt[crypto])") from exc
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_key = self.private_key.public_key()
        self.kid = secrets.token_hex(8)

    def issue_token(self, user: User, login: LoginRequest) -> str:
        return jwt.encode(self.token_claims(user, login), self.private_key, algorithm="RS256",
                          headers={"kid": self.kid})

    def verify_token(self, token: str) -> dict[str, Any] | None:
        try:
            return jwt.decode(token, self.public_key, algorithms=["RS256"],
                              options={"require": ["sub", "iat", "exp"]})
        except Exception:  # noqa: BLE001
            return None


class _Compressed(LoginService):
    """Every answer compressed with ``coding`` when the client accepts it (stacks/compression.py)."""

    coding = "gzip"

    def middleware(self) -> list:
        from starlette.middleware import Middleware

        from .stacks.compression import CompressAnswers

        return [*super().middleware(), Middleware(CompressAnswers, coding=self.coding)]


@variant("gzip")
class Gzip(_Compressed):
    coding = "gzip"


@variant("br")
class Brotli(_Compressed):
    coding = "br"


@variant("deflate")
class Deflate(_Compressed):
    coding = "deflate"


@variant("field-errors")
class FieldErrors(LoginService):
    """Field-keyed validation errors, the shape of Django REST framework, Laravel, Rails, ASP.NET and zod's flatten():
    400 {"error": "INVALID_REQUEST", "fields": {"password": ["This field may not be blank."]}}; a blank password is a
    validation failure (DRF's CharField allow_blank=False, Laravel's `required`)."""

    def invalid(self, detail: str) -> Reject:
        field, _, message = detail.partition(" ")
        if field not in ("email", "username", "password"):
            field, message = "non_field_errors", detail
        return Reject(self.login_failure(400, {"error": "INVALID_REQUEST",
                                               "fields": {field: [message[:1].upper() + message[1:] + "."]}}))

    def validate_password(self, data: dict[str, Any]) -> str:
        password = super().validate_password(data)
        if not password:
            raise Reject(self.login_failure(400, {"error": "INVALID_REQUEST",
                                                  "fields": {"password": ["This field may not be blank."]}}))
        return password


@variant("coercing-validator")
class CoercingValidator(LoginService):
    """A validator that coerces a JSON number to a string, as Django REST framework's CharField does (booleans,
    null, arrays and objects are still rejected): {"password": 12345} is a login attempt with the password "12345",
    answered as a credential failure."""

    def validate(self, data: dict[str, Any]) -> LoginRequest:
        coerced = {k: str(v) if k in ("email", "username", "password") and isinstance(v, (int, float))
                   and not isinstance(v, bool) else v for k, v in data.items()}
        return super().validate(coerced)


@variant("lockout-403")
class Lockout403(IdentifierLock):
    """6 failed logins for any identifier (known or unknown) within 5 minutes lock it: 403 USER_FORBIDDEN, no
    Retry-After; a success resets the count (stacks/lockout.py, IdentifierLock)."""
# --- structure: how a conforming server may read repeated and case-variant names (INPUT-11), each one way
def _refuse_repeated_names(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) != len(pairs):
        raise ValueError("repeated member name")
    return data


@variant("reject-repeated-names")
class RejectRepeatedNames(LoginService):
    """A repeated name is malformed input: Jackson's STRICT_DUPLICATE_DETECTION, serde_json's "duplicate field",
    System.Text.Json's AllowDuplicateProperties = false."""

    def parse_json(self, raw: bytes) -> dict[str, Any]:
        super().parse_json(raw)  # the reference's answers to empty, malformed and non-object bodies
        try:
            return json.loads(raw, object_pairs_hook=_refuse_repeated_names)
        except ValueError:
            raise Reject(self.malformed_body("request body repeats a member name")) from None


@variant("first-member-wins")
class FirstMemberWins(LoginService):
    """The first of a repeated name is read, everywhere: lookups that stop at the first match (simdjson On Demand
    find_field, gjson)."""

    def parse_json(self, raw: bytes) -> dict[str, Any]:
        super().parse_json(raw)

        def first(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
            data: dict[str, Any] = {}
            for key, value in pairs:
                data.setdefault(key, value)
            return data

        return json.loads(raw, object_pairs_hook=first)


@variant("case-insensitive-binding")
class CaseInsensitiveBinding(LoginService):
    """email, username and password are bound in any letter case, the last key winning, everywhere: Go's
    encoding/json ("preferring an exact match but also accepting a case-insensitive match"), ASP.NET Core's web
    defaults (PropertyNameCaseInsensitive)."""

    def parse_json(self, raw: bytes) -> dict[str, Any]:
        super().parse_json(raw)

        def bind(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
            data: dict[str, Any] = {}
            for key, value in pairs:
                data[key.lower() if key.lower() in KNOWN_FIELDS else key] = value
            return data

        return json.loads(raw, object_pairs_hook=bind)
# --- transport variants: body limits as real stacks ship them ---
@variant("body-limit-1mib-inclusive")
class BodyLimit1MibInclusive(LoginService):
    # body-parser `limit: '1mb'`, Go `http.MaxBytesReader(w, r.Body, 1<<20)`, nginx `client_max_body_size 1m`: a body
    # of exactly 1,048,576 bytes is read and parsed, one byte more is refused
    max_body_bytes = 1024 * 1024


@variant("edge-413-close")
class Edge413Close(LoginService):
    def payload_too_large(self) -> Response:
        # decided from the Content-Length header alone, then the connection is closed (nginx, Envoy and cloud load
        # balancers close after a 413): the client may still be writing the body when it goes
        return self.error_response(413, "PAYLOAD_TOO_LARGE", headers={"Connection": "close"})
