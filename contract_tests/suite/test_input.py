"""Input validation (INPUT-01 .. INPUT-10). No token and no 5xx is MUST everywhere here.

Each test checks only what its requirement's statement asks: that a failure carries `error` is RESP-05's, a
non-JSON answer RESP-04's and a 5xx the request's own requirement's (the invariants judge those on every exchange).
"""


import pytest

from contract_tests.contract.spec import request_fields
from contract_tests.inputs.padding import OVERSIZED, padded, undeclared_property
from contract_tests.judging import checks
from contract_tests.judging.invariants import coercible_login
from contract_tests.judging.verdicts import expect, fail, inconclusive, not_applicable, passed, verify
from contract_tests.sending.exchange import LoginRequest
from contract_tests.sending.transport import Failure, size_text
from contract_tests.declared import sends

requirement = pytest.mark.requirement
PASSWORD = "Some-Passw0rd-For-Validation!"


@requirement("INPUT-01")
@sends(lambda unknown_email: LoginRequest("no password field", "invalid", json={"email": unknown_email}))
def test_missing_password_is_rejected(exchange):
    expect("INPUT-01", exchange, checks.no_token)


@requirement("INPUT-01")
@sends(lambda account: LoginRequest("the account's email and no password field", "invalid",
                                    json={"email": account.email}, real_account=True))
def test_missing_password_does_not_log_in_real_account(exchange):
    expect("INPUT-01", exchange, checks.no_token)


@requirement("INPUT-02")
@sends(lambda: LoginRequest("neither email nor username", "invalid", json={"password": PASSWORD}))
def test_no_identifier_is_rejected(exchange):
    expect("INPUT-02", exchange, checks.no_token)


@requirement("INPUT-02")
@sends(lambda account: LoginRequest("the account's password and no identifier", "invalid",
                                    json={"password": account.password}))
def test_no_identifier_with_real_password_does_not_log_in(exchange):
    expect("INPUT-02", exchange, checks.no_token)


WRONG_TYPES = {"number": 12345, "boolean": True, "null": None, "array": ["a"], "object": {"a": 1}}


def _wrong_type(unknown_email: str, field: str, kind: str) -> LoginRequest:
    body = {"password": PASSWORD} if field == "username" else {"email": unknown_email, "password": PASSWORD}
    body[field] = WRONG_TYPES[kind]
    return LoginRequest(f"{field} as a JSON {kind}", "invalid", json=body)


@requirement("INPUT-03")
@pytest.mark.parametrize("kind", WRONG_TYPES)
@pytest.mark.parametrize("field", ["email", "username", "password"])
@sends(_wrong_type)
def test_wrong_json_type_is_rejected(exchange):
    expect("INPUT-03", exchange, checks.no_token)


@requirement("INPUT-03")
@sends(lambda account: LoginRequest("the account's email with its password as a one-element array", "invalid",
                                    json={"email": account.email, "password": [account.password]},
                                    real_account=True))
def test_right_password_in_a_one_element_array_does_not_log_in(exchange):
    """Binders that read a one-element array as its element (Jackson's UNWRAP_SINGLE_VALUE_ARRAYS, form-style
    parsers that give every field as a list) let the right password through a schema-invalid body: no token. The
    probes above use an unknown account, where nothing can log in; the fuzzing properties' real-account examples are
    drawn only while the failed-login budget lasts."""
    expect("INPUT-03", exchange, checks.no_token)


RAW_BODIES = {
    "malformed-json": b'{"email": "a@example.com", "password": ',
    "empty-body": b"",
    "array": b'["a@example.com", "x"]',
    "string": b'"a@example.com"',
    "number": b"42",
    "null": b"null",
    # RFC 8259 §8.1: JSON text is UTF-8. A Latin-1 client's byte, and a multi-byte sequence cut short: a lenient
    # decoder (Node's body-parser, Go's encoding/json) reads U+FFFD, text the client never sent. (A surrogate encoded
    # as bytes is no such case: Python's json reads it as the lone surrogate it encodes, INPUT-09's string.)
    "latin-1-byte-in-a-string": b'{"email": "a@example.com", "password": "caf\xe9-Passw0rd"}',
    "truncated-utf-8-sequence": b'{"email": "a@example.com", "password": "Passw0rd-\xe2\x82"}',
}


@requirement("INPUT-04")
@pytest.mark.parametrize("name", RAW_BODIES)
@sends(lambda name: LoginRequest(f"{name} sent as application/json", "invalid", raw=RAW_BODIES[name],
                                 content_type="application/json"))
def test_unparseable_or_non_object_body_gets_4xx(exchange):
    ex = exchange
    expect("INPUT-04", ex, checks.no_token)
    expect("INPUT-04", ex, checks.is_4xx, level="SHOULD")


BAD_EMAILS = ["not-an-email", "missing-at.example.com", "user@", "@example.com", "a b@example.com", "user@@example.com"]
FIELDS = request_fields()  # formats and required fields: the shipped document, not constants
EMAIL_FIELDS = [rule.name for rule in FIELDS.values() if rule.format == "email"]
REQUIRED = {rule.name: PASSWORD for rule in FIELDS.values() if rule.required}


@requirement("INPUT-05")
@pytest.mark.parametrize("email", BAD_EMAILS)
@pytest.mark.parametrize("field", EMAIL_FIELDS)
@sends(lambda field, email: LoginRequest(f"{field} not in email format", "invalid", json={**REQUIRED, field: email}))
def test_malformed_email_is_a_validation_failure(signatures, exchange):
    ex = exchange
    expect("INPUT-05", ex, checks.no_token)
    kind = signatures.classify(ex)
    if kind == "credential":
        fail("INPUT-05", ex, f"a validation failure ({signatures.describe()})", "a credential failure: " + ex.describe_response(200))
    if kind != "validation":
        inconclusive(f"{signatures.why_unknown(ex)} ({signatures.describe()})")


@requirement("INPUT-06")
def test_schema_invalid_requests_get_4xx(signatures):
    """Every schema-invalid request gets a 4xx (the run's other invalid requests are held to it too). A probe whose only
    fault is a number where a string is wanted, answered exactly like a credential failure, was read as a login
    attempt by a coercing validator (DRF, ajv's coerceTypes): its status is the credential failure's, not a refusal's."""
    for ex in signatures.validation_probes:
        if not ex.token and coercible_login(ex.request.json if ex.request.has_json else None) \
                and signatures.like_credential(ex):
            continue
        verify("INPUT-06", ex, checks.is_4xx)


CONTENT_TYPES = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "none"]


def _non_json_login(configured_account, unknown_email: str, ctype: str) -> LoginRequest:
    acc = configured_account
    email, password = (acc.email, acc.password) if acc else (unknown_email, PASSWORD)
    fields: dict = {}
    if ctype == "text/plain":
        fields = {"json": {"email": email, "password": password}, "content_type": "text/plain"}
    elif ctype == "application/x-www-form-urlencoded":
        fields = {"form": [("email", email), ("password", password)]}
    elif ctype == "multipart/form-data":
        fields = {"multipart": [("email", email), ("password", password)]}
    else:
        fields = {"json": {"email": email, "password": password}, "content_type": ""}
    return LoginRequest(f"credentials sent as {ctype}", "any", **fields)


@requirement("INPUT-07")
@pytest.mark.parametrize("ctype", CONTENT_TYPES)
@sends(_non_json_login)
def test_non_json_content_type_is_refused(exchange):
    """Right credentials in a non-JSON body: 415 (400 tolerated), never a login."""
    expect("INPUT-07", exchange, checks.no_token)
    expect("INPUT-07", exchange, checks.status_in, (415, 400), "415 Unsupported Media Type (400 tolerated)")


ORDINARY = 1024  # INPUT-08's counterpart: the same request at a size every limit admits


def _oversized(unknown_email: str) -> LoginRequest:
    field = undeclared_property()
    return LoginRequest(f"a {size_text(OVERSIZED)} JSON body (above the common 1 MiB and 2.5 MB limits): an "
                        f"unknown-account login padded in the undeclared property {field!r}", "invalid",
                        json=padded({"email": unknown_email, "password": PASSWORD}, field, OVERSIZED),
                        headers={"Expect": "100-continue"}, accept_transport_error=True)


def _ordinary_size(oversized: LoginRequest) -> tuple[str, dict]:
    """The oversized request's counterpart: the same login and property, padded to ORDINARY bytes."""
    field = undeclared_property()
    body = {name: value for name, value in oversized.json.items() if name != field}
    return (f"the same login padded in {field!r} to {size_text(ORDINARY)} (what the {size_text(OVERSIZED)} body's "
            "answer is compared with)", padded(body, field, ORDINARY))


@requirement("INPUT-08")
@sends(_oversized)
def test_oversized_body_is_refused_as_too_large(send, exchange):
    """A body clearly above the common limits (3 MiB: inputs/padding.py OVERSIZED) is refused as too large, not
    parsed and refused as credentials.

    The padding sits in a property the OpenAPI document does not declare, next to an unknown account's
    credentials. A 413 says "too large" by itself. Any other answer is compared with the answer to the same request
    at an ordinary size (1 KiB): a server without a body limit parses both bodies and answers them alike (status and
    `error`) -- the finding -- whether it ignores the property (INPUT-10 allows that: both are the unknown account's
    credential failure) or refuses it (both are the same 400 for an unknown property). A limit answers the large one
    otherwise (a 400 "too large", a reset). Not a time bound: parsing the body takes milliseconds, so timing cannot
    tell a limit from none, and a timed test is not deterministic.

    The request says ``Expect: 100-continue``: a target that refuses from the headers answers before the body is
    sent (sending/wire_log.py waits for its word). One that cuts the connection while the body is still being
    written (an edge refusing from the headers and closing) may leave no answer to read: the request is sent once
    more, and if the connection is cut mid-upload again, the statement is what decides: the body was not taken (no
    token, no 5xx), so the limit held. An answer that never comes within the request timeout is the finding the
    statement names.
    """
    ex = exchange
    tries = [ex]
    if ex.failure is not None and ex.failure.kind is Failure.RESET_WHILE_UPLOADING:
        first = ex.request
        ex = send(first.purpose + ", sent again after the connection was cut mid-upload", "invalid", json=first.json,
                  headers=dict(first.headers), accept_transport_error=True)
        tries.append(ex)
    if ex.failure is not None:
        if ex.failure.kind is Failure.TIMEOUT:
            fail("INPUT-08", ex, f"a 4xx (413 preferred) to the {size_text(OVERSIZED)} body within the request "
                 "timeout", ex.transport_error)
        if ex.failure.kind is Failure.RESET_WHILE_UPLOADING:
            passed("INPUT-08", tries, f"the target cut the connection while the {size_text(OVERSIZED)} body was "
                   f"being sent, {len(tries)} times, and no answer could be read ({ex.transport_error}): the body "
                   "was not taken (no token, no 5xx), so the limit held")
            return
        inconclusive(f"no answer to the {size_text(OVERSIZED)} body to judge: {ex.transport_error}")
    expect("INPUT-08", ex, checks.is_4xx)
    if ex.status == 413:
        return
    purpose, body = _ordinary_size(ex.request)
    ordinary = send(purpose, "invalid", json=body)
    if ordinary.status is None or ordinary.status >= 500:
        inconclusive(f"no answer at an ordinary size to compare with ({ordinary.describe_response(200)})")
    # the same answer means the oversized body was parsed like the ordinary one: no body limit
    expect("INPUT-08", ex, checks.answers_unlike, ordinary,
           f"the answer to the same request at {size_text(ORDINARY)}")


NASTY = {
    "nul": "a\x00b@example.com",
    "lone-surrogate": "\ud800@example.com",
    "control-chars": "\x01\x02\x1b[31m\x7f@example.com",
    "emoji": "\U0001f600\U0001f510\U0001f469\u200d\U0001f4bb@example.com",
    "right-to-left": "\u202eadmin\u202c\u05e9\u05dc\u05d5\u05dd@example.com",
    "very-long": "A" * 10000 + "@example.com",
}
# Unmistakably not an email address; emoji and RTL addresses are legal internationalized
# addresses (RFC 6531) a server may accept, so INPUT-06 does not judge those.
NOT_AN_EMAIL = {"nul", "lone-surrogate", "control-chars", "very-long"}


def _hostile(unknown_email: str, field: str, payload: str) -> LoginRequest:
    value = NASTY[payload]
    body = {"email": unknown_email, "password": PASSWORD}
    if field == "username":
        body = {"username": value, "password": PASSWORD}
    else:
        body[field] = value
    invalid = (field == "email" and payload in NOT_AN_EMAIL) or (field == "username" and len(value) > FIELDS["username"].max_length)
    return LoginRequest(f"{payload} string in {field}", "invalid" if invalid else "failure", json=body)


@requirement("INPUT-09")
@pytest.mark.parametrize("payload", NASTY)
@pytest.mark.parametrize("field", ["email", "username", "password"])
@sends(_hostile)
def test_hostile_strings_never_cause_5xx(exchange):
    expect("INPUT-09", exchange, checks.not_5xx)
    expect("INPUT-09", exchange, checks.no_token)


# The password is verified only for an account that exists: a server that refuses unknown accounts without hashing
# never hands the cases above to its password hasher. These go to the configured account, each a failed login on it
# (3 of the run's budget), one per way password hashers and their encoders break on a string:
ACCOUNT_PASSWORDS = {
    # encoding the str as strict UTF-8 raises UnicodeEncodeError: argon2-cffi's PasswordHasher.verify, Werkzeug's
    # check_password_hash, passlib, hashlib, bcrypt.checkpw(password.encode()), Django's force_bytes
    "lone-surrogate": "Hostile-\ud800-Passw0rd",
    # 90 UTF-8 bytes in 34 characters (52 UTF-16 units): past bcrypt's 72 bytes (pyca bcrypt >= 5 raises ValueError)
    # while within any character-count limit of the field; NUL, refused by C-string bindings (passlib's bcrypt
    # raises NullPasswordError, crypt(3)); controls, RTL override and non-BMP emoji (unassigned in Unicode 3.2),
    # prohibited by SASLprep / PRECIS (passlib's saslprep raises ValueError)
    "nul-controls-emoji-past-72-bytes": "Hostile\x00\x01\x1b[31m\x7f\u202e" + "\U0001f600" * 18,
    # past passlib's 4096-byte limit (PasswordSizeError in verify) and bcrypt's 72 bytes, on a field without a limit
    "very-long": "A" * 10000,
}


def _hostile_password(account, payload: str) -> LoginRequest:
    value = ACCOUNT_PASSWORDS[payload]
    if value == account.password.value:
        not_applicable(f"the account's password is the {payload} string itself")
    return LoginRequest(f"{payload} password for the configured account", "failure",
                        json={"email": account.email, "password": value}, real_account=True)


@requirement("INPUT-09")
@pytest.mark.parametrize("payload", ACCOUNT_PASSWORDS)
@sends(_hostile_password)
def test_hostile_passwords_for_the_account_never_cause_5xx(exchange):
    """A hostile password for the configured account reaches the code that verifies passwords."""
    expect("INPUT-09", exchange, checks.not_5xx)
    expect("INPUT-09", exchange, checks.no_token)


def _extra_properties(account) -> LoginRequest:
    extra = {
        "user_uuid": "00000000-0000-4000-8000-000000000001",
        "role": "admin",
        "is_admin": True,
        "token": "conformance-supplied-token",
        "avatar_url": "https://evil.example/a.png",
    }
    return LoginRequest("right credentials plus unknown properties", "any", json=account.body(**extra),
                        real_account=True)


@pytest.mark.success_path
@requirement("INPUT-10")
@sends(_extra_properties)
def test_extra_properties_never_change_the_outcome(exchange, user_uuid):
    expect("INPUT-10", exchange, checks.same_account_or_4xx, user_uuid)
