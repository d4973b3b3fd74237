"""Error-shape knobs: the failure envelopes of common web frameworks, each as the framework writes it by default,
with the contract's `error` member that the team's exception handler adds (the documented client needs a non-empty
`error`; everything else in the envelope is the framework's). Each class names its source in ``source``.

All of them override one method, ``LoginService.json``: an answer carrying `error` (and no token) is re-shaped, every
other answer is left alone. What the reference says in `detail` ("password is required") becomes the framework's
per-field message where the framework keys messages by field.
"""

from __future__ import annotations

import datetime
import http
import re
import secrets
from typing import Any

from starlette.responses import Response

from ..service import LOGIN_PATH, JSONBody, LoginService

_FIELD = re.compile(r"^(email|username|password)\b")


class ProblemJSON(JSONBody):
    media_type = "application/problem+json"


class JSONAPIBody(JSONBody):
    media_type = "application/vnd.api+json"


def phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def failing_field(detail: str | None) -> str | None:
    """The field a reference validation detail is about ("password is required" -> "password")."""
    match = _FIELD.match(detail or "")
    return match.group(1) if match else None


class ErrorShape(LoginService):
    """Base of the error-shape knobs: `reshape` gets the status, the contract's code and the reference's detail."""

    source = ""
    body_class: type[JSONBody] = JSONBody

    def json(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
        if not isinstance(body.get("error"), str) or "token" in body:
            return super().json(status, body, headers)
        extra = {k: v for k, v in body.items() if k not in ("error", "detail")}
        shaped = self.reshape(status, body["error"], body.get("detail"))
        return self.body_class({**extra, **shaped}, status_code=status, headers=headers)

    def reshape(self, status: int, code: str, detail: str | None) -> dict[str, Any]:
        raise NotImplementedError


class DRFFieldErrors(ErrorShape):
    source = ("Django REST framework: serializer.errors is a map field -> list of messages at the top level "
              "(\"This field is required.\"); other APIExceptions are {\"detail\": ...}")

    def reshape(self, status, code, detail):
        field = failing_field(detail)
        if field:
            return {"error": code, field: ["This field is required." if "required" in (detail or "")
                                            else "Enter a valid value."]}
        return {"error": code, "detail": detail or phrase(status)}


class LaravelErrors(ErrorShape):
    source = ("Laravel: a failed validation renders {\"message\": ..., \"errors\": {field: [messages]}} "
              "(Illuminate\\Validation\\ValidationException::errors)")

    def reshape(self, status, code, detail):
        field = failing_field(detail)
        message = f"The {field} field is invalid." if field else (detail or phrase(status))
        body: dict[str, Any] = {"error": code, "message": message}
        if field:
            body["errors"] = {field: [message]}
        return body


class RailsErrors(ErrorShape):
    source = "Rails API: render json: { errors: record.errors.full_messages }, status: :unprocessable_entity"

    def reshape(self, status, code, detail):
        body: dict[str, Any] = {"error": code}
        if detail:
            body["errors"] = [detail[:1].upper() + detail[1:]]
        return body


class AspNetProblem(ErrorShape):
    source = ("ASP.NET Core [ApiController]: ModelState errors become ValidationProblemDetails "
              "(application/problem+json: type, title, status, errors keyed by PascalCase property, traceId)")
    body_class = ProblemJSON

    def reshape(self, status, code, detail):
        field = failing_field(detail)
        body: dict[str, Any] = {"type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
                                "title": "One or more validation errors occurred." if field else phrase(status),
                                "status": status, "error": code,
                                "traceId": f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00"}
        if field:
            body["errors"] = {field.capitalize(): [f"The {field.capitalize()} field is invalid."]}
        return body


class ZodFlatten(ErrorShape):
    source = "zod: ZodError.flatten() gives {formErrors: [...], fieldErrors: {field: [messages]}}"

    def reshape(self, status, code, detail):
        field = failing_field(detail)
        if field:
            return {"error": code, "formErrors": [], "fieldErrors": {field: ["Required" if "required" in detail
                                                                            else "Invalid"]}}
        return {"error": code, "formErrors": [detail] if detail else [], "fieldErrors": {}}


class ProblemDetails(ErrorShape):
    source = "RFC 9457 problem details (application/problem+json: type about:blank, title, status, detail, instance)"
    body_class = ProblemJSON

    def reshape(self, status, code, detail):
        body: dict[str, Any] = {"type": "about:blank", "title": phrase(status), "status": status,
                                "instance": LOGIN_PATH, "error": code}
        if detail:
            body["detail"] = detail
        return body


class FastAPIDetail(ErrorShape):
    source = ("FastAPI: HTTPException renders {\"detail\": ...}; RequestValidationError renders "
              "{\"detail\": [{\"loc\": [\"body\", field], \"msg\": ..., \"type\": ...}]}")

    def reshape(self, status, code, detail):
        field = failing_field(detail)
        if field:
            return {"error": code, "detail": [{"loc": ["body", field], "msg": detail, "type": "value_error"}]}
        return {"error": code, "detail": detail or phrase(status)}


class NestException(ErrorShape):
    source = ("NestJS: HttpException renders {\"statusCode\", \"message\", \"error\"} with `error` the reason "
              "phrase (\"Bad Request\", \"Unauthorized\"); ValidationPipe puts the messages in a list")

    def reshape(self, status, code, detail):
        message: Any = [detail] if detail and failing_field(detail) else (detail or code)
        return {"statusCode": status, "message": message, "error": phrase(status)}


class FastifyError(ErrorShape):
    source = ("Fastify: errors (ajv validation included) render {\"statusCode\", \"code\", \"error\", \"message\"}, "
              "`error` the reason phrase, `code` FST_ERR_VALIDATION for schema failures")

    def reshape(self, status, code, detail):
        fst = "FST_ERR_VALIDATION" if failing_field(detail) else code
        return {"statusCode": status, "code": fst, "error": phrase(status), "message": detail or code}


class SpringBootError(ErrorShape):
    source = ("Spring Boot: DefaultErrorAttributes render {\"timestamp\", \"status\", \"error\", \"path\"} (`error` "
              "the reason phrase), with \"message\" when server.error.include-message=always")

    def reshape(self, status, code, detail):
        stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
        return {"timestamp": stamp, "status": status, "error": phrase(status), "message": code, "path": LOGIN_PATH}


class ExpressMessage(ErrorShape):
    source = "Express: res.status(...).json({ error: err.message }) -- the error is a human sentence, not a code"
    messages = {"INVALID_CREDENTIALS": "Invalid email or password.", "INVALID_REQUEST": "Invalid request.",
                "RATE_LIMITED": "Too many requests, please try again later.",
                "ACCOUNT_LOCKED": "Account locked: too many failed logins."}

    def reshape(self, status, code, detail):
        return {"error": detail[:1].upper() + detail[1:] + "." if detail else self.messages.get(code, phrase(status))}


class JSONAPIErrors(ErrorShape):
    source = "JSON:API error objects (application/vnd.api+json: {\"errors\": [{\"status\", \"code\", \"title\"}]})"
    body_class = JSONAPIBody

    def reshape(self, status, code, detail):
        item: dict[str, Any] = {"status": str(status), "code": code, "title": phrase(status)}
        field = failing_field(detail)
        if detail:
            item["detail"] = detail
        if field:
            item["source"] = {"pointer": f"/{field}"}
        return {"error": code, "errors": [item]}


ERROR_SHAPES: dict[str, type[ErrorShape]] = {
    "drf-field-errors": DRFFieldErrors,
    "laravel-errors": LaravelErrors,
    "rails-errors": RailsErrors,
    "aspnet-problem": AspNetProblem,
    "zod-flatten": ZodFlatten,
    "rfc9457-problem": ProblemDetails,
    "fastapi-detail": FastAPIDetail,
    "nestjs-exception": NestException,
    "fastify-error": FastifyError,
    "spring-boot-error": SpringBootError,
    "express-message": ExpressMessage,
    "jsonapi-errors": JSONAPIErrors,
}
