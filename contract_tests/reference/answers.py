"""The Answers part of LoginService: every response the service gives (success, credential and validation failures,
the other errors) as JSON, and Reject, which short-circuits request handling with a ready one."""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .records import LoginRequest, User

logger = logging.getLogger("contract_tests.reference")


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


class Answers:
    """The service's responses (self.issue_token: Tokens; self.allowed_methods: Headers)."""

    realm = "hyper3d-login"

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


__all__ = ["Answers", "JSONBody", "Reject", "logger"]
