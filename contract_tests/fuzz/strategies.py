"""Hypothesis strategies of login requests.

* :func:`schema_valid_requests` / :func:`schema_invalid_requests` - schemathesis's positive / negative
  generation from the clarified OpenAPI document, plus (negative mode) the suite's own mutations for the
  kinds of invalid input the schema cannot express: non-JSON content types, malformed and non-UTF-8
  JSON, non-object bodies, unmistakably malformed emails.
* :func:`credential_misuses` - the right credentials in schema-invalid requests (wrapped in arrays and
  operator objects, next to an invalid username, under a near-miss field name, in a non-JSON body, ...).
* :func:`extra_properties` - unknown properties to add to a right login (INPUT-10).

Strategies draw only plain data; which account a credentialed example uses is decided when it runs
(the failed-login budget may be spent), so :class:`CredentialMisuse` is applied to (email, password)
then.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from hypothesis import strategies as st

from ..contract.spec import SpecError, request_fields
from ..sending.exchange import LOGIN_PATH
from ..sending.secrets import Secret
from .wire import MISSING, Wire, classify, from_case, sendable_headers, unmistakably_not_an_email


# ------------------------------------------------------------------------------------- schemathesis
def login_operation():
    """The login operation of the clarified document, loaded by schemathesis (no config file discovery).

    Built once per import of schemathesis: when schemathesis's modules are imported anew (pytester restores
    ``sys.modules`` after an in-process run), an operation built by the old import fails schemathesis's own
    ``isinstance`` checks and its response checks silently skip themselves, so it is rebuilt.
    """
    from schemathesis.specs.openapi.schemas import OpenApiSchema

    operation = _login_operation()
    if not isinstance(operation.schema, OpenApiSchema):
        _login_operation.cache_clear()
        operation = _login_operation()
    return operation


@cache
def _login_operation():
    import schemathesis

    from ..contract.spec import clarified_document

    schema = schemathesis.openapi.from_dict(clarified_document(), config=schemathesis.Config())
    # The document's bearer scheme is drawn here (_AUTHORIZATION), not by schemathesis: its negative mode spends
    # about half of its cases mutating that header alone, cases schema_invalid_requests throws away (the body is
    # valid); generating the header separately takes a third of the CPU per kept example, for the same shapes.
    schema.config.generation.update(with_security_parameters=False)
    return schema[LOGIN_PATH]["POST"]


def _cases(mode: str) -> st.SearchStrategy:
    from schemathesis import GenerationMode

    generation_mode = GenerationMode.POSITIVE if mode == "positive" else GenerationMode.NEGATIVE
    return login_operation().as_strategy(generation_mode=generation_mode)


def prepare(mode: str) -> None:
    """Draw a few throwaway examples of schemathesis's *mode* strategy: the first ones pay for converting the schema
    (about 0.2 s). The values are not used; the properties' own seeded examples are the same with or without this
    (contract_tests/warm_up.py runs it while the run waits on the network)."""
    from hypothesis import HealthCheck, Phase, given, seed, settings

    from .config import keep_hypothesis_out_of_the_working_tree
    from .seeded import without_local_constants

    keep_hypothesis_out_of_the_working_tree()  # before hypothesis writes any cache
    strategy = schema_valid_requests() if mode == "positive" else schema_invalid_requests()
    with without_local_constants():
        seed(1)(settings(max_examples=3, database=None, deadline=None, phases=[Phase.generate],
                         suppress_health_check=list(HealthCheck))(given(strategy)(lambda value: None)))()


_PRINTABLE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=24)
# What a client's stored bearer token can look like on a login (the vendor's web client sends one): none, empty, a
# Bearer credential, anything else -- the shapes schemathesis draws for the document's `bearerAuth` scheme; kept
# only where HTTP can carry it as it is (sendable_headers: no leading or trailing whitespace), as schemathesis's are.
_AUTHORIZATION = st.one_of(st.none(), st.just(""), _PRINTABLE.map("Bearer {}".format), _PRINTABLE)


def _with_authorization(wires: st.SearchStrategy[Wire]) -> st.SearchStrategy[Wire]:
    def add(pair: tuple[Wire, str | None]) -> Wire:
        wire, value = pair
        header = sendable_headers({"Authorization": value}) if value is not None else ()
        return dataclasses.replace(wire, headers=(*wire.headers, *header)) if header else wire

    return st.tuples(wires, _AUTHORIZATION).map(add)


def schema_valid_requests() -> st.SearchStrategy[Wire]:
    """Schemathesis positive mode, kept when the clarified schema agrees the body is valid (the clarified
    document requires the body and an identifier; this filter keeps whatever schemathesis generates beyond them
    out of the positive examples), with or without an Authorization header."""
    return _with_authorization(_cases("positive").map(lambda case: from_case(case, "schemathesis positive")).filter(
        lambda wire: classify(wire).valid))


# ------------------------------------------------------------------------------------- own mutations
_JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63), st.floats(allow_nan=False,
                                                                                         allow_infinity=False),
    st.text(max_size=20),
)
_JSON = st.recursive(_JSON_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                            st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                     max_leaves=6)
# NoSQL operators that match any stored value (AUTH-09's family); only ever sent with an unknown account or as a
# password (never as the identifier of an account: see _pinned_identifier)
_OPERATORS = st.sampled_from([
    {"$ne": None}, {"$gt": ""}, {"$gte": ""}, {"$lt": "\U0010ffff"}, {"$lte": "\U0010ffff"}, {"$regex": ".*"},
    {"$exists": True}, {"$in": [""]}, {"$nin": [""]}, {"$not": {"$eq": ""}}, {"$where": "1 == 1"},
    {"$expr": {"$eq": [1, 1]}}, [{"$ne": None}],
])
_NON_STRINGS = st.one_of(
    st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.booleans(), st.none(),
    st.lists(_JSON_SCALARS, max_size=3), st.dictionaries(st.text(max_size=8), _JSON_SCALARS, max_size=3), _OPERATORS,
)


@cache  # built once: a strategy built anew at every draw is validated anew by hypothesis
def _emails() -> st.SearchStrategy[str]:
    return st.emails().filter(lambda e: len(e) <= 254 and classify(Wire(json={"email": e, "password": "x"})).valid)


_PASSWORDS = st.text(max_size=24)


@st.composite
def _valid_body(draw) -> dict:
    return {"email": draw(_emails()), "password": draw(_PASSWORDS)}


_VALID_BODY = _valid_body()


# Bytes that are never valid UTF-8: lone continuation bytes, truncated sequences, overlongs, surrogates, > U+10FFFF.
_BAD_UTF8 = (b"\xff", b"\xfe", b"\x80", b"\xc0\xaf", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
             b"\xe9")


@st.composite
def _not_utf8(draw) -> Wire:
    """A JSON body with bytes that are not UTF-8 (a Latin-1 client, a truncated multi-byte sequence)."""
    where = draw(st.sampled_from(("alone", "in-a-string", "anywhere")))
    bad = draw(st.sampled_from(_BAD_UTF8))
    if where == "alone":
        raw = bad
    else:
        text = json.dumps(draw(_VALID_BODY)).encode()
        if where == "in-a-string":
            i = text.index(b'"password": "') + len(b'"password": "')
        else:
            i = draw(st.integers(min_value=0, max_value=len(text)))
        raw = text[:i] + bad + text[i:]
    return Wire(raw=raw, content_type="application/json", note="non-UTF-8 bytes")


@st.composite
def _malformed_json(draw) -> Wire:
    how = draw(st.sampled_from(("truncated", "trailing-garbage", "single-quotes", "nan", "whitespace", "binary")))
    if how == "whitespace":
        raw = draw(st.sampled_from((b" ", b"\n", b"\r\n\t ", b"\xef\xbb\xbf")))
    elif how == "binary":
        raw = draw(st.binary(min_size=1, max_size=48))
    else:
        text = json.dumps(draw(_VALID_BODY))
        if how == "truncated":
            raw = text[: draw(st.integers(min_value=1, max_value=len(text) - 1))].encode()
        elif how == "trailing-garbage":
            raw = (text + draw(st.sampled_from(("}", ",", "x", "{}", "\x00")))).encode()
        elif how == "single-quotes":
            raw = text.replace('"', "'").encode()
        else:
            raw = text.replace('"password": ', '"password": NaN, "x": ', 1).encode()
    return Wire(raw=raw, content_type="application/json", note=f"malformed JSON ({how})")


_NON_OBJECTS = st.one_of(
    st.lists(_JSON, max_size=3), st.text(max_size=30), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(), st.none(),
)


@st.composite
def _non_object(draw) -> Wire:
    value = draw(st.one_of(_NON_OBJECTS, _valid_body().map(lambda b: [b])))
    return Wire(json=value, note="non-object JSON body")


@st.composite
def _wrong_type(draw) -> Wire:
    body = draw(_VALID_BODY)
    name = draw(st.sampled_from(("email", "username", "password")))
    if name == "username":
        body = {"username": body["email"], "password": body["password"]}
    value = draw(_NON_STRINGS)
    if name != "password" and _is_operator(value):
        value = _pinned_identifier(body.get("email", body.get("username")), draw(st.sampled_from(_PINNED)))
    body[name] = value
    return Wire(json=body, note=f"{name} of the wrong JSON type")


def _is_operator(value: Any) -> bool:
    items = value if isinstance(value, list) else [value]
    return any(isinstance(v, dict) and any(str(k).startswith("$") for k in v) for v in items)


_PINNED = ("$eq", "$in", "$regex", "$gte-$lte", "in-array")


def _pinned_identifier(identifier: str, how: str) -> Any:
    """An operator object that matches *identifier* and nothing else (safety: never another account)."""
    import re

    return {"$eq": {"$eq": identifier}, "$in": {"$in": [identifier]},
            "$regex": {"$regex": "^" + re.escape(identifier) + "$"},
            "$gte-$lte": {"$gte": identifier, "$lte": identifier}, "in-array": [{"$eq": identifier}]}[how]


@st.composite
def _missing_field(draw) -> Wire:
    body = draw(_VALID_BODY)
    if draw(st.booleans()):
        del body["password"]
        note = "no password"
    else:
        del body["email"]
        note = "neither email nor username"
    return Wire(json=body, note=note)


# code points validators miscount among them: astral, combining marks, variation selectors, ZWJ sequences
_LONG_ALPHABETS = st.sampled_from(("a", "\U0001f600", "\u00e9", "\u4e2d", "e\u0301", "\u05e9", "\u2764\ufe0f",
                                   "\U0001f469\u200d\U0001f4bb"))
def _username_limit() -> int:
    limit = request_fields()["username"].max_length
    if limit is None:  # the clarifications state it; without it the long-username probes have nothing to straddle
        raise SpecError("the shipped document gives the username no maxLength")
    return limit


USERNAME_LIMIT = _username_limit()  # the shipped document's maxLength


@st.composite
def _long_username(draw) -> Wire:
    unit = draw(_LONG_ALPHABETS)
    count = draw(st.integers(min_value=USERNAME_LIMIT + 1, max_value=5 * USERNAME_LIMIT))
    username = (unit * count)[:count]  # exactly `count` code points
    return Wire(json={"username": username, "password": draw(_PASSWORDS)}, note=f"username of {len(username)} code points")


_BROKEN_EMAILS = st.sampled_from((
    "plainaddress", "two@@example.com", "@example.com", "local@", "a b@example.com", "local@exa mple.com",
    "local@.example.com", "local@example..com", "local@example.com.", "lo\x00cal@example.com", "local@example.com\n",
    " local@example.com", "local@example.com ", "a@b@example.com", "local\t@example.com", "",
))


@st.composite
def _malformed_email(draw) -> Wire:
    email = draw(st.one_of(_BROKEN_EMAILS, st.text(max_size=40).filter(unmistakably_not_an_email)))
    return Wire(json={"email": email, "password": draw(_PASSWORDS)}, note="email not in email format")


_OTHER_TYPES = ("text/plain", "application/x-www-form-urlencoded", "application/xml", "application/octet-stream", "")


@st.composite
def _wrong_content_type(draw) -> Wire:
    body = draw(_VALID_BODY)
    ctype = draw(st.sampled_from(_OTHER_TYPES))
    if ctype == "application/x-www-form-urlencoded":
        return Wire(form=tuple(body.items()), note="form-encoded credentials")
    if ctype == "application/xml":
        xml = "<login>" + "".join(f"<{k}>{v}</{k}>" for k, v in body.items()) + "</login>"
        return Wire(raw=xml.encode("utf-8", "surrogatepass"), content_type=ctype, note="XML body")
    return Wire(json=body, content_type=ctype, note=f"JSON sent as {ctype or 'no Content-Type'}")


def contract_mutations() -> st.SearchStrategy[Wire]:
    """The suite's own schema-invalid requests (kinds the OpenAPI document cannot express)."""
    return st.one_of(_not_utf8(), _malformed_json(), _wrong_type(), _non_object(), _missing_field(),
                     _wrong_content_type(), _long_username(), _malformed_email()).filter(
        lambda wire: not classify(wire).valid)


def schema_invalid_requests() -> st.SearchStrategy[Wire]:
    """Schemathesis negative mode, kept when the body itself is schema-invalid (schemathesis also counts a
    mutated header as negative, which the login endpoint may ignore), with or without an Authorization header."""
    return _with_authorization(_cases("negative").map(lambda case: from_case(case, "schemathesis negative")).filter(
        lambda wire: not classify(wire).valid))


# ------------------------------------------------------------------------------------- credentials
@dataclass(frozen=True)
class CredentialMisuse:
    """A schema-invalid way of sending (email, password); applied when the example runs."""

    kind: str
    detail: Any = None

    def __repr__(self) -> str:
        return f"CredentialMisuse({self.kind}{'' if self.detail is None else ': ' + repr(self.detail)[:80]})"

    def wire(self, email: str, password: Secret | str) -> Wire:
        k, d = self.kind, self.detail
        note = repr(self)
        if k == "password-in-array":
            return Wire(json={"email": email, "password": [password] * d}, note=note)
        if k == "password-in-object":
            return Wire(json={"email": email, "password": {d: password}}, note=note)
        if k == "email-in-array":
            return Wire(json={"email": [email], "password": password}, note=note)
        if k == "email-in-object":
            return Wire(json={"email": _pinned_identifier(email, d), "password": password}, note=note)
        if k == "password-operator":
            operand = [password] if d in ("$in", "$all") else {"$ne": password} if d == "$not" else password
            return Wire(json={"email": email, "password": {d: operand}}, note=note)
        if k == "password-operator-in-array":
            return Wire(json={"email": email, "password": [{"$eq": password}]}, note=note)
        if k == "username-wrong-type":
            return Wire(json={"email": email, "password": password, "username": d}, note=note)
        if k == "username-too-long":
            return Wire(json={"email": email, "password": password, "username": d}, note=note)
        if k == "email-malformed":
            before, after = d
            return Wire(json={"email": before + email + after, "password": password}, note=note)
        if k == "identifier-renamed":
            return Wire(json={d: email, "password": password}, note=note)
        if k == "password-renamed":
            return Wire(json={"email": email, d: password}, note=note)
        if k == "content-type":
            if d == "application/x-www-form-urlencoded":
                return Wire(form=(("email", email), ("password", password)), note=note)
            return Wire(json={"email": email, "password": password}, content_type=d, note=note)
        if k == "body-in-array":
            return Wire(json=[{"email": email, "password": password}], note=note)
        raise ValueError(f"unknown credential misuse {k!r}")


_MISUSES = st.one_of(
    st.integers(min_value=1, max_value=3).map(lambda n: CredentialMisuse("password-in-array", n)),
    st.sampled_from(("$eq", "$regex", "value", "password", "0")).map(lambda k: CredentialMisuse("password-in-object", k)),
    st.just(CredentialMisuse("email-in-array")),
    st.sampled_from(_PINNED).map(lambda k: CredentialMisuse("email-in-object", k)),
    st.sampled_from(("$in", "$all", "$gte", "$lte", "$not")).map(lambda k: CredentialMisuse("password-operator", k)),
    st.just(CredentialMisuse("password-operator-in-array")),
    _NON_STRINGS.filter(lambda v: not _is_operator(v)).map(lambda v: CredentialMisuse("username-wrong-type", v)),
    st.builds(lambda unit, n: CredentialMisuse("username-too-long", unit * n), st.sampled_from(("a", "\U0001f600")),
              st.integers(min_value=USERNAME_LIMIT + 1, max_value=USERNAME_LIMIT + 120)),
    st.tuples(st.sampled_from(("", " ", "\t", "\n", "\u00a0")), st.sampled_from(("", " ", "\n", "\x00", ".", "\r\n")))
    .filter(lambda t: t != ("", "")).map(lambda t: CredentialMisuse("email-malformed", t)),
    st.sampled_from(("Email", "EMAIL", "e-mail", "mail", "login", "user", "userName", "user_name"))
    .map(lambda k: CredentialMisuse("identifier-renamed", k)),
    st.sampled_from(("Password", "PASSWORD", "pass", "passwd", "pwd", "password "))
    .map(lambda k: CredentialMisuse("password-renamed", k)),
    st.sampled_from(("text/plain", "application/x-www-form-urlencoded", "")).map(lambda c: CredentialMisuse("content-type", c)),
    st.just(CredentialMisuse("body-in-array")),
)


def credential_misuses() -> st.SearchStrategy[CredentialMisuse]:
    return _MISUSES


# ------------------------------------------------------------------------------------- extra properties
# Property names an attacker (or a confused client) might add: identity, privilege, session, parser tricks,
# and case variants of the documented fields that a case-insensitive binder would map onto them.
_EXTRA_NAMES = st.one_of(
    st.sampled_from((
        "user_uuid", "uuid", "id", "user_id", "sub", "role", "roles", "is_admin", "admin", "scope", "token",
        "session", "account", "tenant", "email_verified", "verified", "avatar_url", "error", "otp", "mfa",
        "remember_me", "__proto__", "constructor", "$where", "Email", "EMAIL", "Username", "Password",
    )),
    st.text(min_size=1, max_size=16),
).filter(lambda name: name not in ("email", "username", "password"))
_EXTRA_VALUES = st.one_of(
    st.sampled_from(("00000000-0000-4000-8000-000000000001", "admin", "other@hyper3d.test", "*", "")),
    _JSON,
)


def extra_properties() -> st.SearchStrategy[dict]:
    return st.dictionaries(_EXTRA_NAMES, _EXTRA_VALUES, min_size=1, max_size=5)


__all__ = [
    "CredentialMisuse", "MISSING", "contract_mutations", "credential_misuses", "extra_properties",
    "login_operation", "schema_invalid_requests", "schema_valid_requests",
]
