"""The issued token (TOKEN-01 .. TOKEN-04)."""

import pytest

from contract_tests.judging import checks
from contract_tests.judging.verdicts import expect, verify

requirement = pytest.mark.requirement


@requirement("TOKEN-01")
def test_token_is_a_signed_compact_jws(session_login):
    expect("TOKEN-01", session_login, checks.jws_shape)


@requirement("TOKEN-02")
def test_token_expiry(suite, session_login):
    verify("TOKEN-02", session_login, checks.exp_valid)
    verify("TOKEN-02", session_login, checks.exp_bounded, suite.settings.max_token_lifetime, level="SHOULD")


def password_variants(password: str) -> list[str]:
    """The password and the variants a token builder might store instead (case-folded, trimmed)."""
    forms = [password, password.lower(), password.upper(), password.swapcase(), password.strip()]
    return [f for i, f in enumerate(forms) if len(f) >= 4 and f not in forms[:i]]


@requirement("TOKEN-03")
def test_token_carries_no_credential_material(session_login, account):
    expect("TOKEN-03", session_login, checks.no_credential_material, password_variants(account.password.value))


@requirement("TOKEN-04")
def test_token_not_signed_with_a_well_known_key(session_login):
    """Offline: the token's HMAC recomputed with each well-known weak key (no request). Every other token the run
    obtains is checked by the same rule (contract_tests/invariants.py)."""
    expect("TOKEN-04", session_login, checks.hmac_key_not_weak)
