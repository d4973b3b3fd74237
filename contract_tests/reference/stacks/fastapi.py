"""`fastapi-defaults` and `fastapi-contract`: the login written with FastAPI + pydantic v2.

    class LoginBody(BaseModel):
        email: EmailStr | None = None
        username: str | None = Field(None, max_length=80)
        password: str

        @model_validator(mode="after")
        def identifier(self):
            if self.email is None and self.username is None:
                raise ValueError("email or username is required")
            return self

    @app.post("/api/user/login", response_model=LoginResponse)        # contract-aware: status_code=201
    def login(body: LoginBody, db: Session = Depends(get_db)):
        user = db.scalar(select(User).where(User.email == (body.email or body.username)))
        if user is None or not ph.verify(user.password_hash, body.password):
            raise HTTPException(401, "Incorrect email or password", headers={"WWW-Authenticate": "Bearer"})
        return LoginResponse(token=create_access_token({"sub": user.uuid}), user_uuid=user.uuid, ...)

What FastAPI does around it is emulated here: the request body is read whole (no size limit), a body without
Content-Type is parsed as JSON, other content types reach pydantic as bytes, and a Python `str` may hold lone
surrogates that the database driver and argon2 cannot encode (a 500). The defaults answer validation failures with
422 ``{"detail": [...]}`` echoing each failing `input`; the contract-aware variant installs exception handlers.
"""

from __future__ import annotations

import email.message
import json
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from ..service import LOGIN_PATH, LoginRequest, LoginService, Reject, User, is_email_address
from . import stack

FIELDS = ("email", "username", "password")


class StarletteJSON(Response):
    """starlette.responses.JSONResponse: ensure_ascii=False, so a lone surrogate in the content cannot be encoded."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None,
                          separators=(",", ":")).encode("utf-8")


def jsonable(value: Any) -> Any:
    """fastapi.encoders.jsonable_encoder for what a request can hold (bytes are decoded as UTF-8, strictly)."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def error(type_: str, loc: list[Any], msg: str, input_: Any, **ctx: Any) -> dict[str, Any]:
    entry = {"type": type_, "loc": loc, "msg": msg, "input": input_}
    if ctx:
        entry["ctx"] = ctx
    return entry


class ValidationFailed(Exception):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors)
        self.errors = errors


class FastApiLogin(LoginService):
    """What both FastAPI variants share; the subclasses differ in handlers, status and headers."""

    success_status = 200

    def json(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
        return StarletteJSON(body, status_code=status, headers=headers)

    # --------------------------------------------------------------- routing and exception handlers
    async def route(self, request: Request) -> Response:
        try:
            if request.url.path != LOGIN_PATH:
                return self.http_exception(404, "Not Found")
            if request.method != "POST":
                return self.http_exception(405, "Method Not Allowed", {"Allow": "POST"})
            return await self.login(request)
        except ValidationFailed as exc:
            return self.validation_exception(exc.errors)

    def http_exception(self, status: int, detail: str, headers: dict[str, str] | None = None) -> Response:
        return self.json(status, {"detail": detail}, headers)

    def validation_exception(self, errors: list[dict[str, Any]]) -> Response:
        return self.json(422, {"detail": jsonable(errors)})

    async def login(self, request: Request) -> Response:
        body = await self.request_body(request)
        login = self.validate(body)
        user = self.guarded_authenticate(login)
        return self.success(request, user, login)

    # --------------------------------------------------------------- fastapi.routing.get_request_handler
    async def request_body(self, request: Request) -> Any:
        raw = await request.body()  # no size limit anywhere in FastAPI / Starlette / uvicorn
        if not raw:
            return None
        content_type = request.headers.get("content-type")
        if content_type:
            message = email.message.Message()
            message["content-type"] = content_type
            subtype = message.get_content_subtype()
            if message.get_content_maintype() != "application" or not (subtype == "json" or subtype.endswith("+json")):
                return raw  # handed to pydantic as bytes
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValidationFailed([error("json_invalid", ["body", exc.pos], "JSON decode error", {},
                                          error=exc.msg)]) from None
        except Exception:  # noqa: BLE001 - e.g. UnicodeDecodeError: FastAPI's generic answer
            raise Reject(self.http_exception(400, "There was an error parsing the body")) from None

    # --------------------------------------------------------------- pydantic v2 (lax mode) on LoginBody
    def validate(self, body: Any) -> LoginRequest:
        if body is None:
            raise ValidationFailed([error("missing", ["body"], "Field required", None)])
        if not isinstance(body, dict):
            raise ValidationFailed([error("model_attributes_type", ["body"], "Input should be a valid dictionary or "
                                          "object to extract fields from", body)])
        errors = []
        for name in FIELDS:
            if name not in body:
                if name == "password":
                    errors.append(error("missing", ["body", name], "Field required", body))
                continue
            value = body[name]
            if value is None and name != "password":
                continue
            if not isinstance(value, str):
                errors.append(error("string_type", ["body", name], "Input should be a valid string", value))
            elif name == "email" and not is_email_address(value):
                reason = "An email address must have an @-sign." if "@" not in value else \
                    "The email address is not valid."
                errors.append(error("value_error", ["body", name], f"value is not a valid email address: {reason}",
                                    value, reason=reason))
            elif name == "username" and len(value) > self.username_max_length:
                errors.append(error("string_too_long", ["body", name],
                                    f"String should have at most {self.username_max_length} characters", value,
                                    max_length=self.username_max_length))
        if not errors and body.get("email") is None and body.get("username") is None:
            errors.append(error("value_error", ["body"], "Value error, email or username is required", body, error={}))
        if errors:
            raise ValidationFailed(errors)
        return LoginRequest(email=body.get("email"), username=body.get("username"), password=body["password"],
                            data={k: body[k] for k in FIELDS if k in body})

    # --------------------------------------------------------------- the endpoint
    def account_key(self, login: LoginRequest) -> str | None:
        return login.email if login.email is not None else login.username  # handed to the driver as is

    def prepare_password(self, password: str) -> bytes:
        return password.encode("utf-8")  # argon2-cffi: a lone surrogate raises UnicodeEncodeError

    def success_body(self, user: User, token: str) -> dict[str, Any]:
        return {**super().success_body(user, token), "error": None}  # response_model mirrors the vendor schema

    def success_response(self, body: dict[str, Any]) -> Response:
        return self.json(self.success_status, body, self.success_headers())


@stack("fastapi-defaults")
class FastApiDefaults(FastApiLogin):
    def credential_failure(self, login: LoginRequest, user: User | None) -> Response:
        return self.json(401, {"detail": "Incorrect email or password"}, {"WWW-Authenticate": "Bearer"})

    def token_claims(self, user: User, login: LoginRequest) -> dict[str, Any]:
        # the tutorial's create_access_token: {"sub", "exp"} in whole seconds; the clock is read once per server so
        # two logins of a run always share the second (as they almost always do), keeping self-tests deterministic
        issued = getattr(self, "_issued_at", None)
        if issued is None:
            issued = self._issued_at = int(time.time())
        return {"sub": user.uuid, "exp": issued + 30 * 60}

    def success_headers(self) -> dict[str, str]:
        return {}

    def internal_error(self, exc: BaseException) -> Response:
        super().internal_error(exc)
        return PlainTextResponse("Internal Server Error", 500)  # Starlette's ServerErrorMiddleware

    def base_headers(self) -> dict[str, str]:
        return {}


@stack("fastapi-contract")
class FastApiContract(FastApiLogin):
    """Exception handlers answer {"error": ...}: one error value per failing field, the vendor's INVALID_CREDENTIALS."""

    success_status = 201

    def http_exception(self, status: int, detail: str, headers: dict[str, str] | None = None) -> Response:
        return self.json(status, {"error": detail}, headers)

    def validation_exception(self, errors: list[dict[str, Any]]) -> Response:
        first = errors[0]
        field = str(first["loc"][1]).upper() if len(first["loc"]) > 1 and isinstance(first["loc"][1], str) else None
        if field is None:
            code = "EMAIL_OR_USERNAME_REQUIRED" if first["type"] == "value_error" else "INVALID_BODY"
        else:
            code = {"missing": f"{field}_REQUIRED", "string_too_long": f"{field}_TOO_LONG"}.get(first["type"],
                                                                                               f"INVALID_{field}")
        return self.json(400, {"error": code, "detail": [e["msg"] for e in errors]})

    def credential_failure(self, login: LoginRequest, user: User | None) -> Response:
        return self.json(401, {"error": "INVALID_CREDENTIALS"}, {"WWW-Authenticate": "Bearer"})

    def internal_error(self, exc: BaseException) -> Response:
        super().internal_error(exc)
        return self.json(500, {"error": "INTERNAL_ERROR"})
