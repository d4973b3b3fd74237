"""Faults: each subclass of LoginService overrides one method with a realistic bug breaking one requirement.

To add a fault: write the subclass here, decorate it with ``@fault("name")`` and add the entry to ``faults.yaml``
(name, breaks, description). ``registry.py`` checks at import that both sides agree.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import json
import re
import secrets
import sqlite3
import time
import unicodedata
import uuid
from typing import Any

import jwt
from argon2.exceptions import VerificationError
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from .service import (KNOWN_FIELDS, LOGIN_PATH, USER_COLUMNS, LoginRequest, LoginService, registrar, Reject, User,
                      is_email_address)

FAULT_CLASSES: dict[str, type[LoginService]] = {}


fault = registrar("fault", FAULT_CLASSES)


@fault("status-200-on-success")
class Status200OnSuccess(LoginService):
    def success_response(self, body: dict[str, Any]) -> Response:
        return self.json(200, body, self.success_headers())  # "200 OK" is what every framework defaults to


@fault("error-field-on-success")
class ErrorFieldOnSuccess(LoginService):
    def success_body(self, user: User, token: str) -> dict[str, Any]:
        body = super().success_body(user, token)
        body["error"] = "OK"  # "status" field reused from the legacy API
        return body


@fault("html-401")
class Html401(LoginService):
    def credential_failure(self, login: LoginRequest, user: User | None) -> Response:
        page = ("<!DOCTYPE html><html><head><title>401 Unauthorized</title></head>"
                "<body><h1>401 Unauthorized</h1><p>Invalid email or password.</p></body></html>")
        return HTMLResponse(page, status_code=401, headers=self.www_authenticate())


@fault("failure-without-error")
class FailureWithoutError(LoginService):
    def credential_failure(self, login: LoginRequest, user: User | None) -> Response:
        return self.login_failure(401, {"message": "invalid credentials"}, self.www_authenticate())


@fault("strip-password")
class StripPassword(LoginService):
    def prepare_password(self, password: str) -> bytes:
        return password.strip().encode("utf-8", "surrogatepass")  # "users paste passwords with spaces"


@fault("case-insensitive-password")
class CaseInsensitivePassword(LoginService):
    def prepare_password(self, password: str) -> bytes:
        return password.lower().encode("utf-8", "surrogatepass")  # applied at registration and at login


@fault("password-prefix-8")
class PasswordPrefix8(LoginService):
    def prepare_password(self, password: str) -> bytes:
        return password[:8].encode("utf-8", "surrogatepass")  # legacy crypt(3)-style truncation


@fault("sqli-email")
class SqliEmail(LoginService):
    def find_user(self, key: str) -> User | None:
        query = f"SELECT {USER_COLUMNS} FROM users WHERE email = '{key}'"
        try:
            row = self.db.execute(query).fetchone()
        except sqlite3.Error as exc:
            raise Reject(self.error_response(500, "DATABASE_ERROR", f"{type(exc).__name__}: {exc}")) from exc
        return User(*row) if row else None


@fault("crash-on-non-string-password")
class CrashOnNonStringPassword(LoginService):
    def validate_password(self, data: dict[str, Any]) -> str:
        if "password" not in data:
            raise self.invalid("password is required")
        return data["password"]  # no type check: handed to argon2 as is


@fault("username-length-utf16")
class UsernameLengthUtf16(LoginService):
    def validate_username(self, value: Any) -> str:
        if not isinstance(value, str):
            raise self.invalid("username must be a string")
        # counted like JavaScript's String.length (UTF-16 code units)
        if len(value.encode("utf-16-le", "surrogatepass")) // 2 > self.username_max_length:
            raise self.invalid(f"username must be at most {self.username_max_length} characters")
        return value


@fault("username-off-by-one")
class UsernameOffByOne(LoginService):
    def validate_username(self, value: Any) -> str:
        if not isinstance(value, str):
            raise self.invalid("username must be a string")
        if len(value) > self.username_max_length + 1:
            raise self.invalid(f"username must be at most {self.username_max_length} characters")
        return value


@fault("username-length-graphemes")
class UsernameLengthGraphemes(LoginService):
    """Counted in user-perceived characters, as Elixir's String.length (Ecto's validate_length), Swift's
    String.count or Intl.Segmenter do: combining marks, variation selectors and ZWJ-joined characters are free."""

    def validate_username(self, value: Any) -> str:
        if not isinstance(value, str):
            raise self.invalid("username must be a string")
        if grapheme_count(value) > self.username_max_length:
            raise self.invalid(f"username must be at most {self.username_max_length} characters")
        return value


def grapheme_count(value: str) -> int:
    """Extended grapheme clusters, as far as these usernames go (combining marks, U+FE00..U+FE0F, ZWJ sequences)."""
    count, joined = 0, False
    for char in value:
        if unicodedata.combining(char) or "\ufe00" <= char <= "\ufe0f":
            continue
        if char == "\u200d":
            joined = True
            continue
        count += 0 if joined else 1
        joined = False
    return count


@fault("distinguishable-failures")
class DistinguishableFailures(LoginService):
    def credential_failure(self, login: LoginRequest, user: User | None) -> Response:
        if user is None:
            return self.login_failure(404, {"error": "NO_SUCH_USER"})
        return self.login_failure(401, {"error": "WRONG_PASSWORD"}, self.www_authenticate())


@fault("password-in-token")
class PasswordInToken(LoginService):
    def token_claims(self, user: User, login: LoginRequest) -> dict[str, Any]:
        claims = super().token_claims(user, login)
        claims["pwd"] = login.password  # "so the session can re-authenticate downstream"
        return claims


@fault("alg-none-token")
class AlgNoneToken(LoginService):
    def issue_token(self, user: User, login: LoginRequest) -> str:
        return jwt.encode(self.token_claims(user, login), None, algorithm="none")


@fault("no-cache-control")
class NoCacheControl(LoginService):
    def success_headers(self) -> dict[str, str]:
        return {}


@fault("cors-reflect-origin")
class CorsReflectOrigin(LoginService):
    def cors_headers(self, request: Request) -> dict[str, str]:
        origin = request.headers.get("origin")
        if origin is None:
            return {}
        headers = {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true",
                   "Vary": "Origin"}
        if request.method == "OPTIONS":
            headers["Access-Control-Allow-Methods"] = ", ".join(self.allowed_methods)
            headers["Access-Control-Allow-Headers"] = request.headers.get("access-control-request-headers",
                                                                          "Content-Type")
        return headers


@fault("query-string-credentials")
class QueryStringCredentials(LoginService):
    async def request_data(self, request: Request) -> dict[str, Any]:
        raw = await self.read_body(request)
        data = self.parse_json(raw) if raw.strip() else {}
        # like Flask's request.values: fall back to the query string
        for name in ("email", "username", "password"):
            if name not in data and name in request.query_params:
                data[name] = request.query_params[name]
        return data


@fault("echo-password")
class EchoPassword(LoginService):
    def credential_failure(self, login: LoginRequest, user: User | None) -> Response:
        return self.login_failure(401, {"error": "INVALID_CREDENTIALS", "detail": f"wrong password: {login.password}"},
                                  self.www_authenticate())


@fault("token-for-missing-email-format")
class TokenForMissingEmailFormat(LoginService):
    def validate_email(self, value: Any) -> str:
        if not isinstance(value, str):
            raise self.invalid("email must be a string")
        return value  # format check "done by the front-end"


@fault("no-405")
class No405(LoginService):
    def method_not_allowed(self, request: Request) -> Response:
        return self.not_found(request)  # only POST is routed


# --- coverage faults ---
# One per requirement the faults above left uncovered (plus a few second bugs for well-covered ones). The catalog
# entries are in faults.yaml under the same comment; README (fault table) shows which requirements catch each one.


@fault("numeric-user-uuid")
class NumericUserUuid(LoginService):
    def success_body(self, user: User, token: str) -> dict[str, Any]:
        body = super().success_body(user, token)
        (row_id,) = self.db.execute("SELECT id FROM users WHERE uuid = ?", (user.uuid,)).fetchone()
        body["user_uuid"] = row_id  # the ORM's integer primary key instead of the public uuid
        return body


@fault("csrf-jwt-cookie")
class CsrfJwtCookie(LoginService):
    def finalize(self, request: Request, response: Response) -> Response:
        response = super().finalize(request, response)
        if request.method == "POST" and "origin" in request.headers:
            # browsers get a double-submit CSRF token for their next attempt, success or not: a JWT signed with
            # the session key
            now = int(time.time())
            csrf = jwt.encode({"csrf": secrets.token_hex(8), "iat": now, "exp": now + 600}, self.secret,
                              algorithm="HS256")
            response.set_cookie("csrf_token", csrf, max_age=600, secure=True, samesite="strict")
        return response


@fault("username-ignored")
class UsernameIgnored(LoginService):
    def account_key(self, login: LoginRequest) -> str | None:
        return login.email  # `username` is deprecated, so only `email` is looked up any more


@fault("missing-password-crash")
class MissingPasswordCrash(LoginService):
    def validate_password(self, data: dict[str, Any]) -> str:
        # optional since the magic-link flow was planned; None goes on to argon2 (AttributeError -> 500)
        if "password" in data and not isinstance(data["password"], str):
            raise self.invalid("password must be a string")
        return data.get("password")


@fault("missing-identifier-crash")
class MissingIdentifierCrash(LoginService):
    def validate(self, data: dict[str, Any]) -> LoginRequest:
        self.check_unknown_fields(sorted(set(data) - KNOWN_FIELDS))
        password = self.validate_password(data)
        email = self.validate_email(data["email"]) if "email" in data else None
        username = self.validate_username(data["username"]) if "username" in data else None
        # the "one of email or username" check went away with the deprecation of `username`:
        # account_key() then calls None.encode (AttributeError -> 500)
        return LoginRequest(email=email, username=username, password=password, data=data)


@fault("non-object-body-crash")
class NonObjectBodyCrash(LoginService):
    def parse_json(self, raw: bytes) -> dict[str, Any]:
        if not raw.strip():
            raise Reject(self.malformed_body("request body is empty"))
        try:
            return json.loads(raw)  # assumed to be an object: set(42) / set(None) in validate() -> 500
        except (ValueError, RecursionError):
            raise Reject(self.malformed_body("request body is not valid JSON")) from None


@fault("surrogate-username-crash")
class SurrogateUsernameCrash(LoginService):
    def account_key(self, login: LoginRequest) -> str | None:
        # no encodability guard: a lone surrogate reaches sqlite3, whose UTF-8 encoding raises (-> 500)
        return login.email if login.email is not None else login.username


@fault("mass-assignment")
class MassAssignment(LoginService):
    def authenticate(self, login: LoginRequest) -> User:
        user = super().authenticate(login)
        # "profile fields posted with the login refresh the session's copy of the profile"
        api_names = {"user_uuid": "uuid", "avatar_url": "avatar_url"}
        updates = {attr: login.data[name] for name, attr in api_names.items() if isinstance(login.data.get(name), str)}
        return dataclasses.replace(user, **updates)


@fault("failed-login-counter-crash")
class FailedLoginCounterCrash(LoginService):
    def credential_failure(self, login: LoginRequest, user: User | None) -> Response:
        if user is not None:
            # lockout bookkeeping; the column comes with a migration this database never got (-> 500)
            self.db.execute("UPDATE users SET failed_logins = failed_logins + 1 WHERE uuid = ?", (user.uuid,))
        return super().credential_failure(login, user)


@fault("email-like-lookup")
class EmailLikeLookup(LoginService):
    def find_user(self, key: str) -> User | None:
        # LIKE for a case-insensitive match: `_` and `%` in the submitted address are wildcards
        row = self.db.execute(f"SELECT {USER_COLUMNS} FROM users WHERE email LIKE ? ORDER BY id", (key,)).fetchone()
        return User(*row) if row else None


@fault("bearer-decode-crash")
class BearerDecodeCrash(LoginService):
    async def login(self, request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            # session middleware decodes every bearer up front; PyJWT's exceptions are not caught (-> 500)
            request.state.session = jwt.decode(token.strip(), self.secret, algorithms=[self.jwt_algorithm])
        return await super().login(request)


@fault("bearer-skips-password")
class BearerSkipsPassword(LoginService):
    async def login(self, request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        try:
            # "the API gateway has already verified the signature"
            claims = jwt.decode(token.strip(), options={"verify_signature": False}) if scheme.lower() == "bearer" else {}
        except jwt.PyJWTError:
            claims = {}
        if not isinstance(claims, dict) or not claims.get("sub"):
            return await super().login(request)
        self.check_content_type(request)
        login = self.validate(await self.request_data(request))
        self.check_captcha(request, login)
        key = self.account_key(login)
        user = self.find_user(key) if key is not None else None
        if user is None or user.uuid != claims["sub"]:
            user = self.guarded_authenticate(login)
        return self.success(request, user, login)  # the session's own account: a refresh, no password check


@fault("exp-timedelta-seconds")
class ExpTimedeltaSeconds(LoginService):
    def token_claims(self, user: User, login: LoginRequest) -> dict[str, Any]:
        now = int(time.time())
        lifetime = datetime.timedelta(seconds=self.token_lifetime_seconds)
        # timedelta.seconds is the seconds *component* (0 for exactly one day), not total_seconds()
        return {"sub": user.uuid, "iat": now, "exp": now + lifetime.seconds, "jti": str(uuid.uuid4())}


@fault("exp-in-milliseconds")
class ExpInMilliseconds(LoginService):
    def token_claims(self, user: User, login: LoginRequest) -> dict[str, Any]:
        claims = super().token_claims(user, login)
        claims["exp"] = int(time.time() * 1000) + self.token_lifetime_seconds * 1000  # JavaScript's Date.now() habit
        return claims


@fault("username-wins")
class UsernameWins(LoginService):
    def account_key(self, login: LoginRequest) -> str | None:
        # old clients send both fields; the historical key is tried first
        key = login.username if login.username is not None else login.email
        try:
            key.encode("utf-8")
        except UnicodeEncodeError:
            return None
        return key


@fault("validation-200")
class Validation200(LoginService):
    def validation_failure(self, detail: str) -> Response:
        # "the web client only reads `error`": schema-invalid requests are answered 200
        return self.login_failure(200, {"error": "INVALID_REQUEST", "detail": detail})


@fault("content-type-ignored")
class ContentTypeIgnored(LoginService):
    def check_content_type(self, request: Request) -> None:
        """Any Content-Type: the body is parsed as JSON whatever the header says (like request.json())."""


@fault("body-limit-500")
class BodyLimit500(LoginService):
    async def read_body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            # meant for a 413 handler that was never registered: the framework answers 500
            raise ValueError(f"request body larger than {self.max_body_bytes} bytes")
        return await super().read_body(request)


@fault("detail-only-413")
class DetailOnly413(LoginService):
    def payload_too_large(self) -> Response:
        return self.json(413, {"detail": "Request Entity Too Large"})  # the framework's HTTPException body


@fault("session-revoke-crash")
class SessionRevokeCrash(LoginService):
    def success(self, request: Request, user: User, login: LoginRequest) -> Response:
        claims = self.bearer_claims(request)
        if claims is not None:
            # one session per device: the presented session is revoked first -- in a `sessions` table that
            # only exists once a later migration has run (sqlite3.OperationalError -> 500)
            self.db.execute("DELETE FROM sessions WHERE jti = ?", (claims.get("jti"),))
        return super().success(request, user, login)


@fault("hour-floored-token")
class HourFlooredToken(LoginService):
    def token_claims(self, user: User, login: LoginRequest) -> dict[str, Any]:
        now = int(time.time())
        issued = now - now % 3600  # floored to the hour "so the gateway can cache token validation"; no jti
        return {"sub": user.uuid, "iat": issued, "exp": issued + self.token_lifetime_seconds}


@fault("headers-on-success-only")
class HeadersOnSuccessOnly(LoginService):
    def finalize(self, request: Request, response: Response) -> Response:
        if response.status_code >= 400:
            return response  # errors are rendered by the exception handler, outside the security-headers middleware
        return super().finalize(request, response)


@fault("401-without-www-authenticate")
class NoWwwAuthenticate(LoginService):
    def credential_failure(self, login: LoginRequest, user: User | None) -> Response:
        return self.login_failure(401, {"error": "INVALID_CREDENTIALS"})  # a bare 401, no challenge


@fault("user-row-serialized")
class UserRowSerialized(LoginService):
    def success_body(self, user: User, token: str) -> dict[str, Any]:
        # the whole user row, renamed where the API says so -- password_hash included
        return {**dataclasses.asdict(user), "user_uuid": user.uuid, "token": token}


# --- fuzzing faults: found by the property-based tests (contract_tests/suite/test_fuzz.py), which
# send inputs the hand-written cases do not. Catalog entries at the end of faults.yaml.


@fault("non-utf8-body-crash")
class NonUtf8BodyCrash(LoginService):
    def parse_json(self, raw: bytes) -> dict[str, Any]:
        import json

        text = raw.decode("utf-8")  # decoded up front for the request log: UnicodeDecodeError escapes (-> 500)
        if not text.strip():
            raise Reject(self.malformed_body("request body is empty"))
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            raise Reject(self.malformed_body("request body is not valid JSON")) from None
        if not isinstance(data, dict):
            raise Reject(self.malformed_body("request body must be a JSON object"))
        return data


@fault("single-item-list-unwrapped")
class SingleItemListUnwrapped(LoginService):
    def validate(self, data: dict[str, Any]) -> LoginRequest:
        # "form-style clients send every field as a list": ["x"] is read as "x" before validation, so the right
        # credentials wrapped in a list (a schema-invalid body) log in
        unwrapped = {k: v[0] if isinstance(v, list) and len(v) == 1 else v for k, v in data.items()}
        return super().validate(unwrapped)


# --- login security checks: catalog entries at the end of faults.yaml.


@fault("nul-terminated-password")
class NulTerminatedPassword(LoginService):
    def prepare_password(self, password: str) -> bytes:
        # handed to a C binding that takes a char*, like PHP's bcrypt: everything after a NUL byte is ignored
        return password.split("\x00", 1)[0].encode("utf-8", "surrogatepass")


def _operator_matches(value: str, condition: Any) -> bool:
    """A document store's comparison of one stored string field with a filter value (a subset of MongoDB's)."""
    if not isinstance(condition, dict) or not all(isinstance(k, str) and k.startswith("$") for k in condition):
        return value == condition
    tests = {
        "$eq": lambda a: value == a, "$ne": lambda a: value != a,
        "$gt": lambda a: isinstance(a, str) and value > a, "$gte": lambda a: isinstance(a, str) and value >= a,
        "$lt": lambda a: isinstance(a, str) and value < a, "$lte": lambda a: isinstance(a, str) and value <= a,
        "$in": lambda a: isinstance(a, list) and value in a, "$nin": lambda a: isinstance(a, list) and value not in a,
        "$exists": lambda a: bool(a), "$not": lambda a: not _operator_matches(value, a),
        "$regex": lambda a: isinstance(a, str) and re.search(a, value) is not None,
    }
    return all(op in tests and tests[op](arg) for op, arg in condition.items())


@fault("nosql-operator-blocklist")
class NosqlOperatorBlocklist(LoginService):
    BLOCKED_OPERATORS = frozenset({"$ne", "$gt", "$where"})  # the payloads of the well-known write-ups

    def validate(self, data: dict[str, Any]) -> LoginRequest:
        # filter objects still reach the legacy user query (written for the admin search), which compares them with
        # the stored columns; a blocklist keeps out the operators "everybody knows"
        identifier, password = data.get("email", data.get("username")), data.get("password")
        if not (isinstance(identifier, dict) or isinstance(password, dict)) \
                or self.BLOCKED_OPERATORS.intersection(k for v in data.values() if isinstance(v, dict) for k in v):
            return super().validate(data)
        for row in self.db.execute(f"SELECT {USER_COLUMNS} FROM users ORDER BY id").fetchall():
            user = User(*row)
            password_ok = _operator_matches(user.password_hash, password) if isinstance(password, dict) else (
                isinstance(password, str) and self.verify_password(user.password_hash, password))
            if _operator_matches(user.email, identifier) and password_ok:
                login = LoginRequest(email=user.email, username=None, password="", data=data)
                raise Reject(self.success_response(self.success_body(user, self.issue_token(user, login))))
        raise Reject(self.login_failure(401, {"error": "INVALID_CREDENTIALS"}, self.www_authenticate()))


@fault("login-by-get")
class LoginByGet(LoginService):
    async def route(self, request: Request) -> Response:
        if request.url.path == LOGIN_PATH and request.method == "GET" and "password" in request.query_params:
            # magic links of the legacy e-mail campaign log in with GET ?email=...&password=...
            login = self.validate(dict(request.query_params))
            return self.success(request, self.guarded_authenticate(login), login)
        return await super().route(request)


@fault("password-hash-in-token")
class PasswordHashInToken(LoginService):
    def token_claims(self, user: User, login: LoginRequest) -> dict[str, Any]:
        claims = super().token_claims(user, login)
        claims["pwd_hash"] = user.password_hash  # "a password change invalidates every token issued before it"
        return claims


@fault("weak-jwt-key")
class WeakJwtKey(LoginService):
    def setup(self) -> None:
        # SECRET_KEY copied from FastAPI's OAuth2/JWT tutorial with the rest of the login code, never replaced
        self.secret = b"09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7"


@fault("debug-tracebacks")
class DebugTracebacks(LoginService):
    def parse_json(self, raw: bytes) -> dict[str, Any]:
        import traceback

        try:
            return super().parse_json(raw)
        except Reject:
            try:
                json.loads(raw)
            except (ValueError, RecursionError):
                # DEBUG left on in this deployment's settings: the parser's traceback goes back to the client
                raise Reject(self.error_response(400, "INVALID_REQUEST", traceback.format_exc())) from None
            raise


# --- body size limit: catalog entries at the end of faults.yaml ---
@fault("no-body-limit")
class NoBodyLimit(LoginService):
    async def read_body(self, request: Request) -> bytes:
        # "request.body() already buffers the stream": the refactor dropped the size guard with the loop
        return await request.body()


# --- structure, not only values (parser differentials): catalog entries at the end of faults.yaml. Probes:
# contract_tests/suite/test_parsers.py; what each decoder does: contract_tests/inputs/parser_differentials.py.
# Python's default recursion limit: a deployment's process keeps it. The bundled server may share its process with the
# suite, whose hypothesis raises the process-wide limit while it draws examples: the fault nests as a deployment would.
DEFAULT_RECURSION_LIMIT = 1000


def json_nesting(raw: bytes) -> int:
    """How deep arrays and objects nest in the JSON text *raw* (brackets inside strings not counted)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


@fault("recursion-error-500")
class RecursionError500(LoginService):
    def parse_json(self, raw: bytes) -> dict[str, Any]:
        try:
            if json_nesting(raw) >= DEFAULT_RECURSION_LIMIT:
                raise RecursionError("maximum recursion depth exceeded while decoding a JSON array from a unicode "
                                     "string")
            self.logged_body = json.loads(raw)  # the request log's structured copy of the body
        except ValueError:
            # what Flask/werkzeug's Request.get_json and Django REST framework's JSONParser catch; nesting past the
            # recursion limit raises RecursionError, which is not a ValueError: 500
            self.logged_body = None  # not JSON: the handler answers it
        return super().parse_json(raw)


@fault("validation-echoes-non-finite-input")
class ValidationEchoesNonFiniteInput(LoginService):
    def validate_email(self, value: Any) -> str:
        if not isinstance(value, str):
            # pydantic-style error detail echoing the input, rendered like Starlette's JSONResponse
            # (allow_nan=False): NaN and 1e400 (read as inf) cannot be rendered, the error answer itself raises (500)
            detail = [{"type": "string_type", "loc": ["body", "email"], "msg": "Input should be a valid string",
                       "input": value}]
            raise Reject(self.json(400, {"error": "INVALID_REQUEST", "detail": detail}))
        return super().validate_email(value)


_FIRST_PASSWORD = re.compile(rb'"password"\s*:\s*("(?:[^"\\]|\\.)*")')


@fault("password-from-first-member")
class PasswordFromFirstMember(LoginService):
    def parse_json(self, raw: bytes) -> dict[str, Any]:
        data = super().parse_json(raw)  # json.loads: the last of a repeated name wins
        # the request-logging middleware lifts the password out of the raw body before the body is logged (the first
        # "password" member, as gjson or simdjson's find_field return the first match) and hands it on
        match = _FIRST_PASSWORD.search(raw)
        if match:
            data["password"] = json.loads(match.group(1))
        return data


@fault("case-insensitive-password-binding")
class CaseInsensitivePasswordBinding(LoginService):
    def validate_password(self, data: dict[str, Any]) -> str:
        # the password is bound like Go's encoding/json binds a struct field: any letter case, the last key wins
        # ("PASSWORD" from the legacy desktop client); email and username are still read by their exact names
        bound = [value for key, value in data.items() if isinstance(key, str) and key.lower() == "password"]
        return super().validate_password({"password": bound[-1]} if bound else {})


@fault("session-for-first-email-member")
class SessionForFirstEmailMember(LoginService):
    def success(self, request: Request, user: User, login: LoginRequest) -> Response:
        # the session is opened for the account the body names, looked up again by the audit layer with a
        # case-insensitive first match ("Email" from the mobile client): another member than the one authenticated
        named = next((v for k, v in login.data.items() if k.lower() == "email" and isinstance(v, str)), None)
        account = self.find_user(named) if named is not None else user
        return super().success(request, account, login)


@fault("email-via-parseaddr")
class EmailViaParseaddr(LoginService):
    def validate_email(self, value: Any) -> str:
        from email.utils import parseaddr

        if not isinstance(value, str):
            raise self.invalid("email must be a string")
        # users paste "Jane Doe <jane@example.com>" from their mail client: the address part is taken out with the
        # standard library's RFC 5322 parser, then checked
        _, address = parseaddr(value)
        if not is_email_address(address, self.email_max_length):
            raise self.invalid("email must be a valid email address")
        return address


@fault("idna-lookup-500")
class IdnaLookup500(LoginService):
    def account_key(self, login: LoginRequest) -> str | None:
        key = super().account_key(login)
        if key is None or "@" not in key:
            return key
        local, _, domain = key.rpartition("@")
        # internationalized domains are stored in punycode; Python's idna codec raises UnicodeError for a label
        # over 63 characters, which nothing here expects (500)
        return f"{local}@{domain.encode('idna').decode('ascii')}"
# --- transport faults: what happens on the wire with a large body ---
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
# --- hostile passwords for an existing account: catalog entries at the end of faults.yaml. Both refuse an unknown
# account before any hashing ("why hash for an account that does not exist?"): the password reaches the hasher only
# for an existing account.


@fault("surrogate-crash-known-account")
class SurrogateCrashKnownAccount(LoginService):
    def authenticate(self, login: LoginRequest) -> User:
        key = self.account_key(login)
        user = self.find_user(key) if key is not None else None
        if user is None:
            raise Reject(self.credential_failure(login, None))
        try:  # the str as it came, as argon2-cffi's documentation shows: verify() encodes it as strict UTF-8
            ok = self.hasher.verify(user.password_hash, login.password)
        except VerificationError:
            ok = False
        if not ok:
            raise Reject(self.credential_failure(login, user))
        return user


@fault("bcrypt-72-bytes-known-account")
class Bcrypt72BytesKnownAccount(LoginService):
    max_password_characters = 64  # the sign-up policy: no stored password is longer

    def authenticate(self, login: LoginRequest) -> User:
        key = self.account_key(login)
        user = self.find_user(key) if key is not None else None
        if user is None:
            raise Reject(self.credential_failure(login, None))
        if len(login.password) > self.max_password_characters:  # cannot be the password: refused before hashing
            raise self.invalid(f"password must be at most {self.max_password_characters} characters")
        if len(self.prepare_password(login.password)) > 72:  # bcrypt >= 5's checkpw raises where it used to truncate
            raise ValueError("password cannot be longer than 72 bytes, truncate manually if necessary")
        if not self.verify_password(user.password_hash, login.password):
            raise Reject(self.credential_failure(login, user))
        return user
