"""Structure, not only values (faults.yaml, section "structure, not only values (parser differentials)"): what
decoders and email parsers read differently from the text. Probes: contract_tests/suite/test_parsers.py; what each
decoder does: contract_tests/inputs/parser_differentials.py."""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..service import LoginRequest, LoginService, Reject, User, is_email_address
from .registration import fault


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
