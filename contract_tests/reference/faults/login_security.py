"""Login security faults (faults.yaml, section "login security checks"): truncated passwords, operator injection,
login by GET, secrets in tokens, a published signing key, tracebacks in answers."""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..service import LOGIN_PATH, USER_COLUMNS, LoginRequest, LoginService, Reject, User
from .registration import fault


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
