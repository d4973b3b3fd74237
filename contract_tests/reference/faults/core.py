"""The first faults (the entries of faults.yaml before its first section): the answers' shapes and statuses, the
password as stored and compared, injection, validation of each field, account enumeration, tokens, caching, CORS,
credentials outside the body, echoes, the 405."""

from __future__ import annotations

import sqlite3
import unicodedata
from typing import Any

import jwt
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from ..service import USER_COLUMNS, LoginRequest, LoginService, Reject, User
from .registration import fault


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
