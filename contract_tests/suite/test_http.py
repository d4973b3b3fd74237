"""HTTP semantics (HTTP-01, HTTP-02)."""

import pytest

from contract_tests.judging import checks
from contract_tests.judging.verdicts import expect, not_applicable, verify
from contract_tests.declared import sends
from contract_tests.sending.exchange import LoginRequest

requirement = pytest.mark.requirement


@requirement("HTTP-01")
@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
@sends(lambda method: LoginRequest(f"{method} on the login endpoint", "any", method=method))
def test_other_methods_get_405_with_allow(exchange):
    expect("HTTP-01", exchange, checks.allows_post)


@requirement("HTTP-02")
def test_401_carries_www_authenticate(request, suite, unknown_account):
    exchanges = [unknown_account]
    if suite.settings.account is not None:
        exchanges.append(request.getfixturevalue("wrong_password"))
    unauthorized = [ex for ex in exchanges if ex.status == 401]
    if not unauthorized:
        not_applicable("the target answers failed logins without 401 (any 401 seen elsewhere is still checked)")
    for ex in unauthorized:
        verify("HTTP-02", ex, checks.www_authenticate_on_401)
