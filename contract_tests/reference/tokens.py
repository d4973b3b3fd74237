"""The Tokens part of LoginService: the JWT issued on a successful login (claims, signature with the instance's
secret) and a presented bearer token's claims."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
from starlette.requests import Request

from .records import LoginRequest, User


class Tokens:
    """HS256 tokens signed with self.secret (set by LoginService per instance)."""

    token_lifetime_seconds = 24 * 3600
    jwt_algorithm = "HS256"

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


__all__ = ["Tokens"]
