"""The HTTP client: back-off on 429, request cap, failed-login budget and interleaving."""

import httpx
import pytest

from contract_tests.sending.client import (Account, BudgetSpent, CaptchaDemanded, ClientLimits, ContractClient, NotSent,
                                          RateLimited)
from contract_tests.sending.exchange import LoginRequest
from contract_tests.sending.secrets import Redactor

ACCOUNT = Account.from_values("demo@example.com", "Right-Passw0rd!")


def _client(handler, sleeps=None, **limits):
    return ContractClient(
        "http://target.test",
        Redactor(),
        ClientLimits(**limits),
        account=ACCOUNT,
        transport=httpx.MockTransport(handler),
        sleep=(sleeps.append if sleeps is not None else lambda s: None),
    )


def _login_server(log):
    def handler(request: httpx.Request) -> httpx.Response:
        body = request.read().decode()
        log.append(body)
        if "Right-Passw0rd!" in body:
            return httpx.Response(201, json={"token": "t.t.t", "user_uuid": "u"})
        return httpx.Response(401, json={"error": "INVALID_CREDENTIALS"})

    return handler


def _wrong(n=0):
    return LoginRequest(purpose="wrong", expect="failure", real_account=True,
                        json={"email": ACCOUNT.email, "password": f"wrong-{n}"})


def test_429_is_retried_after_retry_after_and_never_a_failure():
    answers = iter([httpx.Response(429, headers={"Retry-After": "2"}, json={"error": "RATE_LIMITED"}),
                    httpx.Response(401, json={"error": "INVALID_CREDENTIALS"})])
    sleeps = []
    client = _client(lambda r: next(answers), sleeps)
    ex = client.send(LoginRequest(purpose="p", expect="failure", json={"email": "x@example.com", "password": "p"}))
    assert ex.status == 401 and ex.attempts == 2
    assert sleeps == [2.0]
    assert client.requests_sent == 2


def test_endless_rate_limit_is_blocked_within_the_bound():
    sleeps = []
    client = _client(lambda r: httpx.Response(200, json={"error": "RATE_LIMITED"}), sleeps, max_retry_wait=5)
    with pytest.raises(RateLimited, match="rate limited"):
        client.send(LoginRequest(purpose="p", expect="failure", json={}))
    assert sum(sleeps) <= 5


def test_failed_login_budget_and_interleaved_successful_logins():
    log = []
    client = _client(_login_server(log), failed_login_budget=5, interleave_every=2)
    for n in range(5):
        client.send(_wrong(n))
    with pytest.raises(BudgetSpent, match="failed-login budget exhausted"):
        client.send(_wrong(99))
    assert client.failed_logins == 5
    rights = [i for i, body in enumerate(log) if "Right-Passw0rd!" in body]
    assert len(rights) == 2  # a successful login after every 2 consecutive failures
    assert "wrong-99" not in "".join(log)


def test_request_cap_blocks_before_sending():
    log = []
    client = _client(_login_server(log), max_requests=3)
    for n in range(3):
        client.send(LoginRequest(purpose="p", expect="failure", json={"n": n}))
    with pytest.raises(BudgetSpent, match="request cap of 3"):
        client.send(LoginRequest(purpose="p", expect="failure", json={}))
    assert len(log) == 3


def test_captcha_demand_blocks_credentialed_checks():
    client = _client(lambda r: httpx.Response(403, json={"error": "CAPTCHA_REQUIRED"}))
    with pytest.raises(CaptchaDemanded, match="the target demands a captcha"):
        client.send(LoginRequest(purpose="p", expect="success", json=ACCOUNT.body(), real_account=True))


def test_issued_tokens_are_registered_for_redaction():
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.SIGNATURE-bytes"
    client = _client(lambda r: httpx.Response(201, json={"token": token, "user_uuid": "u"}))
    client.send(LoginRequest(purpose="p", expect="success", json=ACCOUNT.body(), real_account=True))
    assert "SIGNATURE-bytes" not in client.redactor(f"Authorization: Bearer {token}")
    assert "Right-Passw0rd!" not in client.redactor("pw=Right-Passw0rd!")


@pytest.mark.parametrize(
    "exc, words",
    [
        (httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"), "TLS failure"),
        (httpx.ConnectError("[Errno -2] Name or service not known"), "DNS lookup failed"),
        (httpx.ConnectError("[Errno 111] Connection refused"), "connection failed"),
        (httpx.RemoteProtocolError("illegal status line"), "did not answer with valid HTTP"),
    ],
)
def test_transport_errors_are_one_readable_line(exc, words):
    from contract_tests.sending.client import TargetError

    def handler(request):
        raise exc

    client = _client(handler)
    with pytest.raises(TargetError, match=words):
        client.probe()


def test_shared_tally_keeps_budgets_per_run_across_clients(tmp_path):
    from contract_tests.sending.client import SharedTally

    path = str(tmp_path / "tally.json")
    log = []
    workers = [_client(_login_server(log), failed_login_budget=3, interleave_every=99) for _ in range(2)]
    for worker in workers:
        worker.shared = SharedTally(path)
    sent = 0
    for n in range(4):
        for worker in workers:
            try:
                worker.send(_wrong(n))
                sent += 1
            except NotSent:
                pass
    assert sent == 3
    assert workers[0].run_failed_logins == 3
