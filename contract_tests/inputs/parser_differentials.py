"""Structure, not only values: bodies that JSON decoders in the wild read differently from the JSON text, and email
addresses that standard-library parsers read differently from the OpenAPI `email` format (the probes of
contract_tests/suite/test_parsers.py).

Every body here is small (well under the documented client's 8 KiB bound: a body cap in front of the API must not hide
the parser behind a 413) and is one request. What the decoders do, as their documentation states it:

* Nesting. Python's json recurses once per level and raises RecursionError past the interpreter's recursion limit
  (1000 by default; RecursionError is not a ValueError, so Flask/werkzeug's ``get_json`` and Django REST framework's
  ``JSONParser``, which catch ValueError, answer 500). Other decoders stop at a documented depth with their own parse
  error: serde_json 128, Ruby's JSON 100 (``max_nesting``), PHP's ``json_decode`` 512, simdjson 1024, Jackson 2.15+
  ``StreamReadConstraints.maxNestingDepth`` 1000, Go's encoding/json 10000. 2000 levels pass every limit above Go's
  and are 4000 bytes.
* Beyond one JSON value. RFC 8259 section 9: "A JSON parser MAY accept non-JSON forms or extensions". Python's json
  accepts ``NaN``, ``Infinity`` and ``-Infinity`` (json module docs: "parse_constant ... '-Infinity', 'Infinity',
  'NaN'"), reads a number too large for a float as ``inf`` (``1e400``), and raises ValueError -- not JSONDecodeError --
  for an integer of more than 4300 digits (the int max str digits limit of Python 3.11+). Starlette's JSONResponse
  renders with ``allow_nan=False``, so a validation error echoing such an input raises while the answer is built:
  FastAPI's default 422 handler answers 500 (fastapi/fastapi#459; MemMachine/MemMachine#211, a 500 from
  `'input': ... inf`). Go's ``json.Decoder.Decode`` reads the first value of a stream and leaves what follows unread
  (encoding/json docs: "Decode reads the next JSON-encoded value from its input"), so a second value or trailing
  bytes are ignored; Jackson accepts comments when enabled (``JsonReadFeature.ALLOW_JAVA_COMMENTS``), Json.NET skips
  them by default; RFC 8259 section 8.1 lets parsers ignore a leading byte order mark. Each probe's first value is an
  unknown account's login, so whatever a decoder reads, no reading can log in.
* Repeated names. RFC 8259 section 4: "When the names within an object are not unique, the behavior of software that
  receives such an object is unpredictable." The last one wins in Python's json, JavaScript's JSON.parse, Go's
  encoding/json, Jackson (default) and PHP's json_decode; the first one in lookups that stop at the first match
  (simdjson On Demand ``find_field``, gjson, jsonparser); Jackson's ``STRICT_DUPLICATE_DETECTION``, serde_json's
  derived structs ("duplicate field") and System.Text.Json's ``AllowDuplicateProperties = false`` refuse the body.
* Letter case. Go's encoding/json binds a key to a struct field "preferring an exact match but also accepting a
  case-insensitive match" (so `PASSWORD` sets Password, the last such key winning); ASP.NET Core's web defaults
  (``PropertyNameCaseInsensitive = true``), Json.NET and Jackson's ``ACCEPT_CASE_INSENSITIVE_PROPERTIES`` do the same;
  Python, JavaScript and Jackson's default are case-sensitive.

A server may read an ambiguous body any one of these ways. What it must not do is read the account one way and the
password (or the account the session is opened for) another: :func:`readings` lists the consistent readings, and the
probes are built so that none of them carries the right credentials while a mixed one does (INPUT-11).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..sending.exchange import Members
from ..sending.secrets import Secret

NESTING_DEPTH = 2000  # past Python's default recursion limit (1000) and the documented limits of the decoders above
HUGE_INTEGER_DIGITS = 4400  # past Python 3.11+'s default int max str digits (4300)
STAND_IN_PASSWORD = "Parser-Probe-Passw0rd!"  # the password of the probes that name no account


@dataclass(frozen=True)
class RawProbe:
    """A body sent as bytes: what it is (the request's purpose) and whether it is a JSON value other than an object
    (INPUT-04's 4xx then applies; a lenient decoder's reading of an extension is its own business: RFC 8259 §9)."""

    name: str
    what: str
    body: bytes
    non_object: bool = False


def _text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _login(email: str, password: str) -> str:
    return "{" + f'"email": {_text(email)}, "password": {_text(password)}' + "}"


def nested_arrays(depth: int = NESTING_DEPTH) -> str:
    return "[" * depth + "]" * depth


def _second_address(email: str, tag: str) -> str:
    local, at, domain = email.rpartition("@")
    return f"{local}+{tag}@{domain}" if at else f"{email}+{tag}"


def body_probes(unknown_email: str) -> dict[str, RawProbe]:
    """INPUT-04: bodies that are not one JSON object as RFC 8259 defines it (an unknown account's login in each)."""
    login = _login(unknown_email, STAND_IN_PASSWORD)
    other = _login(_second_address(unknown_email, "second"), STAND_IN_PASSWORD)
    probes = [
        RawProbe("nested-arrays", f"{NESTING_DEPTH} nested arrays as the body", nested_arrays().encode(), True),
        RawProbe("huge-integer", f"a {HUGE_INTEGER_DIGITS}-digit integer as the body",
                 ("9" * HUGE_INTEGER_DIGITS).encode(), True),
        RawProbe("nan-literal", "the NaN literal (not JSON) as the email",
                 ("{" + f'"email": NaN, "password": {_text(STAND_IN_PASSWORD)}' + "}").encode()),
        RawProbe("infinity-literal", "the -Infinity literal (not JSON) as the password",
                 ("{" + f'"email": {_text(unknown_email)}, "password": -Infinity' + "}").encode()),
        RawProbe("byte-order-mark", "an unknown account's login after a UTF-8 byte order mark",
                 b"\xef\xbb\xbf" + login.encode()),
        RawProbe("comment", "an unknown account's login with a /* comment */ between its members",
                 login.replace(", ", ", /* conformance probe */ ", 1).encode()),
        RawProbe("two-values", "two unknown accounts' logins, one JSON object after the other",
                 (login + other).encode()),
    ]
    return {probe.name: probe for probe in probes}


def field_probes(unknown_email: str) -> dict[str, RawProbe]:
    """INPUT-03: JSON values other than strings in a field, which decoders turn into something a handler may not
    expect (a RecursionError while parsing, an ``inf`` that cannot be rendered back as JSON)."""
    nested = "{" + f'"email": {_text(unknown_email)}, "password": {nested_arrays()}' + "}"
    huge = "{" + f'"email": 1e400, "password": {_text(STAND_IN_PASSWORD)}' + "}"
    probes = [
        RawProbe("nested-arrays-as-password", f"{NESTING_DEPTH} nested arrays as the password", nested.encode()),
        RawProbe("out-of-range-number-as-email", "1e400 as the email (a float decoder reads infinity)", huge.encode()),
    ]
    return {probe.name: probe for probe in probes}


# --------------------------------------------------------------------------------- repeated names and letter case
# The case-variant names: ASP.NET's PascalCase properties and a shouting client.
EMAIL_VARIANT, PASSWORD_VARIANT = "Email", "PASSWORD"


def mixed_readings(email: str, password: Secret | str, unknown: str, wrong: str, other_wrong: str,
                   other_unknown: str) -> dict[str, Members]:
    """INPUT-11: bodies no consistent reading logs in with (every one pairs the account with a wrong password or the
    right password with an unknown account), while a reading that takes the account and the password from different
    members -- a repeated name read first in one place and last in another, or a name matched with letter case in one
    place and without in another -- does. Each probe pairs the account with a wrong password in one reading: it may
    cost a failed login."""
    return {
        "account-last-password-first": Members([
            ("email", unknown), ("password", password), ("email", email), ("password", wrong),
            (EMAIL_VARIANT, other_unknown), (PASSWORD_VARIANT, password)]),
        "account-first-password-last": Members([
            ("email", email), ("password", wrong), ("email", unknown), ("password", password),
            (EMAIL_VARIANT, email), (PASSWORD_VARIANT, other_wrong)]),
    }


MIXED_PURPOSE = {
    "account-last-password-first": (
        "email and password repeated, and again as Email/PASSWORD: the account's email only in the last `email`, its "
        "password only in the first `password` and in `PASSWORD`"),
    "account-first-password-last": (
        "email and password repeated, and again as Email/PASSWORD: the account's email in the first `email` and in "
        "`Email`, its password only in the last `password`"),
}


def exact_names_only(body: Members) -> Members:
    """*body* without its letter-case variants: the repeated names alone. A strict schema refuses `Email` and
    `PASSWORD` as unknown properties (additionalProperties: false, NestJS's forbidNonWhitelisted, Jackson's
    FAIL_ON_UNKNOWN_PROPERTIES) before any repeated name is read; a body refused as a whole says nothing about each of
    its ambiguities, so the repeated names are asked again alone."""
    return Members([(name, value) for name, value in body.items() if name in ("email", "password")])


EXACT_NAMES_PURPOSE = "the same repeated email and password without the Email/PASSWORD variants (the body was refused)"


def identity_probes(email: str, password: Secret | str, unknown: str, other_unknown: str) -> dict[str, Members]:
    """INPUT-11: the right password with the account's email and an unknown address before it, once as a repeated
    `email`, once as `Email` (one ambiguity per body: success-path requests, they cost no failed login). Every reading
    that names the account carries its password (so no reading costs a failed login on it); a reading that checks the
    account and opens the session for another address does not log in as the account."""
    return {
        "repeated-email": Members([("email", unknown), ("email", email), ("password", password)]),
        "letter-case-email": Members([(EMAIL_VARIANT, other_unknown), ("email", email), ("password", password)]),
    }


IDENTITY_PURPOSE = {
    "repeated-email": ("the account's email and password, with an unknown address in a first `email` (repeated): "
                       "any reading that names the account carries its password"),
    "letter-case-email": ("the account's email and password, with an unknown address in `Email` (first): any reading "
                          "that names the account carries its password"),
}


def readings(body: Members) -> dict[str, dict[str, Any]]:
    """The consistent readings of *body*'s `email` and `password`: first or last of a repeated name, names matched
    with or without letter case (a name absent from a reading is left out)."""
    found: dict[str, dict[str, Any]] = {}
    for case in ("exact", "any-case"):
        for which in ("first", "last"):
            picked: dict[str, Any] = {}
            for name, value in body.items():
                key = name.lower() if case == "any-case" else name
                if key in ("email", "password") and (which == "last" or key not in picked):
                    picked[key] = value
            found[f"{which} member, {'any letter case' if case == 'any-case' else 'exact name'}"] = picked
    return found


# ------------------------------------------------------------------------------------------------- email forms
@dataclass(frozen=True)
class EmailForm:
    name: str
    what: str
    address: str
    not_an_addr_spec: bool  # outside the `email` format whichever RFC reads it (INPUT-05 judges its classification)


def email_forms(unknown_email: str) -> dict[str, EmailForm]:
    """Addresses built on the unknown account's that parsers read differently from the `email` format.

    The OpenAPI 3.0 `email` format is JSON Schema's: RFC 5322 section 3.4.1's addr-spec in the draft OpenAPI 3.0
    cites (draft-wright-json-schema-validation-00 §7.3.2), RFC 5321's Mailbox in 2019-09 and later. Python's
    ``email.utils.parseaddr`` returns the address inside a display name (``"Name <a@b.c>"`` -> ``a@b.c``) and drops
    comments; Go's ``net/mail.ParseAddress`` parses RFC 5322 addresses, display names and comments included. Only
    forms outside both readings of the format are judged as validation failures (a display name, a trailing dot);
    comments and surrounding whitespace are CFWS that RFC 5322's addr-spec allows (and servers commonly trim), a
    quoted local part is valid in both, and internationalized domains are RFC 6531's (`idn-email`): for those only
    "no token, no 5xx" is asked.
    """
    local, _, domain = unknown_email.rpartition("@")
    forms = [
        EmailForm("display-name", "an address inside a display name (parseaddr, net/mail read the address)",
                  f"Conformance Probe <{unknown_email}>", True),
        EmailForm("trailing-dot", "a domain ending in a dot (a fully qualified DNS name)", f"{unknown_email}.", True),
        EmailForm("comment", "an address followed by an RFC 5322 comment", f"{unknown_email} (conformance probe)",
                  False),
        EmailForm("quoted-local-part", "a quoted local part holding an @", f'"{local}@probe"@{domain}', False),
        EmailForm("long-idn-label", "an internationalized domain whose label is too long for IDNA (64 x U+00FC)",
                  f"{local}@{chr(0xFC) * 64}.{domain}", False),
        EmailForm("surrounding-whitespace", "an address between spaces and a tab", f" \t{unknown_email} ", False),
    ]
    return {form.name: form for form in forms}
