"""The boundaries DEPR-03 and INPUT-05 probe come from the shipped document and test what they claim: each username
case has exactly the limit or one more code point, JSON Schema agrees, and each miscounted case really is miscounted
by the counting it is there for."""

from __future__ import annotations

import pytest

from contract_tests.contract import spec
from contract_tests.reference.faults import grapheme_count
from contract_tests.reference.stacks.node import validator_js_length
from contract_tests.suite.test_deprecated import LIMIT, USERNAMES
from contract_tests.suite.test_input import BAD_EMAILS, EMAIL_FIELDS, REQUIRED

pytestmark = pytest.mark.unit  # the fast lane: python -m pytest tests -m unit


def utf16_units(value: str) -> int:
    return len(value.encode("utf-16-le")) // 2


def test_fields_come_from_the_shipped_document():
    fields = spec.request_fields()
    vendor = spec.vendor_document()["paths"][spec.LOGIN_PATH]["post"]["requestBody"]["content"]["application/json"]
    assert LIMIT == vendor["schema"]["properties"]["username"]["maxLength"] == fields["username"].max_length
    assert fields["username"].length_unit == "code-points" and fields["username"].deprecated
    assert EMAIL_FIELDS == ["email"] and list(REQUIRED) == ["password"]


def test_public_request_fields_are_copies():
    spec.request_fields().clear()
    assert "username" in spec.request_fields()


@pytest.mark.parametrize("name", USERNAMES)
def test_username_case_has_the_length_it_claims_and_json_schema_agrees(name):
    username, within = USERNAMES[name]
    assert len(username) == (LIMIT if within else LIMIT + 1)
    assert username.endswith("@example.com")
    errors = list(spec.validator(spec.request_schema()).iter_errors({"username": username, "password": "x"}))
    assert [e.validator for e in errors] == ([] if within else ["maxLength"])


@pytest.mark.parametrize(("kind", "miscount"), [
    ("emoji", lambda s: utf16_units(s) > len(s)),  # zod, Joi, String.length
    ("combining-mark", lambda s: grapheme_count(s) < len(s) and len(s.encode()) > len(s)),  # graphemes, bytes
    ("variation-selector", lambda s: validator_js_length(s) < len(s)),  # class-validator MaxLength
    ("zwj-sequence", lambda s: utf16_units(s) > len(s) and grapheme_count(s) < len(s)),
    ("ascii", lambda s: not (utf16_units(s) == grapheme_count(s) == validator_js_length(s) == len(s.encode()) == len(s))),
])
def test_each_case_is_miscounted_by_the_validators_it_targets(kind, miscount):
    for length in (LIMIT, LIMIT + 1):
        username, _ = USERNAMES[f"{length}-{kind}"]
        assert miscount(username) is (kind != "ascii"), (kind, length)


def test_trailing_variation_selector_is_what_class_validator_lets_through():
    username, within = USERNAMES[f"{LIMIT + 1}-trailing-variation-selector"]
    assert not within and validator_js_length(username) == LIMIT


@pytest.mark.parametrize("email", BAD_EMAILS)
def test_bad_emails_break_the_documented_format(email):
    errors = list(spec.validator(spec.request_schema()).iter_errors({"email": email, **REQUIRED}))
    assert [e.validator for e in errors] == ["format"]


def test_size_probes_straddle_the_real_body_limits_and_never_sit_on_one():
    """A probe of exactly a limit's size says nothing (inclusive in some stacks, exclusive in others): every probe
    lies off every documented real limit, each limit within the probed range has probes on both sides, and the
    oversized probe lies clearly (a fifth or more) above all of them."""
    from contract_tests.inputs.padding import OVERSIZED, REAL_BODY_LIMITS, client_bound, size_probes

    probes = size_probes()
    assert not set(probes) & set(REAL_BODY_LIMITS) and OVERSIZED not in REAL_BODY_LIMITS
    for limit in REAL_BODY_LIMITS:
        if limit < max(probes):
            assert any(p < limit for p in probes) and any(p > limit for p in probes), limit
    assert OVERSIZED >= 1.2 * max(REAL_BODY_LIMITS)
    assert client_bound() in probes  # the documented client's own bound is probed on the dot: it is the spec's


def test_the_oversized_probe_says_its_size_and_is_sent_exactly():
    from contract_tests.inputs.padding import OVERSIZED, padded
    from contract_tests.sending.exchange import LoginRequest

    request = LoginRequest("p", "invalid", json=padded({"email": "a@example.com", "password": "x"}, "padding",
                                                       OVERSIZED))
    assert request.size == OVERSIZED == 3 * 1024 * 1024
    assert "(3,145,728 bytes)" in request.describe("http://x.test")
