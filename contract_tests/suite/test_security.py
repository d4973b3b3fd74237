"""Security hygiene (SEC-01 .. SEC-06)."""

import pytest

from contract_tests.judging import checks
from contract_tests.judging.verdicts import blocked, fail, not_applicable, passed, verify
from contract_tests.declared import sends
from contract_tests.sending.exchange import LoginRequest

requirement = pytest.mark.requirement


_ALIKE = ("the unknown account's and the wrong password's failures look alike: identical status, error, body keys "
          "and header names")


def _differences(unknown, wrong) -> dict:
    a, b = checks.failure_fingerprint(unknown), checks.failure_fingerprint(wrong)
    return {k: (a[k], b[k]) for k in a if a[k] != b[k]}


@requirement("SEC-01")
def test_unknown_account_and_wrong_password_look_alike(send, client, account, unknown_email, wrong_password,
                                                        unknown_account):
    """No account enumeration (OWASP WSTG-IDNT-04): compare everything an attacker can see -- under the same lock
    state. The suite's own requests may have locked an identifier (a policy that counts unknown identifiers too, in
    whatever vocabulary: 403/423/429, a 2xx with USER_FORBIDDEN, with or without Retry-After), so a difference is
    checked again against an identifier never used in this run, and a lock is recognised by what it does (it
    refuses the right password too), not by its words."""
    diff = _differences(unknown_account, wrong_password)
    if not diff:
        passed("SEC-01", [unknown_account, wrong_password], _ALIKE)
        return
    local, _, domain = unknown_email.partition("@")
    fresh = send("an unknown account never named before in this run (the same lock state as an unlocked account)",
                 "failure", json={"email": f"{local}-fresh@{domain}", "password": "Unknown-Acc0unt-Passw0rd!"},
                 requirement="SEC-01")
    diff = _differences(fresh, wrong_password)
    if not diff:  # the first unknown identifier's answer was a lock (the suite's own failures), not a disclosure
        passed("SEC-01", [fresh, wrong_password], _ALIKE + " (an identifier never named before in this run: the "
               "first unknown one's answer differed under a lock the suite's own failures set)")
        return
    right = client.login(account, "the right password: is the account locked right now? (SEC-01)")
    if not right.token:
        blocked(f"the configured account was locked when its wrong password was answered: its right password is "
                f"refused too ({right.describe_response(200)}); enumeration answers are compared only under the "
                "same lock state")
    fail(
        "SEC-01",
        [fresh, wrong_password],
        "identical status, error, body keys and header names for both failures",
        "; ".join(f"{k}: unknown account {u!r} vs wrong password {w!r}" for k, (u, w) in diff.items())
        + " (the account was not locked: its right password logs in)",
    )


@requirement("SEC-02")
def test_no_password_or_hash_in_responses(request, suite, unknown_account):
    exchanges = [unknown_account]
    if suite.settings.account is not None:
        exchanges += [request.getfixturevalue("wrong_password"), request.getfixturevalue("good_login")]
    for ex in exchanges:
        passwords = [suite.settings.account.password.value] if suite.settings.account else []
        verify("SEC-02", ex, checks.no_password_echo, passwords + ["Unknown-Acc0unt-Passw0rd!"])
        verify("SEC-02", ex, checks.no_secret_keys)
        verify("SEC-02", ex, checks.no_hash_strings)


@requirement("SEC-03")
def test_token_response_is_not_cached(session_login):
    verify("SEC-03", session_login, checks.cache_no_store)


@requirement("SEC-04")
def test_nosniff(request, suite, unknown_account):
    verify("SEC-04", unknown_account, checks.nosniff)
    if suite.settings.account is not None:
        verify("SEC-04", request.getfixturevalue("good_login"), checks.nosniff)


@requirement("SEC-05")
def test_hsts_on_https(suite, unknown_account):
    if not unknown_account.base_url.lower().startswith("https://"):
        not_applicable("plain http target: HSTS is only meaningful over https")
    verify("SEC-05", unknown_account, checks.hsts)


def _from_origin(unknown_email: str, origin: str, method: str) -> LoginRequest:
    if method == "OPTIONS":
        return LoginRequest(f"CORS preflight from Origin {origin}", "any", method="OPTIONS",
                            headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                     "Access-Control-Request-Headers": "content-type, authorization"})
    return LoginRequest(f"login from Origin {origin}", "failure", headers={"Origin": origin},
                        json={"email": unknown_email, "password": "Unknown-Acc0unt-Passw0rd!"})


@requirement("SEC-06")
@pytest.mark.parametrize("origin", ["https://evil.example", "null"])
@pytest.mark.parametrize("method", ["OPTIONS", "POST"])
@sends(_from_origin)
def test_cors_never_allows_foreign_origin_with_credentials(exchange, origin):
    verify("SEC-06", exchange, checks.cors_safe, origin)


@requirement("SEC-08")
def test_error_bodies_carry_no_internal_details(request, suite, unknown_account, signatures):
    """The failures the run provokes first (unknown account, missing password, non-object body, numeric password,
    wrong password); every other response of the run is held to the same rule (contract_tests/invariants.py)."""
    exchanges = [unknown_account, *signatures.validation_probes]
    if suite.settings.account is not None:
        exchanges.append(request.getfixturevalue("wrong_password"))
    for ex in exchanges:
        verify("SEC-08", ex, checks.no_internal_error_details)
