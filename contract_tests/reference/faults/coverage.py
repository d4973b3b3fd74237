"""Coverage faults (faults.yaml, section "coverage faults"): one per requirement the first faults left uncovered,
plus a few second bugs for well-covered ones; README (fault table) shows which requirements catch each one."""

from __future__ import annotations

import dataclasses
import datetime
import json
import secrets
import time
import uuid
from typing import Any

import jwt
from starlette.requests import Request
from starlette.responses import Response

from ..service import KNOWN_FIELDS, USER_COLUMNS, LoginRequest, LoginService, Reject, User
from .registration import fault


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
