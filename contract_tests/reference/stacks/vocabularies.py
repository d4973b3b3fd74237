"""Lab servers with error vocabularies the framework stacks do not cover: the reference login with
only its failure answers changed, so that what the suite concludes about DEPR-03 and INPUT-05 rests on the
vocabulary alone.

`vendor-codes`: the vendor's style carried into validation -- the handler checks each field itself and answers
``201 {"error": "<FIELD>_<PROBLEM>"}`` (``EMAIL_INVALID``, ``USERNAME_TOO_LONG`` ...), credential failures
``201 {"error": "INVALID_CREDENTIALS"}``; only what never reaches the handler (an unparseable body) gets the 400.
Validation and credential failures share the status and the body shape: the `error` value alone tells them apart.

`validation-as-credentials`: every failure of the handler, validation included, is answered exactly like a wrong
password (``401 {"error": "INVALID_CREDENTIALS"}`` + WWW-Authenticate), as when one catch-all turns any error
into "invalid credentials". Nothing tells the two apart: DEPR-03 and INPUT-05 are honestly undecidable.
"""

from __future__ import annotations

import re

from starlette.responses import Response

from ..service import LoginRequest, LoginService, User
from . import stack

_FIELD = re.compile(r"^(email|username|password)\b")


def field_code(detail: str) -> str:
    """The reference's validation detail as a per-field error code."""
    if detail.startswith("one of email or username"):
        return "EMAIL_OR_USERNAME_REQUIRED"
    match = _FIELD.match(detail)
    field = match.group(1).upper() if match else "BODY"
    if "required" in detail:
        return f"{field}_REQUIRED"
    if "must be a string" in detail:
        return f"{field}_NOT_A_STRING"
    if "at most" in detail:
        return f"{field}_TOO_LONG"
    return f"{field}_INVALID"


@stack("vendor-codes")
class VendorCodes(LoginService):
    def validation_failure(self, detail: str) -> Response:
        return self.login_failure(201, {"error": field_code(detail)})

    def credential_failure(self, login: LoginRequest, user: User | None) -> Response:
        return self.login_failure(201, {"error": "INVALID_CREDENTIALS"})


@stack("validation-as-credentials")
class ValidationAsCredentials(LoginService):
    def validation_failure(self, detail: str) -> Response:
        return self.credential_failure(None, None)  # type: ignore[arg-type]
