"""Fixtures of the contract tests: the target, the account, and shared exchanges."""

from __future__ import annotations

import pytest

from contract_tests.client import Account, ContractClient
from contract_tests.context import blocked
from contract_tests.exchange import LoginRequest
from contract_tests.plugin import SuiteState, suite_state
from contract_tests.probes import Signatures, wrong_password_for
from contract_tests.settings import ENV_EMAIL, ENV_PASSWORD


@pytest.fixture(scope="session")
def suite(request: pytest.FixtureRequest) -> SuiteState:
    state = suite_state(request.config)
    state.open()
    return state


@pytest.fixture(scope="session")
def client(suite: SuiteState) -> ContractClient:
    return suite.client


@pytest.fixture(scope="session")
def account(suite: SuiteState) -> Account:
    if suite.settings.account is None:
        pytest.skip(f"no credentials: set {ENV_EMAIL} and {ENV_PASSWORD} to check this")
    return suite.settings.account


@pytest.fixture(scope="session")
def unknown_email(suite: SuiteState) -> str:
    return suite.settings.unknown_email


@pytest.fixture(scope="session")
def send(client: ContractClient):
    """``send(purpose, expect, **request_fields)`` -> Exchange."""

    def _send(purpose: str, expect: str, **fields):
        return client.send(LoginRequest(purpose=purpose, expect=expect, **fields))

    return _send


@pytest.fixture(scope="session")
def good_login(client: ContractClient, account: Account):
    """The first login with the configured credentials (judged by RESP-01)."""
    return client.login(account, "login with the configured credentials", requirement="RESP-01")


@pytest.fixture(scope="session")
def session_login(good_login):
    """A successful login; checks that need a token are blocked without one."""
    if not good_login.token:
        blocked(
            f"no successful login with the configured credentials (status {good_login.status}, "
            f"error {good_login.error!r}); see RESP-01"
        )
    return good_login


@pytest.fixture(scope="session")
def user_uuid(session_login) -> str:
    return session_login.body_object.get("user_uuid")


@pytest.fixture(scope="session")
def wrong_password(send, account: Account):
    return send(
        "wrong password for the configured account",
        "failure",
        json={"email": account.email, "password": wrong_password_for(account.password)},
        real_account=True,
        requirement="AUTH-01",
    )


@pytest.fixture(scope="session")
def unknown_account(send, unknown_email: str):
    return send(
        "login to an account that does not exist",
        "failure",
        json={"email": unknown_email, "password": "Unknown-Acc0unt-Passw0rd!"},
        requirement="AUTH-02",
    )


@pytest.fixture(scope="session")
def signatures(send, unknown_email: str, unknown_account) -> Signatures:
    probes = [
        send("validation probe: missing password", "invalid", json={"email": unknown_email}, requirement="INPUT-01"),
        send("validation probe: non-object body", "invalid", json=["not", "an", "object"], requirement="INPUT-04"),
        send("validation probe: numeric password", "invalid", json={"email": unknown_email, "password": 12345},
             requirement="INPUT-03"),
    ]
    return Signatures(probes, unknown_account)
