"""`express`: Express 5 written as its developers write it, NODE_ENV=production.

    app.use(helmet());
    app.use(express.json());                                  // body-parser errors go to the default error handler
    const Login = z.object({ email: z.string().email().optional(), username: z.string().max(80).optional(),
                             password: z.string() }).refine(b => b.email !== undefined || b.username !== undefined,
                                                             { message: 'email or username is required' });
    app.post('/api/user/login', async (req, res) => {
      const parsed = Login.safeParse(req.body ?? {});
      if (!parsed.success) return res.status(400).json({ error: 'VALIDATION_FAILED', issues: parsed.error.issues });
      const { email, username, password } = parsed.data;
      const user = await users.findByEmail(email ?? username);
      if (!user || !(await argon2.verify(user.passwordHash, password)))
        return res.status(401).json({ error: 'INVALID_CREDENTIALS' });
      res.status(201).json({ token: jwt.sign({ sub: user.uuid }, secret, { expiresIn: '7d' }), user_uuid: ... });
    });
"""

from __future__ import annotations

import html
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..service import LoginRequest, Reject, User
from . import stack
from .node import (STATUS_TEXT, BodyParserError, ExpressRouted, js_length, js_utf8, media_type, parse_json_body,
                   read_limited)

# zod 3's z.string().email()
ZOD_EMAIL = re.compile(r"^(?!\.)(?!.*\.\.)([A-Z0-9_'+\-\.]*)[A-Z0-9_+-]@([A-Z0-9][A-Z0-9\-]*\.)+[A-Z]{2,}$",
                       re.IGNORECASE)

HELMET_HEADERS = {
    "Content-Security-Policy": "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';"
                               "frame-ancestors 'self';img-src 'self' data:;object-src 'none';script-src 'self';"
                               "script-src-attr 'none';style-src 'self' https: 'unsafe-inline';"
                               "upgrade-insecure-requests",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Referrer-Policy": "no-referrer",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
}


def finalhandler_page(status: int, message: str) -> Response:
    """Express's default error handler in production: the status message (or "Cannot POST /x") in an HTML page."""
    body = ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Error</title>\n</head>\n'
            f"<body>\n<pre>{html.escape(message)}</pre>\n</body>\n</html>\n")
    return Response(body, status, {"Content-Security-Policy": "default-src 'none'",
                                   "X-Content-Type-Options": "nosniff"}, media_type="text/html; charset=utf-8")


def zod_issue(code: str, path: list[Any], message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, **extra, "path": path, "message": message}


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else "string"


@stack("express")
class Express(ExpressRouted):
    def not_found(self, request: Request) -> Response:
        return finalhandler_page(404, f"Cannot {request.method} {request.url.path}")

    async def request_data(self, request: Request) -> Any:
        if media_type(request) != "application/json":
            return None  # Express 5: req.body is undefined when no parser ran
        try:
            return parse_json_body(await read_limited(request))
        except BodyParserError as exc:  # next(err) -> finalhandler
            raise Reject(finalhandler_page(exc.status, STATUS_TEXT[exc.status])) from None

    def validate(self, data: Any) -> LoginRequest:
        data = {} if data is None else data
        if not isinstance(data, dict):
            raise self.invalid_issues([zod_issue("invalid_type", [], f"Expected object, received {_type_name(data)}",
                                                 expected="object", received=_type_name(data))])
        issues = []
        for name in ("email", "username", "password"):
            if name not in data:  # .optional() accepts undefined only (null is a type error)
                if name == "password":
                    issues.append(zod_issue("invalid_type", [name], "Required", expected="string",
                                            received="undefined"))
                continue
            value = data[name]
            if not isinstance(value, str):
                issues.append(zod_issue("invalid_type", [name], f"Expected string, received {_type_name(value)}",
                                        expected="string", received=_type_name(value)))
            elif name == "email" and not ZOD_EMAIL.match(value):
                issues.append(zod_issue("invalid_string", [name], "Invalid email", validation="email"))
            elif name == "username" and js_length(value) > self.username_max_length:
                issues.append(zod_issue("too_big", [name], "String must contain at most 80 character(s)",
                                        maximum=self.username_max_length, type="string", inclusive=True, exact=False))
        if not issues and "email" not in data and "username" not in data:  # .refine() runs on a parsed object
            issues.append(zod_issue("custom", [], "email or username is required"))
        if issues:
            raise self.invalid_issues(issues)
        return LoginRequest(email=data.get("email"), username=data.get("username"), password=data["password"],
                            data={k: data[k] for k in ("email", "username", "password") if k in data})

    def invalid_issues(self, issues: list[dict[str, Any]]) -> Reject:
        return Reject(self.json(400, {"error": "VALIDATION_FAILED", "issues": issues}))

    def prepare_password(self, password: str) -> bytes:
        return js_utf8(password)

    def credential_failure(self, login: LoginRequest, user: User | None) -> Response:
        return self.json(401, {"error": "INVALID_CREDENTIALS"})  # no WWW-Authenticate

    def success_headers(self) -> dict[str, str]:
        return {}

    def internal_error(self, exc: BaseException) -> Response:
        super().internal_error(exc)
        return finalhandler_page(500, "Internal Server Error")

    def base_headers(self) -> dict[str, str]:
        return dict(HELMET_HEADERS)

    def finalize(self, request: Request, response: Response) -> Response:
        for name, value in self.base_headers().items():  # helmet runs first; finalhandler's own CSP wins
            response.headers.setdefault(name.lower(), value)
        return response
