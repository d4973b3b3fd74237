"""Authentication semantics (AUTH-01 .. AUTH-08)."""

import base64
import json
import time

import pytest

from contract_tests.judging import checks
from contract_tests.judging.checks import Mismatch
from contract_tests.judging.verdicts import expect, not_applicable
from contract_tests.inputs.near_misses import near_misses, wrong_password_for
from contract_tests.sending.exchange import LoginRequest
from contract_tests.sending.secrets import Secret
from contract_tests.declared import sends

requirement = pytest.mark.requirement


@requirement("AUTH-01")
def test_wrong_password_is_refused(wrong_password):
    expect("AUTH-01", wrong_password, checks.no_token)


@requirement("AUTH-02")
def test_unknown_account_is_refused(unknown_account):
    expect("AUTH-02", unknown_account, checks.no_token)


def like_pattern_lookalike(email: str) -> str | None:
    """The account's address with the last character of its local part replaced by ``_``: an address with no
    account, which a lookup written with SQL ``LIKE`` (``_`` matches any one character) resolves to the account."""
    local, at, domain = email.rpartition("@")
    if not at or not local or local.endswith("_"):
        return None
    return f"{local[:-1]}_@{domain}"


def _lookalike_login(configured_account) -> LoginRequest:
    if configured_account is None:
        not_applicable("needs the account's email and password (no credentials)")
    address = like_pattern_lookalike(configured_account.email)
    if address is None:
        not_applicable("the account's local part already ends with '_'")
    return LoginRequest("unknown address that matches the account's email only as a SQL LIKE pattern, account's "
                        "password", "failure", json={"email": address, "password": configured_account.password})


@requirement("AUTH-02")
@sends(_lookalike_login)
def test_like_pattern_lookalike_account_is_refused(exchange):
    """An unknown address matching the account only as a LIKE pattern, sent with the account's password."""
    expect("AUTH-02", exchange, checks.no_token)


NEAR_MISS_KINDS = ["case-flipped", "char-appended", "last-char-dropped", "surrounding-whitespace", "empty", "prefix",
                   "nul-suffixed", "bcrypt-72-truncated", "bcrypt-72-tail-changed"]


def _near_miss_login(account, kind: str) -> LoginRequest:
    variants = near_misses(account.password)
    name = next((k for k in variants if k.startswith(kind)), None)
    if name is None:
        not_applicable("the password is shorter than 72 bytes (bcrypt's limit)")
    value = variants[name]
    plain = value.value if isinstance(value, Secret) else value
    if plain == account.password.value:
        not_applicable(f"the {name} variant of this password equals the password itself")
    return LoginRequest(f"near-miss password: {name}", "failure", json={"email": account.email, "password": value},
                        real_account=True)


@requirement("AUTH-03")
@pytest.mark.parametrize("kind", NEAR_MISS_KINDS)
@sends(_near_miss_login)
def test_near_miss_password_never_logs_in(exchange):
    expect("AUTH-03", exchange, checks.no_token)


def _sql_payloads(email: str) -> dict[str, dict]:
    # Each payload is pinned to the configured account: none can log in as someone else.
    return {
        "password-or-email": {"email": email, "password": f"' OR email='{email}' --"},
        "password-quote-comment": {"email": email, "password": "'--"},
        "email-lone-quote": {"email": f"{email}'", "password": "Wrong-SQL-Passw0rd!"},
        "email-quote-comment": {"email": f"{email}'--", "password": "Wrong-SQL-Passw0rd!"},
        "email-or-true": {"email": f"{email}' OR '1'='1", "password": "Wrong-SQL-Passw0rd!"},
        "username-quote-comment": {"username": f"{email}'--", "password": "Wrong-SQL-Passw0rd!"},
    }


SQL_NAMES = list(_sql_payloads("a@example.com"))


def _sql_injection(account, name: str) -> LoginRequest:
    on_account = name.startswith("password")  # the suffixed identifiers name no account on a sound server
    return LoginRequest(f"SQL injection ({name})", "failure" if on_account else "any",
                        json=_sql_payloads(account.email)[name], real_account=on_account)


@requirement("AUTH-04")
@pytest.mark.parametrize("name", SQL_NAMES)
@sends(_sql_injection)
def test_sql_injection_never_logs_in(exchange):
    ex = exchange
    expect("AUTH-04", ex, checks.not_5xx)
    expect("AUTH-04", ex, checks.no_token)
    expect("AUTH-04", ex, checks.no_db_error_text)


def _query_string_login(account, body: str) -> LoginRequest:
    return LoginRequest(f"credentials in the query string, body {body}", "invalid",
                        json={} if body == "empty-object" else {"password": account.password},
                        params=[("email", account.email), ("password", account.password)])


@requirement("AUTH-05")
@pytest.mark.parametrize("body", ["empty-object", "password-only"])
@sends(_query_string_login)
def test_query_string_credentials_never_log_in(exchange):
    expect("AUTH-05", exchange, checks.no_token)


@requirement("AUTH-05")
@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"])
@sends(lambda account, method: LoginRequest(f"{method} with the credentials in the query string", "any",
                                            method=method,
                                            params=[("email", account.email), ("password", account.password)]))
def test_query_string_credentials_never_log_in_with_any_method(exchange):
    """Frameworks that read credentials from "the request values" (query and body alike) route other methods too;
    the right credentials in the query string of any method are never a login (a HEAD answer can still carry a
    token in a header or a cookie)."""
    expect("AUTH-05", exchange, checks.no_token)


def _b64(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).rstrip(b"=").decode()


def _forged_tokens(issued: str | None) -> dict[str, Secret]:
    claims = {"sub": "00000000-0000-4000-8000-000000000001", "exp": int(time.time()) + 3600}
    if issued and issued.count(".") == 2:
        try:
            padded = issued.split(".")[1] + "=" * (-len(issued.split(".")[1]) % 4)
            claims = json.loads(base64.urlsafe_b64decode(padded))
        except ValueError:
            pass
    forged = {
        "alg-none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.",
        "garbage": "not-a-token",
    }
    if issued and issued.count(".") == 2:
        head, body, sig = issued.split(".")
        flipped = ("B" if sig[:1] != "B" else "C") + sig[1:] if sig else "AA"
        forged["flipped-signature"] = f"{head}.{body}.{flipped}"
    return {
        name: Secret(f"Bearer {tok}", f"<forged bearer: {name}>", f'"Bearer $FORGED_TOKEN_{name.upper().replace("-", "_")}"')
        for name, tok in forged.items()
    }


def _model_login(configured_account) -> list[LoginRequest]:
    if configured_account is None:
        return []
    return [LoginRequest("a login whose token is the forgery's model", "success", json=configured_account.body(),
                         real_account=True)]


@pytest.mark.success_path(spends_failed_logins=True)  # its model token comes from a fresh login
@requirement("AUTH-06")
@pytest.mark.parametrize("forgery", ["alg-none", "garbage", "flipped-signature"])
@sends(_model_login)
def test_forged_bearer_never_turns_failure_into_success(exchanges, send, configured_account, unknown_email, forgery):
    acc = configured_account
    tokens = _forged_tokens(exchanges[0].token if exchanges else None)
    if forgery not in tokens:
        not_applicable("no issued token to tamper with (no credentials)")
    if acc is not None:
        body, real = {"email": acc.email, "password": wrong_password_for(acc.password)}, True
    else:
        body, real = {"email": unknown_email, "password": "Unknown-Acc0unt-Passw0rd!"}, False
    ex = send(f"wrong password with a forged bearer ({forgery})", "failure", json=body,
              headers={"Authorization": tokens[forgery]}, real_account=real)
    expect("AUTH-06", ex, checks.not_5xx)
    expect("AUTH-06", ex, checks.no_token)


def fresh_or_already_logged_in(ex):
    """A token (a 200 instead of 201 is RESP-01's, not AUTH-07's) or the documented ALREADY_LOGGEDIN error."""
    if ex.status is not None and ex.status >= 500:
        raise Mismatch("a fresh login (a token) or the ALREADY_LOGGEDIN error", f"status {ex.status}")
    if ex.token:
        return
    if ex.error == "ALREADY_LOGGEDIN":
        return
    raise Mismatch("a fresh login (a token) or the ALREADY_LOGGEDIN error")


def _login_presenting_token(account, session_login) -> LoginRequest:
    bearer = Secret(f"Bearer {session_login.token}", "<Bearer issued token>", '"Bearer $LOGIN_TOKEN"')
    # right credentials ("success"): an ALREADY_LOGGEDIN answer is not a failed login and spends no budget
    return LoginRequest("login again presenting the token just issued", "success", json=account.body(),
                        headers={"Authorization": bearer}, real_account=True)


@pytest.mark.success_path
@requirement("AUTH-07")
@sends(_login_presenting_token)
def test_login_while_presenting_token(exchange):
    expect("AUTH-07", exchange, fresh_or_already_logged_in)


@pytest.mark.success_path
@requirement("AUTH-08")
@sends(lambda account: LoginRequest("a second login", "success", json=account.body(), real_account=True))
def test_two_logins_give_different_tokens(exchange, session_login):
    expect("AUTH-08", exchange, checks.fresh_token, session_login.token)
