"""The issued token (TOKEN-01 .. TOKEN-03)."""

import pytest

from contract_tests import checks
from contract_tests.context import expect, verify

requirement = pytest.mark.requirement


@requirement("TOKEN-01")
def test_token_is_a_signed_compact_jws(session_login):
    expect("TOKEN-01", session_login, checks.jws_shape)


@requirement("TOKEN-02")
def test_token_expiry(suite, session_login):
    verify("TOKEN-02", session_login, checks.exp_valid)
    verify("TOKEN-02", session_login, checks.exp_bounded, suite.settings.max_token_lifetime, level="SHOULD")


@requirement("TOKEN-03")
def test_token_does_not_contain_password(session_login, account):
    expect("TOKEN-03", session_login, checks.token_free_of, account.password.value)
