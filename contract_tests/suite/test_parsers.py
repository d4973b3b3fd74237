"""Structure, not only values: what JSON decoders and email parsers in the wild read differently from the text sent
(contract_tests/inputs/parser_differentials.py says what each decoder does, with its documentation).

19 requests, one per probe: 7 bodies that are not one JSON object (INPUT-04), 2 non-string values that decoders turn
into something a handler may not expect (INPUT-03), 4 bodies with repeated and case-variant names (INPUT-11; they
name the configured account, the 2 mixed ones may each cost a failed login, and a mixed body refused as invalid is
asked again with its repeated names alone, one more each; without credentials the mixed ones use unknown addresses and
the 2 others, which need the account, are not checked), 6 email forms
(INPUT-05 for the 2 outside the `email` format whichever RFC reads it, INPUT-09 for the 4 others). Whatever was sent:
no token and no 5xx without the right credentials (MUST); the shape of the answers to bodies the documented client
cannot send is RESP-04's and RESP-05's, at SHOULD.
"""

import pytest

from contract_tests.inputs.near_misses import wrong_password_for
from contract_tests.inputs.parser_differentials import (
    EXACT_NAMES_PURPOSE,
    IDENTITY_PURPOSE,
    MIXED_PURPOSE,
    STAND_IN_PASSWORD,
    body_probes,
    email_forms,
    exact_names_only,
    field_probes,
    identity_probes,
    mixed_readings,
)
from contract_tests.judging import checks
from contract_tests.judging.verdicts import expect, fail, inconclusive
from contract_tests.sending.exchange import LoginRequest
from contract_tests.sending.secrets import Secret
from contract_tests.declared import sends

requirement = pytest.mark.requirement
_EXAMPLE = "probe@example.com"  # the parameter names only; each test builds its probe from the run's unknown email
BODIES = list(body_probes(_EXAMPLE))
FIELDS = list(field_probes(_EXAMPLE))
CLASSIFIED = [name for name, form in email_forms(_EXAMPLE).items() if form.not_an_addr_spec]
UNCLASSIFIED = [name for name, form in email_forms(_EXAMPLE).items() if not form.not_an_addr_spec]


def _raw_probe(probe) -> LoginRequest:
    return LoginRequest(f"{probe.what} ({len(probe.body)} bytes)", "invalid", raw=probe.body,
                        content_type="application/json")


@requirement("INPUT-04")
@pytest.mark.parametrize("name", BODIES)
@sends(lambda unknown_email, name: _raw_probe(body_probes(unknown_email)[name]))
def test_body_beyond_one_json_object_is_refused(exchange, unknown_email, name):
    """Deep nesting, a huge integer, NaN/Infinity, a byte order mark, a comment, two values: never a token or a 5xx.
    A 4xx is asked only of the JSON values that are not objects: a decoder may accept an extension (RFC 8259 §9)
    and answer what it read, an unknown account's credential failure."""
    expect("INPUT-04", exchange, checks.not_5xx)
    expect("INPUT-04", exchange, checks.no_token)
    if body_probes(unknown_email)[name].non_object:
        expect("INPUT-04", exchange, checks.is_4xx, level="SHOULD")


@requirement("INPUT-03")
@pytest.mark.parametrize("name", FIELDS)
@sends(lambda unknown_email, name: _raw_probe(field_probes(unknown_email)[name]))
def test_decoded_non_string_field_is_rejected(exchange):
    """A field holding 2000 nested arrays (a recursive decoder's RecursionError) or 1e400 (a float decoder's inf,
    which a validation error echoing the input cannot render as JSON): rejected, no token, no 5xx."""
    expect("INPUT-03", exchange, checks.not_5xx)
    expect("INPUT-03", exchange, checks.no_token)


def _addresses(unknown_email: str, *tags: str) -> list[str]:
    local, _, domain = unknown_email.rpartition("@")
    return [f"{local}+{tag}@{domain}" for tag in tags]


def _identity(acc, unknown_email: str):
    """(email, password, named account): the configured account, else an unknown address and a stand-in password
    (then no reading can log in, and only the 5xx and the token are judged)."""
    if acc is not None:
        return acc.email, acc.password, True
    return _addresses(unknown_email, "parser-account")[0], STAND_IN_PASSWORD, False


def _wrong(password: Secret | str) -> tuple[str, str]:
    """Two wrong passwords, both different from *password*."""
    if isinstance(password, Secret):
        plain, first = password.value, wrong_password_for(password)
    else:
        plain, first = password, password + "-wrong"
    second = next(c for c in (first + "-2", first + "-3") if c != plain)
    return first, second


def _mixed(configured_account, unknown_email: str, name: str) -> LoginRequest:
    email, password, named = _identity(configured_account, unknown_email)
    wrong, other_wrong = _wrong(password)
    unknown, other_unknown = _addresses(unknown_email, "parser-1", "parser-2")
    body = mixed_readings(email, password, unknown, wrong, other_wrong, other_unknown)[name]
    return LoginRequest(f"{MIXED_PURPOSE[name]} (no one reading carries the right credentials)", "any", json=body,
                        real_account=named)


@requirement("INPUT-11")
@pytest.mark.parametrize("name", list(MIXED_PURPOSE))
@sends(_mixed)
def test_ambiguous_body_is_read_one_way(exchange, signatures, send):
    """No reading of the body as a whole -- first or last of each repeated name, names matched with or without letter
    case -- carries the right credentials; a server that takes the account from one member and the password from
    another logs in. Never a token, never a 5xx. A body refused as invalid (a strict schema refuses the
    Email/PASSWORD variants as unknown properties before any repeated name is read) is sent again with its repeated
    names alone: a refusal of the whole says nothing about each ambiguity in it. (A server that refuses repeated
    names and binds names without letter case is not asked the letter-case mix alone: one more failed login each.)"""
    expect("INPUT-11", exchange, checks.not_5xx)
    expect("INPUT-11", exchange, checks.no_token)
    if signatures.classify(exchange) == "validation":
        first = exchange.request
        again = send(f"{EXACT_NAMES_PURPOSE}; {first.purpose}", "any", json=exact_names_only(first.json),
                     real_account=first.real_account)
        expect("INPUT-11", again, checks.not_5xx)
        expect("INPUT-11", again, checks.no_token)


def _identity_login(account, unknown_email: str, name: str) -> LoginRequest:
    unknown, other_unknown = _addresses(unknown_email, "parser-3", "parser-4")
    body = identity_probes(account.email, account.password, unknown, other_unknown)[name]
    return LoginRequest(IDENTITY_PURPOSE[name], "success", json=body, real_account=True)


@pytest.mark.success_path
@requirement("INPUT-11")
@pytest.mark.parametrize("name", list(IDENTITY_PURPOSE))
@sends(_identity_login)
def test_ambiguous_body_logs_in_only_its_account(request, exchange):
    """The right password with the account's email after an unknown address: the readings that name the account log
    in (or the body is refused); none may open a session for another address, nor crash. No failed login on the
    account can come of it: every reading that names the account carries its password. Without credentials there is
    no account to name: not checked (the mixed bodies above still are, with unknown addresses)."""
    ex = exchange
    expect("INPUT-11", ex, checks.not_5xx)
    if ex.token:
        expect("INPUT-11", ex, checks.same_account, request.getfixturevalue("user_uuid"))


def _email_form(unknown_email: str, name: str, expect: str, **fields) -> LoginRequest:
    form = email_forms(unknown_email)[name]
    return LoginRequest(f"email: {form.what}", expect, json={"email": form.address, "password": STAND_IN_PASSWORD},
                        **fields)


@requirement("INPUT-05")
@pytest.mark.parametrize("name", CLASSIFIED)
@sends(lambda unknown_email, name: _email_form(unknown_email, name, "invalid", requirement="INPUT-09"))
def test_email_outside_the_format_is_a_validation_failure(signatures, exchange):
    """A display name or a trailing dot is outside the `email` format whichever RFC it is read by: a validation
    failure, not a credential failure (a lenient parser reads the address out of it). A 5xx is INPUT-09's."""
    ex = exchange
    expect("INPUT-05", ex, checks.no_token)
    kind = signatures.classify(ex)
    if kind == "credential":
        fail("INPUT-05", ex, f"a validation failure ({signatures.describe()})",
             "a credential failure: " + ex.describe_response(200))
    if kind != "validation":
        inconclusive(f"{signatures.why_unknown(ex)} ({signatures.describe()})")


@requirement("INPUT-09")
@pytest.mark.parametrize("name", UNCLASSIFIED)
@sends(lambda unknown_email, name: _email_form(unknown_email, name, "any"))
def test_email_forms_parsers_read_differently_never_crash(exchange):
    """A comment, a quoted local part holding an @, a label too long for IDNA, surrounding whitespace: a server may
    accept, trim or refuse them, never crash or log in."""
    expect("INPUT-09", exchange, checks.not_5xx)
    expect("INPUT-09", exchange, checks.no_token)
