"""What a fuzzing example sends (:class:`Wire`) and what kind of request it is (:func:`classify`).

Every generated example, whether schemathesis built it from the OpenAPI document or one of the suite's
own strategies did, becomes a :class:`Wire`: body, content type, extra headers and query parameters.
:func:`classify` then decides, against the CLARIFIED request schema (``contract_tests.contract.spec``), whether it
is schema-valid and, if not, which catalog requirement its kind of invalidity falls under.  That
requirement owns a 5xx on the request and decides which checks apply to its answer.

The suite's classification, not schemathesis's generation mode, is the judge: schemathesis's negative
mode also counts a mutated ``Authorization`` header or an unexpected extra header as "negative", which
the login endpoint may legally ignore.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from ..sending.exchange import Expect, LoginRequest
from ..sending.secrets import Secret
from ..contract.spec import request_schema, validator

MISSING = object()  # no body at all

# Headers the wire layer owns (framing, content negotiation, identification): never taken from a generated case.
_RESERVED_HEADERS = frozenset({
    "content-type", "content-length", "transfer-encoding", "host", "connection", "expect", "te", "trailer",
    "upgrade", "keep-alive", "proxy-connection", "user-agent", "accept", "accept-encoding", "cookie",
    "x-schemathesis-testcaseid",
})
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_FIELD_VALUE = re.compile(r"^[\x21-\x7e]([\x20-\x7e\t]*[\x21-\x7e])?$|^$")


@dataclass(frozen=True)
class Wire:
    """One request body as sent: exactly one of ``json`` / ``raw`` / ``form`` (or none: no body)."""

    json: Any = MISSING
    raw: bytes | None = None
    form: tuple[tuple[str, Any], ...] | None = None
    content_type: str | None = None  # None: the default for the body kind ("" sends no Content-Type)
    headers: tuple[tuple[str, str], ...] = ()
    params: tuple[tuple[str, str], ...] = ()
    note: str = field(default="", compare=False)

    def __repr__(self) -> str:
        parts = []
        if self.note:
            parts.append(self.note)
        if self.raw is not None:
            parts.append(f"raw={self.raw[:120]!r}")
        elif self.json is not MISSING:
            parts.append(f"json={_short(self.json)}")
        elif self.form is not None:
            parts.append(f"form={list(self.form)!r}"[:200])
        else:
            parts.append("no body")
        if self.content_type is not None:
            parts.append(f"content_type={self.content_type!r}")
        if self.headers:
            parts.append(f"headers={dict(self.headers)!r}"[:200])
        if self.params:
            parts.append(f"params={list(self.params)!r}"[:200])
        return "Wire(" + ", ".join(parts) + ")"

    def request(self, purpose: str, expect: Expect, requirement: str | None, *, real_account: bool = False) -> LoginRequest:
        fields: dict[str, Any] = {}
        if self.raw is not None:
            fields["raw"] = self.raw
        elif self.json is not MISSING:
            fields["json"] = self.json
        elif self.form is not None:
            fields["form"] = list(self.form)
        if self.content_type is not None:
            fields["content_type"] = self.content_type
        return LoginRequest(
            purpose=purpose, expect=expect, requirement=requirement, real_account=real_account,
            headers=dict(self.headers), params=list(self.params), **fields,
        )


def _short(value: Any, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def sendable_headers(headers: Any) -> tuple[tuple[str, str], ...]:
    """The generated headers HTTP can carry as they are (valid names, printable ASCII values)."""
    kept = []
    for name, value in dict(headers or {}).items():
        if not isinstance(name, str) or not isinstance(value, str):
            continue
        if name.lower() in _RESERVED_HEADERS or not _TOKEN.match(name) or not _FIELD_VALUE.match(value):
            continue
        kept.append((name, value[:1024]))
    return tuple(kept[:16])


def from_case(case: Any, note: str = "") -> Wire:
    """A schemathesis :class:`~schemathesis.Case` as the suite will send it (through its own client)."""
    from schemathesis.core import NotSet

    headers = sendable_headers(case.headers)
    params = tuple((str(k), str(v)) for k, values in (case.query or {}).items()
                   for v in (values if isinstance(values, list) else [values]))
    body = case.body
    if isinstance(body, NotSet):
        return Wire(headers=headers, params=params, note=note)
    if isinstance(body, (bytes, bytearray)):
        return Wire(raw=bytes(body), content_type=case.media_type or "", headers=headers, params=params, note=note)
    return Wire(json=body, content_type=case.media_type, headers=headers, params=params, note=note)


# ------------------------------------------------------------------------------------- classification
@dataclass(frozen=True)
class Shape:
    """What kind of request a :class:`Wire` is, judged against the clarified request schema."""

    valid: bool
    requirement: str  # owns a 5xx; decides which checks apply
    what: str  # human description of the (in)validity


VALID = "schema-valid body"
_FIELDS = ("email", "username", "password")


@cache
def _request_validator():
    return validator(request_schema())


def _plain(obj: Any) -> Any:
    if isinstance(obj, Secret):
        return obj.value
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def classify(wire: Wire) -> Shape:
    """Schema-valid, or the requirement the request's invalidity falls under (first match wins):

    INPUT-07 non-JSON content type; INPUT-04 no body, malformed JSON, non-object JSON; INPUT-03 a field of
    the wrong JSON type; INPUT-01 no password; INPUT-02 neither email nor username; DEPR-03 username over
    maxLength code points; INPUT-05 email not in email format; INPUT-06 anything else the schema rejects.
    """
    if wire.form is not None:
        return Shape(False, "INPUT-07", "form-encoded body (not JSON)")
    ctype = wire.content_type
    if ctype is None:
        ctype = "application/json" if (wire.json is not MISSING or wire.raw is not None) else ""
    media = ctype.split(";")[0].strip().lower()
    if wire.json is MISSING and wire.raw is None:
        return Shape(False, "INPUT-04", "empty body" + ("" if media else ", no Content-Type"))
    if media != "application/json":
        return Shape(False, "INPUT-07", f"Content-Type {ctype!r} (not application/json)" if ctype else "no Content-Type")
    if wire.raw is not None:
        try:
            # surrogatepass: a surrogate encoded as bytes (CESU-8 / WTF-8) is the lone surrogate it encodes, as
            # Python's json reads it, a string like the escaped one ("\ud800"); any other invalid byte is INPUT-04's
            body = json.loads(wire.raw.decode("utf-8", "surrogatepass"), parse_constant=_reject_constant)
        except UnicodeDecodeError:
            return Shape(False, "INPUT-04", "body is not UTF-8")
        except (ValueError, RecursionError):
            return Shape(False, "INPUT-04", "malformed JSON")
    else:
        body = _plain(wire.json)
    if not isinstance(body, dict):
        return Shape(False, "INPUT-04", f"non-object JSON body ({type(body).__name__})")
    found: dict[str, str] = {}
    for error in _request_validator().iter_errors(body):
        path = list(error.absolute_path)
        if error.validator == "type" and len(path) == 1 and path[0] in _FIELDS:
            found.setdefault("INPUT-03", f"{path[0]} is not a string")
        elif error.validator == "required" and not path and "password" not in body:
            found.setdefault("INPUT-01", "no password")
        elif error.validator == "anyOf" and not path:
            found.setdefault("INPUT-02", "neither email nor username")
        elif error.validator == "maxLength" and path == ["username"] and "email" not in body:
            # the username's length is DEPR-03's where the username is the identifier; beside an email (which wins,
            # DEPR-02) a server may ignore it unread: then it is only a schema-invalid request (INPUT-06)
            found.setdefault("DEPR-03", f"username of {len(body['username'])} code points "
                                          f"(max {error.validator_value})")
        elif error.validator == "format" and path == ["email"]:
            found.setdefault("INPUT-05", "email not in email format")
        else:
            found.setdefault("INPUT-06", f"schema-invalid: {error.message[:80]}")
    for rid in ("INPUT-03", "INPUT-01", "INPUT-02", "DEPR-03", "INPUT-05", "INPUT-06"):
        if rid in found:
            return Shape(False, rid, found[rid])
    return Shape(True, "INPUT-09", VALID)


_UNMISTAKABLE = re.compile(r"[\s\x00-\x1f\x7f]")


def unmistakably_not_an_email(value: Any) -> bool:
    """An email value no reading of RFC 5321/6531 accepts (no quoted local part that could excuse it)."""
    if not isinstance(value, str) or '"' in value:
        return False
    if value.count("@") != 1:
        return True
    local, domain = value.split("@")
    return not local or not domain or bool(_UNMISTAKABLE.search(value)) or domain.startswith(".") or \
        domain.endswith(".") or ".." in domain
