"""The deprecated `username` field (DEPR-01 .. DEPR-03)."""

import pytest

from contract_tests.contract.spec import request_fields
from contract_tests.judging import checks
from contract_tests.judging.verdicts import expect, fail, inconclusive
from contract_tests.declared import sends
from contract_tests.sending.exchange import LoginRequest

requirement = pytest.mark.requirement


@pytest.mark.success_path
@requirement("DEPR-01")
@sends(lambda account: LoginRequest("deprecated username field holding the account's email, no email field",
                                    "success", json={"username": account.email, "password": account.password},
                                    real_account=True))
def test_username_holding_email_logs_in_same_account(exchange, user_uuid):
    expect("DEPR-01", exchange, checks.same_account, user_uuid)


@pytest.mark.success_path
@requirement("DEPR-02")
@sends(lambda account: LoginRequest("right email, a different (unknown) username", "success",
                                    json={"email": account.email, "username": "conformance-other-user@example.com",
                                          "password": account.password},
                                    real_account=True))
def test_email_decides_when_both_present(exchange, user_uuid):
    expect("DEPR-02", exchange, checks.same_account, user_uuid)


USERNAME = request_fields()["username"]  # maxLength and what it counts: the shipped document, not a constant
LIMIT = USERNAME.max_length
_DOMAIN = "@example.com"


def _filled(unit: str, code_points: int, tail: str = "") -> str:
    """An email-shaped username of exactly *code_points* code points: *unit* repeated (whole units, topped up
    with "u"), then *tail*, then the domain."""
    room = code_points - len(_DOMAIN) - len(tail)
    return unit * (room // len(unit)) + "u" * (room % len(unit)) + tail + _DOMAIN


# Code points validators miscount (clarification length-in-code-points): astral characters are 2 UTF-16 code units;
# combining marks, variation selectors and zero-width joiners are code points of their own but not graphemes, and
# validator.js isLength (class-validator's MaxLength) does not count U+FE0E/U+FE0F at all.
UNITS = {
    "ascii": "u",
    "emoji": "\U0001f600",  # astral: 2 UTF-16 code units, 4 UTF-8 bytes
    "combining-mark": "e\u0301",  # e + COMBINING ACUTE ACCENT: 1 grapheme
    "variation-selector": "\u2764\ufe0f",  # HEAVY BLACK HEART + VARIATION SELECTOR-16: 1 grapheme
    "zwj-sequence": "\U0001f469\u200d\U0001f4bb",  # woman technologist: 3 code points, 5 UTF-16 units, 1 grapheme
}
USERNAMES = {
    # name: (username, is it within maxLength?). Those over the limit first: their answers are evidence of how the
    # target answers a validation failure (classification.Signatures.evidence) when the cases at the limit are judged
    **{f"{LIMIT + 1}-{name}": (_filled(unit, LIMIT + 1), False) for name, unit in UNITS.items()},
    # LIMIT letters and one U+FE0F: what class-validator's MaxLength(LIMIT) lets through
    f"{LIMIT + 1}-trailing-variation-selector": (_filled("u", LIMIT + 1, "\ufe0f"), False),
    **{f"{LIMIT}-{name}": (_filled(unit, LIMIT), True) for name, unit in UNITS.items()},
}


def _long_username(name: str) -> LoginRequest:
    username, within = USERNAMES[name]
    return LoginRequest(f"username of {len(username)} code points ({name})", "failure" if within else "invalid",
                        json={"username": username, "password": "Unknown-Acc0unt-Passw0rd!"})


@requirement("DEPR-03")
@pytest.mark.parametrize("name", USERNAMES)
@sends(_long_username)
def test_username_max_length_counts_code_points(signatures, exchange, name):
    """maxLength counts Unicode code points: at the limit a credential failure (MUST: the documented client may send
    it), one past it a validation failure (SHOULD: accepting it breaks no client)."""
    username, within = USERNAMES[name]
    ex = exchange
    expect("DEPR-03", ex, checks.not_5xx)
    kind = signatures.classify(ex)
    wanted = "credential" if within else "validation"
    if kind == wanted:
        return
    if kind == "unknown":
        inconclusive(f"{signatures.why_unknown(ex)} ({signatures.describe()})")
    fail(
        "DEPR-03",
        ex,
        f"a {wanted} failure: maxLength {LIMIT} counts code points and this username has {len(username)} "
        f"({signatures.describe()})",
        f"a {kind} response: " + ex.describe_response(200),
        level=None if within else "SHOULD",  # accepting 81 code points breaks no client
    )
