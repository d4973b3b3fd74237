"""SEC-02 is about disclosure, not key names: the password (in every form the suite's redactor knows, and the
encodings a server wraps values in) and hash-shaped strings anywhere in an answer fail; a key named like password
fails only where its value could be a secret -- never the field-keyed validation errors frameworks answer with."""

import base64
import hashlib
import html
import json
import time
import urllib.parse

import pytest
from helpers import exchange, jwt

from contract_tests.judging import checks
from contract_tests.judging.checks import Mismatch
from contract_tests.judging.checks.security import password_forms
from contract_tests.sending.exchange import LoginRequest
from contract_tests.sending.secrets import Redactor, secret_forms

pytestmark = pytest.mark.unit  # the fast lane: python -m pytest tests -m unit

PASSWORD = 'Pa"ss\\wörd<&>/+?=1'  # quote, backslash, non-ASCII, HTML and URL specials: each form differs
BLANK = LoginRequest("blank password", "invalid", json={"email": "a@example.com", "password": ""})


def sec02(ex, passwords=(PASSWORD,)):
    """Every SEC-02 check on *ex*; the first mismatch or None."""
    for check, args in ((checks.no_password_echo, (list(passwords),)), (checks.no_secret_keys, ()),
                        (checks.no_hash_strings, ())):
        try:
            check(ex, *args)
        except Mismatch as m:
            return m
    return None


# Field-keyed validation errors as each framework renders them for {"email": "...", "password": ""}.
FRAMEWORK_ERRORS = {
    "the issue's shape": (400, {"error": "INVALID_REQUEST", "fields": {"password": ["This field may not be blank."]}}),
    "Django REST framework": (400, {"password": ["This field may not be blank."]}),
    "Django forms (as_json)": (400, {"password": [{"message": "This field is required.", "code": "required"}]}),
    "Laravel": (422, {"message": "The password field is required.",
                      "errors": {"password": ["The password field is required."]}}),
    "Rails (errors)": (422, {"errors": {"password": ["can't be blank"]}}),
    "Rails (errors.details)": (422, {"errors": {"password": [{"error": "blank"}]}}),
    "ASP.NET Core (ValidationProblemDetails)": (400, {
        "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        "title": "One or more validation errors occurred.", "status": 400,
        "errors": {"Password": ["The Password field is required."]},
        "traceId": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"}),
    "zod flatten()": (400, {"formErrors": [], "fieldErrors": {"password": ["Required"]}}),
    "zod flatten() (min)": (400, {"formErrors": [], "fieldErrors": {
        "password": ["String must contain at least 1 character(s)"]}}),
    "express-validator": (400, {"errors": [{"type": "field", "value": "", "msg": "Invalid value",
                                            "path": "password", "location": "body"}]}),
    "i18n keys": (422, {"errors": {"password": "validation.required"}}),
    "error codes": (400, {"error": "VALIDATION_FAILED", "details": {"password": "TOO_SHORT"}}),
    "FastAPI": (422, {"detail": [{"type": "string_too_short", "loc": ["body", "password"],
                                  "msg": "String should have at least 1 character", "input": "",
                                  "ctx": {"min_length": 1}}]}),
    "password policy flags": (400, {"error": "WEAK_PASSWORD", "password_policy": {"min_length": 8,
                                                                                 "requires_digit": True}}),
    "user object with dates": (201, {"token": jwt({"alg": "HS256"}, {"sub": "u", "exp": int(time.time()) + 60}),
                                     "user_uuid": "u", "password_changed_at": "2026-01-02T03:04:05Z",
                                     "has_password": True}),
}


@pytest.mark.parametrize("name", FRAMEWORK_ERRORS)
def test_field_keyed_errors_disclose_nothing(name):
    status, body = FRAMEWORK_ERRORS[name]
    ex = exchange(status, body, request=BLANK)
    assert sec02(ex, ["", "Unknown-Acc0unt-Passw0rd!"]) is None


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# (where, how) -> an answer disclosing PASSWORD that way
DISCLOSURES = {
    "raw, in the body": lambda: exchange(401, raw=f'{{"error": "X", "detail": "tried {PASSWORD}"}}'.encode()),
    "JSON-escaped, in the body": lambda: exchange(401, {"error": "X", "detail": f"tried {PASSWORD}"}),
    "JSON-escaped (ASCII), in the body": lambda: exchange(
        401, raw=json.dumps({"error": "X", "input": {"password": PASSWORD}}).encode()),
    "URL-encoded, in a Location header": lambda: exchange(
        302, {"error": "X"}, {"location": "/login?retry=" + urllib.parse.quote(PASSWORD, safe="")}),
    "form-encoded, in the body": lambda: exchange(
        400, {"error": "X", "echo": urllib.parse.urlencode({"password": PASSWORD})}),
    "HTML-escaped, in a page": lambda: exchange(
        401, raw=f"<p>wrong password {html.escape(PASSWORD)}</p>".encode(), headers={"content-type": "text/html"}),
    "base64, in a header": lambda: exchange(401, {"error": "X"}, {"x-debug": _b64(PASSWORD)}),
    "base64 of email:password (Basic), in a header": lambda: exchange(
        401, {"error": "X"}, {"x-auth-echo": "Basic " + _b64("a@example.com:" + PASSWORD)}),
    "URL-safe base64 inside a JSON value": lambda: exchange(
        401, {"error": "X", "state": base64.urlsafe_b64encode(json.dumps({"p": PASSWORD}).encode()).decode()}),
    "unsalted sha256, hex": lambda: exchange(
        401, {"error": "X", "debug": hashlib.sha256(PASSWORD.encode()).hexdigest()}),
    "unsalted md5, hex, in a header": lambda: exchange(
        401, {"error": "X"}, {"etag": '"' + hashlib.md5(PASSWORD.encode()).hexdigest() + '"'}),
    "unsalted sha1, base64": lambda: exchange(
        401, {"error": "X", "v": base64.b64encode(hashlib.sha1(PASSWORD.encode()).digest()).decode()}),
}


@pytest.mark.parametrize("name", DISCLOSURES)
def test_password_disclosed_in_any_form_fails(name):
    ex = DISCLOSURES[name]()
    with pytest.raises(Mismatch) as info:
        checks.no_password_echo(ex, [PASSWORD])
    assert "submitted password" in info.value.actual
    assert PASSWORD not in info.value.actual


def test_every_form_the_redactor_knows_is_looked_for():
    forms = password_forms(PASSWORD)
    assert secret_forms(PASSWORD) <= set(forms)
    for form in secret_forms(PASSWORD):
        checks_ex = exchange(401, raw=b'{"error": "X", "x": "' + form.encode() + b'"}')
        with pytest.raises(Mismatch):
            checks.no_password_echo(checks_ex, [PASSWORD])


@pytest.mark.parametrize("blob", [
    _b64("a@example.com:" + PASSWORD), _b64(PASSWORD), hashlib.sha256(PASSWORD.encode()).hexdigest(),
], ids=["base64 inside a value", "base64", "sha256"])
def test_a_disclosed_form_is_redacted_from_every_output(blob):
    redactor = Redactor()
    redactor.add(PASSWORD, "<LOGIN_PASSWORD>")
    ex = exchange(401, {"error": "X", "v": blob}, {"x-auth-echo": "Basic " + blob}, redactor=redactor)
    with pytest.raises(Mismatch):
        checks.no_password_echo(ex, [PASSWORD])
    assert blob not in ex.describe_response() and blob not in json.dumps(ex.evidence())


HASH_LIKE = {
    "bcrypt under an innocent key": exchange(401, {"error": "X", "data": {"v": "$2b$12$" + "a" * 53}}),
    "argon2 in a success body": exchange(201, {"token": "t", "user_uuid": "u", "etag": "$argon2id$v=19$m=65536,t=3,"
                                                "p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"}),
    "scrypt in a header": exchange(401, {"error": "X"}, {"x-cache-key": "scrypt:32768:8:1$abc$def"}),
    "pbkdf2 (Django) in a list": exchange(401, {"error": "X", "items": ["pbkdf2_sha256$600000$salt$hash="]}),
    "crypt sha512": exchange(401, {"error": "X", "meta": "$6$rounds=5000$saltsalt$abcdefghijk"}),
    "bcrypt inside base64": exchange(401, {"error": "X", "blob": _b64('{"h": "$2b$12$' + "b" * 53 + '"}')}),
}


@pytest.mark.parametrize("name", HASH_LIKE)
def test_hash_shaped_string_fails_wherever_it_is(name):
    with pytest.raises(Mismatch):
        checks.no_hash_strings(HASH_LIKE[name])


SECRET_VALUES = {
    "a password in a success body's user object": exchange(
        201, {"token": "t", "user_uuid": "u", "user": {"password": "hunter2"}}),
    "a hash key in a success body, one word": exchange(201, {"token": "t", "user_uuid": "u", "password_hash": "x"}),
    "a user object in a failure": exchange(401, {"error": "X", "user": {"user_uuid": "u", "salt": "required"}}),
    "a non-message string in a failure": exchange(401, {"error": "X", "password": "hunter2!z"}),
    "a list of non-messages in a failure": exchange(400, {"error": "X", "fields": {"passwd": ["s3cr3t-Value9"]}}),
}


@pytest.mark.parametrize("name", SECRET_VALUES)
def test_secret_key_fails_where_the_value_could_be_a_secret(name):
    with pytest.raises(Mismatch):
        checks.no_secret_keys(SECRET_VALUES[name])


def test_the_token_is_not_a_disclosure_of_sec02():
    """What a JWT carries is TOKEN-03's: SEC-02 does not decode the token's segments."""
    token = jwt({"alg": "HS256"}, {"sub": "u", "h": "$2b$12$" + "c" * 53, "p": PASSWORD})
    ex = exchange(201, {"token": token, "user_uuid": "u"})
    assert sec02(ex, []) is None


@pytest.mark.parametrize("prefix", ["", "a", "ab"])  # every alignment of the password inside the claims' base64
def test_the_password_inside_a_token_is_token_03s_not_sec_02s(prefix):
    password = "Demo-Passw0rd!2026"  # 18 bytes: at one alignment its own base64 is a substring of the claims'
    token = jwt({"alg": "HS256"}, {"sub": "u", "pwd": prefix + password})
    assert sec02(exchange(201, {"token": token, "user_uuid": "u"}), [password]) is None


def test_a_raw_echo_is_not_registered_as_a_new_secret():
    """A generated password may be a word the target says anyway (fuzz/runner.py discounts that echo): the check
    must not make the redactor hide that word everywhere. The redactor's own forms come from the secrets it knows."""
    redactor = Redactor()
    ex = exchange(400, {"error": "INVALID_REQUEST"}, redactor=redactor)
    with pytest.raises(Mismatch):
        checks.no_password_echo(ex, ["INVALID_REQUEST"])
    assert redactor.secrets == ()
