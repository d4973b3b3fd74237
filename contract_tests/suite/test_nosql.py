"""NoSQL operator injection (AUTH-09): operator objects in the credential fields never log in.

Safety: every payload names the configured account and no other. Operators in the identifier are pinned to its
exact email (``{"$eq": email}``, ``{"$in": [email]}``, a regex anchored to the escaped email, a range from the email
to itself) and go with the account's right password; operators in the password go with its email. No payload can
match another account (never ``{"$ne": ""}`` as the identifier).

Failed-login budget: the first operator password ({"$ne": null}) is counted as a failed login. Its answer says
whether the target treats an operator object in the password as a password at all: a refusal unlike a wrong
password's (a validation failure) means the object never reached the password check, so the rest of the family
is sent without spending the budget; an answer like a wrong password's (or a 5xx) means each may count towards a
lockout, so each is counted, and what the budget cannot pay for is reported blocked.
"""

import re

import pytest

from contract_tests.judging import checks
from contract_tests.judging.verdicts import blocked, expect
from contract_tests.declared import sends
from contract_tests.sending.exchange import LoginRequest

requirement = pytest.mark.requirement
RESERVE = 4  # failed logins left to the fuzzing and the tests after this module when each operator costs one

PASSWORD_OPERATORS = {
    "$gt": {"$gt": ""},
    "$gte": {"$gte": ""},
    "$lt": {"$lt": "\U0010ffff"},
    "$lte": {"$lte": "\U0010ffff"},
    "$regex": {"$regex": ".*"},
    "$exists": {"$exists": True},
    "$nin": {"$nin": [""]},
    "$not": {"$not": {"$eq": ""}},
    "in-array": [{"$ne": None}],
}


def pinned_identifiers(email: str) -> dict[str, dict]:
    """Operator objects in the identifier fields that can only ever match *email*."""
    exact = "^" + re.escape(email) + "$"
    return {
        "email-$eq": {"email": {"$eq": email}},
        "email-$in": {"email": {"$in": [email]}},
        "email-$regex-anchored": {"email": {"$regex": exact}},
        "email-$gte-$lte": {"email": {"$gte": email, "$lte": email}},
        "email-$not-$ne": {"email": {"$not": {"$ne": email}}},
        "email-in-array": {"email": [{"$eq": email}]},
        "username-$eq": {"username": {"$eq": email}},
    }


def top_level_operators(email: str) -> dict[str, dict]:
    """Query operators as top-level keys next to the account's email (a body handed to find() as the filter)."""
    return {
        "top-level-$or": {"email": email, "$or": [{"password": {"$exists": True}}]},
        "top-level-$where": {"email": email, "$where": "1 == 1"},
        "top-level-$expr": {"email": email, "$expr": {"$eq": [1, 1]}},
    }


IDENTIFIER_NAMES = list(pinned_identifiers("a@example.com"))
TOP_LEVEL_NAMES = list(top_level_operators("a@example.com"))


def counted_as_failed_login(probe, wrong_password) -> bool:
    """Whether the target may count a schema-invalid attempt on the account towards a lockout: it answered it like a
    wrong password (same status and error) or with a server error."""
    if probe.token:
        return False
    if probe.status is None or probe.status >= 500:
        return True
    refused = isinstance(probe.error, str) and bool(probe.error) or 400 <= probe.status < 500
    return not refused or (probe.status, probe.error) == (wrong_password.status, wrong_password.error)


@pytest.fixture(scope="session")
def operator_password_probe(send, account):
    return send('NoSQL operator as the password ({"$ne": null})', "invalid",
                json={"email": account.email, "password": {"$ne": None}}, real_account=True, requirement="AUTH-09")


@pytest.fixture(scope="session")
def operators_cost_logins(operator_password_probe, wrong_password) -> bool:
    return counted_as_failed_login(operator_password_probe, wrong_password)


def _send_on_account(suite, send, purpose: str, body: dict):
    """An operator request that costs a failed login: sent by its test, once it has checked what the budget leaves."""
    c = suite.client
    if c.run_failed_logins >= c.limits.failed_login_budget - RESERVE:
        blocked('the target answers an operator password like a wrong password, so each costs a failed login; '
                f"the failed-login budget keeps its last {RESERVE} for other checks (raise --max-failed-logins)")
    return send(purpose, "invalid", json=body, real_account=True, requirement="AUTH-09")


def _free(purpose: str, body: dict, operators_cost_logins: bool) -> list[LoginRequest]:
    """The operator request as data when it costs no failed login (nothing to guard: declared, sent ahead with the
    others); none when it does (its test sends it after the budget check)."""
    return [] if operators_cost_logins else [LoginRequest(purpose, "invalid", json=body, requirement="AUTH-09")]


def _password_operator(account, name: str) -> tuple[str, dict]:
    return (f"NoSQL operator as the password ({name})",
            {"email": account.email, "password": PASSWORD_OPERATORS[name]})


def _top_level_operator(account, name: str) -> tuple[str, dict]:
    return (f"NoSQL operator as a top-level key ({name}), no password", top_level_operators(account.email)[name])


def _never_logs_in(ex) -> None:
    expect("AUTH-09", ex, checks.not_5xx)
    expect("AUTH-09", ex, checks.no_token)


@requirement("AUTH-09")
def test_ne_operator_as_password_never_logs_in(operator_password_probe):
    _never_logs_in(operator_password_probe)


@requirement("AUTH-09")
@pytest.mark.parametrize("name", PASSWORD_OPERATORS)
@sends(lambda account, operators_cost_logins, name: _free(*_password_operator(account, name), operators_cost_logins))
def test_operator_as_password_never_logs_in(suite, send, exchanges, account, name):
    _never_logs_in(exchanges[0] if exchanges else _send_on_account(suite, send, *_password_operator(account, name)))


@requirement("AUTH-09")
@pytest.mark.parametrize("name", TOP_LEVEL_NAMES)
@sends(lambda account, operators_cost_logins, name: _free(*_top_level_operator(account, name), operators_cost_logins))
def test_top_level_operator_never_logs_in(suite, send, exchanges, account, name):
    _never_logs_in(exchanges[0] if exchanges else _send_on_account(suite, send, *_top_level_operator(account, name)))


@requirement("AUTH-09")
@pytest.mark.parametrize("name", IDENTIFIER_NAMES)
@sends(lambda account, name: LoginRequest(
    f"NoSQL operator as the identifier, pinned to the account's email ({name}), right password", "invalid",
    json={**pinned_identifiers(account.email)[name], "password": account.password}))
def test_pinned_operator_as_identifier_never_logs_in(exchange):
    """The right password with an operator identifier: either rejected, or (the bug) a login through the operator.
    No failed login can come of it (the right password)."""
    _never_logs_in(exchange)
