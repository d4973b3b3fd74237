"""The HTTP client: back-off on 429, request cap, failed-login budget and interleaving."""

import httpx
import pytest
from helpers import exchange

from contract_tests.sending.client import (Account, BudgetSpent, CaptchaDemanded, ClientLimits, ContractClient, NoAnswer,
                                          NotSent, RateLimited)
from contract_tests.sending.exchange import LoginRequest
from contract_tests.sending.pause import with_margin
from contract_tests.sending.secrets import Redactor

pytestmark = pytest.mark.unit  # the fast lane: python -m pytest tests -m unit

ACCOUNT = Account.from_values("demo@example.com", "Right-Passw0rd!")


def waits(*seconds):
    """The sleeps of pauses asking for *seconds*: each Retry-After plus its margin (an injected sleep lets no time
    pass, so each pause is slept once, from just after its answer came)."""
    return [pytest.approx(with_margin(s), abs=0.05) for s in seconds]


class FakeTime:
    """A monotonic clock that only its sleep advances, and the sleeps it was asked for."""

    def __init__(self) -> None:
        self.now, self.sleeps = 1000.0, []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def on(self, client):
        client._clock, client._sleep = self.clock, self.sleep
        return client


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
    assert sleeps == waits(2.0)
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


def test_captcha_refusals_naming_the_account_are_no_refusals_in_a_row():
    """Probes naming the account by address that the target refuses with its captcha demand (before it looks at the
    credentials: no lockout policy counts them) do not make the gate interleave a successful login (which would spend
    a single-use captcha token); wrong passwords it did judge still do."""
    log = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = request.content.decode()
        log.append(body)
        if '"captcha-probe"' in body:
            return httpx.Response(403, json={"error": "CAPTCHA_REQUIRED"})
        return _login_server([])(request)

    client = _client(handler, interleave_every=2)
    for n in range(5):
        client.send(LoginRequest(purpose="captcha probe", expect="failure", captcha=False, allow_captcha_error=True,
                                 json={"email": ACCOUNT.email, "password": "captcha-probe", "n": n}))
    assert not any("Right-Passw0rd!" in body for body in log)  # no interleaved login for captcha refusals
    for n in range(3):
        client.send(_wrong(n))
    assert sum("Right-Passw0rd!" in body for body in log) == 1  # judged refusals: after 2 in a row, as before


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
        (httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate "
                            "(_ssl.c:1006)"), "TLS certificate verify failed: the certificate is not trusted"),
        (httpx.ConnectError("[Errno -2] Name or service not known"), "DNS lookup failed"),
        (httpx.ConnectError("[Errno 111] Connection refused"), "connection refused .*nothing listens on that port"),
        (httpx.ConnectError("[Errno 113] No route to host"), "connection failed: .*No route to host"),
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


VERIFY = "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {} (_ssl.c:1006)"


@pytest.mark.parametrize("openssl, says, insecure, ssl_cert_file", [
    (VERIFY.format("unable to get local issuer certificate"),
     "TLS certificate verify failed: the certificate is not trusted (unable to get local issuer certificate)", 1, 1),
    (VERIFY.format("self-signed certificate in certificate chain"), "not trusted (self-signed certificate in", 1, 1),
    (VERIFY.format("Hostname mismatch, certificate is not valid for 'api.example.test'."),
     "host name mismatch (Hostname mismatch, certificate is not valid for 'api.example.test')", 1, 0),
    (VERIFY.format("IP address mismatch, certificate is not valid for '127.0.0.1'."), "host name mismatch", 1, 0),
    (VERIFY.format("certificate has expired"), "TLS certificate verify failed: certificate has expired", 1, 0),
    ("[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)",
     "TLS handshake failed (wrong version number): that port answers in plain HTTP, not TLS; use http://", 0, 0),
    ("[SSL: RECORD_LAYER_FAILURE] record layer failure (_ssl.c:1006)", "answers in plain HTTP", 0, 0),
    ("[SSL: SSLV3_ALERT_HANDSHAKE_FAILURE] sslv3 alert handshake failure (_ssl.c:1006)",
     "TLS handshake failure (sslv3 alert handshake failure): the server refused the handshake", 0, 0),
    ("[SSL: TLSV1_ALERT_PROTOCOL_VERSION] tlsv1 alert protocol version (_ssl.c:1006)", "share no TLS version", 0, 0),
])
def test_tls_failures_say_which_with_the_fix_that_fits(openssl, says, insecure, ssl_cert_file):
    from contract_tests.sending.client import TargetError

    def handler(request):
        raise httpx.ConnectError(openssl)

    with pytest.raises(TargetError) as info:
        _client(handler).probe()
    message = str(info.value)
    assert says in message and info.value.reached  # a TLS failure: the host was reached
    assert message.count("--insecure") == insecure and message.count("SSL_CERT_FILE") == ssl_cert_file
    assert "_ssl.c" not in message and message.count("certificate verify failed") <= 1  # said once
    assert not message.startswith("cannot reach")


def test_only_a_failed_connection_is_cannot_reach():
    from contract_tests.sending.client import TargetError
    from contract_tests.sending.preflight import unreachable

    assert unreachable("http://x.test", TargetError("connection failed: refused")) == (
        "cannot reach http://x.test: connection failed: refused")
    assert unreachable("https://x.test", TargetError("TLS handshake failed (...)", reached=True)) == (
        "https://x.test was reached, but TLS handshake failed (...)")


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


# -- lockouts and rate limits: recognised, waited out within --max-retry-wait, counted; never a verdict
def _answer(status, body=None, headers=None, html=False):
    headers = {"X-Content-Type-Options": "nosniff", **(headers or {})}
    if html:
        return httpx.Response(status, headers={"Content-Type": "text/html", **headers},
                              content=b"<html><body><h1>429 Too Many Requests</h1></body></html>")
    return httpx.Response(status, json=body if body is not None else {}, headers=headers)


@pytest.mark.parametrize("status, error, after_failures, kind", [
    (429, None, False, "rate limit"),
    (429, "TOO_MANY_FAILED_ATTEMPTS", False, "lockout"),  # a 429 whose error names a lock: the identifier's
    (200, "RATE_LIMITED", False, "rate limit"),
    (423, None, False, "lockout"),
    (403, "ACCOUNT_LOCKED", False, "lockout"),
    (201, "LOCKED", False, "lockout"),
    (401, "TOO_MANY_ATTEMPTS", False, "lockout"),
    (401, "too_many_failed_login_attempts", False, "lockout"),
    (403, "USER_FORBIDDEN", True, "lockout"),  # after failed logins, on an account that logged in before
    # not a lockout
    (403, "USER_FORBIDDEN", False, None),  # a disabled account: the pre-flight says the credentials do not log in
    (401, "WRONG_PASSWORD", True, None),
    (401, "UNLOCKED_FEATURE", True, None),
    (403, "NOT_LOCKED_BUT_FORBIDDEN", True, None),
    (400, None, True, None),
])
def test_backoff_kind(status, error, after_failures, kind):
    from contract_tests.sending.client import backoff_kind

    body = {"error": error} if error else {"detail": "x"}
    assert backoff_kind(exchange(status, body), locked_after_failures=after_failures) == kind


def test_lockout_is_waited_out_and_retried_then_counted():
    answers = iter([_answer(423, {"error": "ACCOUNT_LOCKED"}, {"Retry-After": "2"}),
                    _answer(201, {"token": "t.t.t", "user_uuid": "u"})])
    seen, fake = [], FakeTime()
    client = fake.on(_client(lambda r: next(answers)))
    client.observer = seen.append
    ex = client.login(ACCOUNT, "a login")
    assert ex.token == "t.t.t" and ex.attempts == 2 and fake.sleeps == waits(2.0)
    assert (client.locked_out, client.rate_limited, client.backoff_seconds) == (1, 0, 2.0)
    assert [e.status for e in seen] == [423, 201] and seen[0].backoff == "lockout"  # the lock is judged too


def test_lockout_beyond_max_retry_wait_is_blocked_and_not_extended():
    from contract_tests.judging.outcomes import Blocked
    from contract_tests.judging.verdicts import not_sent
    from contract_tests.sending.client import AccountLocked

    log, sleeps = [], []

    def handler(request):
        log.append(request)
        return _answer(423, {"error": "ACCOUNT_LOCKED"}, {"Retry-After": "900"})

    client = _client(handler, sleeps, max_retry_wait=30)
    with pytest.raises(AccountLocked, match=r"configured account is locked out .*Retry-After 900") as exc:
        client.send(_wrong())
    assert sleeps == [] and len(log) == 1  # 900 s is beyond --max-retry-wait: no pointless wait
    assert isinstance(not_sent(exc.value), Blocked)  # the verdict travels as the type, its reason in words
    with pytest.raises(AccountLocked, match="nothing is sent to it meanwhile"):
        client.login(ACCOUNT, "a login")  # a request while locked would restart many locks: not sent
    assert len(log) == 1 and client.locked_out == 1
    # another identifier is not the account: its lockout is its own (an unknown identifier locked longer than the
    # run waits is replaced by a fresh one once; that one locked at its first request too, the check is blocked)
    other = LoginRequest(purpose="p", expect="failure", json={"email": "x@example.com", "password": "p"})
    with pytest.raises(AccountLocked, match="this identifier is locked out"):
        client.send(other)
    assert len(log) == 3
    for state in client._locks._ids.values():  # the locks ended
        state.locked_until = 0.0
    with pytest.raises(AccountLocked):
        client.send(_wrong())
    assert len(log) == 4


def test_lockout_without_retry_after_stops_sending_to_the_account_for_the_run():
    from contract_tests.sending.client import AccountLocked

    log, sleeps = [], []

    def handler(request):
        log.append(request)
        return _answer(403, {"error": "TOO_MANY_ATTEMPTS"})

    client = _client(handler, sleeps, max_retry_wait=5)
    with pytest.raises(AccountLocked, match="no Retry-After"):
        client.send(_wrong())
    assert sum(sleeps) <= 5 and client.backoff_seconds == sum(sleeps) and client.locked_out == len(log)
    with pytest.raises(AccountLocked, match="for the rest of the run"):
        client.send(_wrong())


def test_user_forbidden_after_failures_is_a_lockout_only_on_an_account_that_logged_in(tmp_path):
    state = {"failures": 0}

    def handler(request):
        body = request.read().decode()
        if state["failures"] >= 2:
            return _answer(403, {"error": "USER_FORBIDDEN"})
        if "Right-Passw0rd!" in body:
            return _answer(201, {"token": "t.t.t", "user_uuid": "u"})
        state["failures"] += 1
        return _answer(401, {"error": "WRONG_PASSWORD"})

    sleeps = []
    client = _client(handler, sleeps, interleave_every=99, max_retry_wait=3)
    from contract_tests.sending.client import AccountLocked

    assert client.login(ACCOUNT, "first login").token
    client.send(_wrong(1))
    client.send(_wrong(2))
    with pytest.raises(AccountLocked, match="USER_FORBIDDEN"):
        client.login(ACCOUNT, "after two failures")
    # the failures may have been spent by another xdist worker: the run's count decides
    from contract_tests.sending.client import SharedTally

    tally = tmp_path / "tally.json"
    tally.write_text('{"failed_logins": 2}')
    state["failures"] = 2
    other = _client(handler, [], max_retry_wait=0)
    other.shared = SharedTally(str(tally))
    other._account_logged_in = True  # its own pre-flight login got in before the lock
    with pytest.raises(AccountLocked):
        other.login(ACCOUNT, "a worker that spent no failed login itself")
    # never logged in: the same answer is a disabled account, handed to the caller (the pre-flight explains it)
    fresh = _client(lambda r: _answer(403, {"error": "USER_FORBIDDEN"}))
    assert fresh.login(ACCOUNT, "first login").error == "USER_FORBIDDEN" and fresh.locked_out == 0


def test_html_429_without_retry_after_is_counted_backed_off_and_observed():
    answers = iter([_answer(429, html=True), _answer(429, html=True), _answer(401, {"error": "WRONG_PASSWORD"})])
    seen, fake = [], FakeTime()
    client = fake.on(_client(lambda r: next(answers)))
    client.observer = seen.append
    client.send(LoginRequest(purpose="p", expect="failure", json={"email": "x@example.com", "password": "p"}))
    assert fake.sleeps == waits(1.0, 2.0) and client.rate_limited == 2 and client.backoff_seconds == 3.0
    assert [e.backoff for e in seen] == ["rate limit", "rate limit", None]


def test_raw_rate_limit_hands_the_lock_to_the_caller_and_counts_it():
    client = _client(lambda r: _answer(423, {"error": "ACCOUNT_LOCKED"}, {"Retry-After": "5"}))
    ex = client.send(LoginRequest(purpose="p", expect="failure", json={}, raw_rate_limit=True))
    assert ex.status == 423 and ex.backoff == "lockout" and client.locked_out == 1 and client.backoff_seconds == 0


def test_rate_limit_answers_are_observed_when_the_back_off_runs_out():
    sleeps, seen = [], []
    client = _client(lambda r: _answer(429, html=True), sleeps, max_retry_wait=2)
    client.observer = seen.append
    with pytest.raises(RateLimited):
        client.send(LoginRequest(purpose="p", expect="failure", json={}))
    assert len(seen) == client.rate_limited == 2 and sleeps == waits(1.0)


@pytest.mark.parametrize("answer, failures", [
    (_answer(429, html=True), {("RESP-04", "SHOULD"), ("RESP-05", "SHOULD")}),  # nginx's page: SHOULD, not MUST
    (_answer(429, {"message": "slow down"}), {("RESP-05", "SHOULD")}),
    (_answer(429, {"error": "RATE_LIMITED"}), set()),
    (_answer(200, {"error": "RATE_LIMITED"}), set()),  # a rate limiter answered, not validation: no INPUT-06
])
def test_rate_limit_answers_are_judged_at_should(answer, failures):
    from contract_tests.judging import invariants, verdicts

    answers = iter([answer, _answer(400, {"error": "INVALID_INPUT"})])
    client = _client(lambda r: next(answers))
    client.ledger = ledger = verdicts.Ledger()
    client.observer = invariants.Observer(ledger)
    ctx = verdicts.TestContext("t", ("INPUT-01",))
    with ledger.running(ctx):
        client.send(LoginRequest(purpose="p", expect="invalid", json={"email": "x@example.com"}))
    # cross-cutting failures are held for their own requirement's item, not charged to the running test
    assert ctx.failed() == []
    assert {(o.requirement, o.level) for o in ledger.take_held()} == failures


def test_a_request_http_cannot_carry_is_not_blamed_on_the_target():
    """h11 refuses a header value with trailing whitespace before anything is sent: that is no answer of the target's,
    and it does not count towards "the target stopped answering"."""
    import socket

    with socket.socket() as listener:  # accepts the connection; the request is refused before anything is written
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        client = ContractClient(f"http://127.0.0.1:{listener.getsockname()[1]}", Redactor(),
                                ClientLimits(lost_after=1, timeout=5))
        request = LoginRequest("a header HTTP cannot carry", "any", json={}, headers={"Authorization": "Bearer "})
        with pytest.raises(NoAnswer, match="could not send this request as HTTP"):
            client.send(request)
        assert client.stopped is None
        client.close()


def test_shared_tally_gives_back_the_unit_of_a_possible_failure_that_logged_in(tmp_path):
    """On xdist the budget is per run: a request that might have failed but logged in (or got no answer) must not
    keep the unit from the other workers (a CI run blocked AUTH-03 with 17 failed logins out of 20)."""
    from contract_tests.sending.client import SharedTally

    path = str(tmp_path / "tally.json")
    log = []
    workers = [_client(_login_server(log), failed_login_budget=2, interleave_every=99) for _ in range(2)]
    for worker in workers:
        worker.shared = SharedTally(path)
    right = LoginRequest(purpose="may fail", expect="failure", real_account=True,
                         json={"email": ACCOUNT.email, "password": "Right-Passw0rd!"})
    assert right.spends_budget
    for _ in range(3):
        assert workers[0].send(right).token
    assert workers[0].run_failed_logins == 0
    workers[1].send(_wrong(1))
    workers[0].send(_wrong(2))
    assert workers[1].run_failed_logins == 2
    with pytest.raises(NotSent, match="budget exhausted"):
        workers[1].send(_wrong(3))
    assert sum(w.failed_logins for w in workers) == 2


def test_shared_tally_waits_for_a_count_the_other_workers_reach_and_gives_up_when_it_stalls(tmp_path):
    import threading
    import time

    from contract_tests.sending.client import SharedTally

    tally = SharedTally(str(tmp_path / "tally.json"))
    tally.add("done")
    assert tally.wait_for("done", 1, stalled_after=0)
    assert not tally.wait_for("done", 2, stalled_after=0)  # no other worker counts it: no wait for ever
    assert not tally.wait_for("done", 2, stalled_after=60, deadline=time.monotonic())  # --run-deadline passed
    other = threading.Thread(target=lambda: [tally.add("done") for _ in range(3)])
    other.start()
    assert tally.wait_for("done", 4, stalled_after=60)
    other.join()
    tally.give_back("done")
    assert tally.count("done") == 3


@pytest.mark.parametrize(("locations", "root"), [
    (["https://login.example.test/api/user/login"] * 2, "https://login.example.test"),  # http:// moved to https://
    (["/v2/api/user/login", "/v2/api/user/login"], "http://target.test/v2"),  # a path prefix, relative Location
    (["https://a.test/api/user/login", "https://b.test/api/user/login"], None),  # they disagree
    (["/login", "/login"], None),  # a login page, not the API
    (["https://a.test/api/user/login", None], None),  # one answer is not a redirect
])
def test_pre_flight_names_the_base_url_a_redirecting_target_moved_to(locations, root):
    from contract_tests.sending.preflight import moved_to

    answers = [exchange(301, headers={"location": where}) if where else exchange(401, {"error": "NO_SUCH_USER"})
               for where in locations]
    assert moved_to(answers) == root


def test_requests_carry_no_accept_header_as_the_documented_client_sends_none():
    """Go's net/http sends no Accept and the documented client sets only Content-Type; servers negotiate on Accept
    (Rails answers exceptions as JSON for Accept: application/json, as an empty text/html body without it), so the
    suite must see the answer that client gets: no Accept of its own, and not httpx's default `*/*` either."""
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return httpx.Response(401, json={"error": "INVALID_CREDENTIALS"})

    client = _client(handler)
    client.send(_wrong())
    client.send(LoginRequest(purpose="get", method="GET", expect="any"))
    assert len(seen) == 2
    assert all("accept" not in headers and headers["user-agent"] for headers in seen)
    assert seen[0]["content-type"] == "application/json"
