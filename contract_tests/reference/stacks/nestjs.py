"""`nestjs`: the vendor's likely stack, written as a NestJS developer writes it.

    app.useGlobalPipes(new ValidationPipe({ whitelist: true }));          // no helmet, no CORS

    class LoginDto {
      @ValidateIf(o => o.email !== undefined || o.username === undefined) @IsEmail() email?: string;
      @IsOptional() @IsString() @MaxLength(80) username?: string;
      @IsString() @IsNotEmpty() password: string;
    }

    @Post('login')                                                         // 201 for every POST
    async login(@Body() dto: LoginDto) {
      const user = await this.users.findOneBy({ email: dto.email ?? dto.username });
      if (!user) return { error: 'NO_SUCH_USER' };
      if (!(await argon2.verify(user.passwordHash, dto.password))) return { error: 'WRONG_PASSWORD' };
      return { token: this.jwt.sign({ sub: user.uuid }), user_uuid: user.uuid, username: user.username, ... };
    }
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..service import LoginRequest, Reject, User, is_email_address
from . import stack
from .node import (STATUS_TEXT, BodyParserError, ExpressRouted, js_utf8, media_type, parse_json_body,
                   parse_urlencoded_body, read_limited, validator_js_length)

_LABEL = re.compile(r"^[a-z\u00a1-\uffff0-9-]{1,63}$", re.IGNORECASE)
_TLD = re.compile(r"^([a-z\u00a1-\uffff]{2,}|xn[a-z0-9-]{2,})$", re.IGNORECASE)


def validator_is_email(value: str) -> bool:
    """validator.js isEmail() defaults, as far as a login cares: 64-octet local part, FQDN with an alphabetic TLD."""
    if not is_email_address(value):
        return False
    local, domain = value.split("@")
    labels = domain.split(".")
    return (len(local.encode("utf-8", "surrogatepass")) <= 64 and all(_LABEL.match(label) for label in labels)
            and not any(label.startswith("-") or label.endswith("-") for label in labels)
            and bool(_TLD.match(labels[-1])))


def nest_error(status: int, message: Any) -> dict[str, Any]:
    """The body of Nest's HttpException subclasses (BadRequestException, NotFoundException, ...)."""
    return {"message": message, "error": STATUS_TEXT[status], "statusCode": status}


@stack("nestjs")
class NestJs(ExpressRouted):
    def not_found(self, request: Request) -> Response:
        return self.json(404, nest_error(404, f"Cannot {request.method} {request.url.path}"))

    # --------------------------------------------------------------- body-parser json + urlencoded
    async def request_data(self, request: Request) -> Any:
        kind = media_type(request)
        try:
            if kind == "application/json":
                return parse_json_body(await read_limited(request))
            if kind == "application/x-www-form-urlencoded":
                return parse_urlencoded_body(await read_limited(request))
        except BodyParserError as exc:
            raise Reject(self.json(exc.status, nest_error(exc.status, exc.message))) from None
        return {}  # no parser for this type: req.body stays {}

    # --------------------------------------------------------------- ValidationPipe + class-validator
    def validate(self, data: Any) -> LoginRequest:
        if not isinstance(data, dict):  # forbidUnknownValues (class-validator 0.14 default)
            raise self.validation_errors(["an unknown value was passed to the validate function"])
        email, username, password = data.get("email"), data.get("username"), data.get("password")
        errors: list[str] = []
        if "email" in data or username is None:
            if not (isinstance(email, str) and validator_is_email(email)):
                errors.append("email must be an email")
        if username is not None:
            if not isinstance(username, str) or validator_js_length(username) > self.username_max_length:
                errors.append(f"username must be shorter than or equal to {self.username_max_length} characters")
            if not isinstance(username, str):
                errors.append("username must be a string")
        if password in (None, ""):
            errors.append("password should not be empty")
        if not isinstance(password, str):
            errors.append("password must be a string")
        if errors:
            raise self.validation_errors(errors)
        whitelisted = {k: v for k, v in data.items() if k in ("email", "username", "password")}
        return LoginRequest(email=email, username=username, password=password, data=whitelisted)

    def validation_errors(self, messages: list[str]) -> Reject:
        return Reject(self.json(400, nest_error(400, messages)))

    # --------------------------------------------------------------- the controller
    def prepare_password(self, password: str) -> bytes:
        return js_utf8(password)

    def credential_failure(self, login: LoginRequest, user: User | None) -> Response:
        return self.json(201, {"error": "WRONG_PASSWORD" if user else "NO_SUCH_USER"})

    def success_headers(self) -> dict[str, str]:
        return {}

    def internal_error(self, exc: BaseException) -> Response:
        super().internal_error(exc)  # logged
        return self.json(500, {"statusCode": 500, "message": "Internal server error"})

    def base_headers(self) -> dict[str, str]:
        return {"X-Powered-By": "Express"}

    def cors_headers(self, request: Request) -> dict[str, str]:
        return {}
