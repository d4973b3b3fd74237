"""Pauses and locks: a 429 or lock answer stops every new send from the moment it is received until its Retry-After
(plus a margin) has elapsed, the next test's first request included; a locked identifier is left alone (one request
per lock period), whatever the lock's vocabulary; the lockout policy is learned from the first lock or declared
(--lockout-policy) and the failed logins are spread under it. Unit tests on a fake clock, then whole runs with a
declared policy counted at the server by a measuring proxy (tests/measuring_proxy.py); the same promises at every
concurrency, -n 2 included, over the lockout and rate-limit policies: tests/test_concurrency_matrix.py."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import httpx
import pytest
from measuring_proxy import Measured, MeasuringProxy
from test_client import ACCOUNT, FakeTime, _answer, _client, waits
from test_gate import SUITE, _clean_env

from contract_tests.reference import DEMO_EMAIL, DEMO_PASSWORD, start_reference_server
from contract_tests.reference.stacks.lockout import LockoutForbidden, LockoutSliding
from contract_tests.reference.service import LoginService
from contract_tests.sending.client import AccountLocked, RateLimited
from contract_tests.sending.exchange import LoginRequest
from contract_tests.sending.locks import Held, LockBook, LockoutPolicy, parse_policy
from contract_tests.sending.pause import Pause, with_margin


def _unknown(n: int = 0, email: str = "nobody@example.com") -> LoginRequest:
    return LoginRequest(purpose=f"unknown {n}", expect="failure", json={"email": email, "password": f"Wrong-{n}!"})


def _wrong(n: int = 0) -> LoginRequest:
    return LoginRequest(purpose=f"wrong {n}", expect="failure", real_account=True,
                        json={"email": ACCOUNT.email, "password": f"Wrong-{n}!"})


# -- the pause ------------------------------------------------------------------------------------------------------
def test_a_pause_counts_from_the_answer_and_ends_after_its_margin_never_before():
    fake = FakeTime()
    pause = Pause(fake.clock, fake.sleep)
    received = fake.now
    fake.now += 0.3  # the request that got the answer took a while to get round to it
    assert pause.start(1.0, received) == 1.0
    assert pause.left() == pytest.approx(with_margin(1.0) - 0.3)
    asyncio.run(pause.wait())
    assert fake.now == pytest.approx(received + with_margin(1.0)) and fake.now >= received + 1.0
    assert asyncio.run(pause.wait()) == 0.0  # over


def test_a_request_waiting_in_a_pause_waits_for_its_extension_too():
    fake = FakeTime()
    pause = Pause(fake.clock, fake.sleep)
    pause.start(1.0, fake.now)
    extended = []

    def sleep(seconds):  # while the first wait sleeps, another answer asks for 3 s
        if not extended:
            extended.append(pause.start(3.0, fake.now + 0.5))
        fake.sleep(seconds)

    pause._sleep = sleep
    start = fake.now
    asyncio.run(pause.wait())
    assert fake.now == pytest.approx(start + 0.5 + with_margin(3.0))
    assert extended == [pytest.approx(2.5)]  # the run's back-off counts the overlap once


def test_after_the_last_permitted_retry_of_a_429_the_next_request_waits_too():
    answers = iter([_answer(429, {"error": "RATE_LIMITED"}, {"Retry-After": "2"})] * 2
                   + [_answer(401, {"error": "NO_SUCH_USER"})])
    fake = FakeTime()
    client = fake.on(_client(lambda r: next(answers), max_retries=1))
    with pytest.raises(RateLimited):
        client.send(_unknown(1))
    assert fake.sleeps == waits(2.0)  # the one retry, after the first 429
    client.send(_unknown(2))  # the next test's first request: after the second 429's Retry-After, not at once
    assert fake.sleeps == waits(2.0, 2.0)
    client.close()


def test_a_pause_longer_than_max_retry_wait_stops_every_request_instead_of_sending_early():
    seen = []

    def handler(request):
        seen.append(request)
        return _answer(429, {"error": "RATE_LIMITED"}, {"Retry-After": "900"})

    fake = FakeTime()
    client = fake.on(_client(handler, max_retry_wait=30))
    with pytest.raises(RateLimited):
        client.send(_unknown(1))
    with pytest.raises(RateLimited, match=r"pause of 9\d\d s more"):
        client.send(_unknown(2, "someone-else@example.com"))
    assert len(seen) == 1 and fake.sleeps == []
    client.close()


# -- the lockout policy ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, policy", [
    ("10/120s", LockoutPolicy(10, 120.0)),
    ("6/5m", LockoutPolicy(6, 300.0)),
    (" 5 / 90 ", LockoutPolicy(5, 90.0)),
    ("3/1h", LockoutPolicy(3, 3600.0)),
    ("4/500ms", LockoutPolicy(4, 0.5)),
])
def test_a_declared_policy_is_failures_per_window(text, policy):
    assert parse_policy(text) == policy


@pytest.mark.parametrize("text", ["", "10", "0/120s", "10/0s", "10/120x", "ten/120s", "-1/5m"])
def test_a_malformed_policy_is_one_line_saying_what_is_expected(text):
    with pytest.raises(ValueError, match=r"^--lockout-policy expects FAILURES/WINDOW such as 10/120s"):
        parse_policy(text)


def test_a_malformed_policy_on_the_command_line_is_a_usage_error(pytester):
    pytester.makeini("[pytest]\naddopts = -p contract_tests.plugin")
    result = pytester.runpytest_subprocess("--lockout-policy=ten", "--pyargs", "contract_tests.suite",
                                           "--collect-only", "-q")
    assert result.ret == 4
    assert "--lockout-policy expects FAILURES/WINDOW" in result.stderr.str()
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def _book(policy=None):
    fake = FakeTime()
    return LockBook(policy, clock=fake.clock, sleep=fake.sleep), fake


def _through(book, fake, request, status=401, error="NO_SUCH_USER", lock=False, retry_after=None, allowance=30.0):
    return asyncio.run(_through_book(book, fake, request, status, error, lock, retry_after, allowance))


async def _through_book(book, fake, request, status=401, error="NO_SUCH_USER", lock=False, retry_after=None,
                        allowance=30.0):
    """*request* through the lock *book* (waiting as it says, on the fake clock), answered *status* / *error*."""
    from helpers import exchange

    async with book.turn(request, allowance) as ticket:
        answer = exchange(status, {"error": error})
        answer.request = request
        ticket.answered(answer, lock=lock, retry_after=retry_after, received_at=fake.now)
    return answer


def test_a_lock_without_retry_after_holds_its_identifier_for_the_run_and_only_it():
    book, fake = _book()
    for n in range(3):
        _through(book, fake, _unknown(n))
    _through(book, fake, _unknown(3), 403, "USER_FORBIDDEN", lock=True)
    with pytest.raises(Held, match="for the rest of the run"):
        _through(book, fake, _unknown(4))
    _through(book, fake, _unknown(5, "another@example.com"))  # another identifier goes on
    assert book.lock_answers == 1 and fake.sleeps == []


def test_a_lock_with_retry_after_is_waited_out_once_per_period_while_it_comes_after_as_many_failures():
    book, fake = _book()
    for n in range(5):
        _through(book, fake, _wrong(n))
    _through(book, fake, _wrong(5), 423, "ACCOUNT_LOCKED", lock=True, retry_after=2.0)  # 5 lock it
    success = LoginRequest("right", "success", json=ACCOUNT.body(), real_account=True)
    _through(book, fake, success, 201, None)  # waits the lock out; the one request of the next period
    assert fake.sleeps == [pytest.approx(with_margin(2.0))]
    for n in range(5):  # the lock spent the count (as lockout policies that restart it do): the checks go on
        _through(book, fake, _wrong(10 + n))
    _through(book, fake, _wrong(20), 423, "ACCOUNT_LOCKED", lock=True, retry_after=2.0)  # after 5 again: waited out
    _through(book, fake, _wrong(21))
    assert book.lock_answers == 2 and len(fake.sleeps) == 2


def _locked_twice(book, fake, failures_between: int) -> float:
    """Ten failed logins lock the account (Retry-After 1); after the lock, *failures_between* more and it is locked
    again (a sliding window still counts the ten); the clock() of the first failed login."""
    start = fake.now
    for n in range(10):
        _through(book, fake, _wrong(n))
        fake.now += 0.1
    _through(book, fake, _wrong(10), 429, "TOO_MANY_FAILED_ATTEMPTS", lock=True, retry_after=1.0)
    for n in range(failures_between):  # the lock ended (waited out)
        _through(book, fake, _wrong(11 + n))
    _through(book, fake, _wrong(20), 429, "TOO_MANY_FAILED_ATTEMPTS", lock=True, retry_after=1.0)
    return start


@pytest.mark.parametrize("failures_between", [0, 1])
def test_locked_again_sooner_the_count_outlived_the_lock_and_the_failed_logins_are_spread_under_a_learned_window(
        failures_between):
    book, fake = _book()
    start = _locked_twice(book, fake, failures_between)
    locked_again = fake.now
    # the newest ten failed logins all still count: the window is longer than their span, assumed twice that
    window = 2 * (locked_again - (start + 0.1 * failures_between))
    _through(book, fake, _wrong(30))  # the lock waited out, then the window, until eight of them are left in it
    assert fake.now == pytest.approx(start + 0.1 * (1 + failures_between) + with_margin(window))
    assert book.lock_answers == 2
    with pytest.raises(Held, match=rf"would lock the configured account again: its lock came back after "
                                   rf"{failures_between} failed login\(s\), its first after 10, so the target's "
                                   rf"count outlived the lock \(10 failed logins within [0-9.]+ s lock an identifier "
                                   rf"\(learned from the target's locks\); 9 answered .*raise --max-retry-wait"):
        _through(book, fake, _wrong(31), allowance=0.01)  # the next leaves the window in 0.1 s
    _through(book, fake, LoginRequest("right", "success", json=ACCOUNT.body(), real_account=True), 201, None)


def test_locked_under_the_learned_window_the_window_is_longer():
    book, fake = _book()
    _locked_twice(book, fake, 0)
    first = book._ids["<the configured account>"].learned
    _through(book, fake, _wrong(30))
    _through(book, fake, _wrong(31), 429, "TOO_MANY_FAILED_ATTEMPTS", lock=True, retry_after=1.0)
    longer = book._ids["<the configured account>"].learned
    assert (longer.failures, longer.declared) == (10, False) and longer.window >= 2 * first.window
    assert book.lock_answers == 3


def test_a_count_that_outlived_a_lock_without_retry_after_holds_the_identifier_for_the_run():
    book, fake = _book()
    for n in range(10):
        _through(book, fake, _wrong(n))
    _through(book, fake, _wrong(10), 429, "TOO_MANY_FAILED_ATTEMPTS", lock=True, retry_after=1.0)
    _through(book, fake, _wrong(11), 403, "USER_FORBIDDEN", lock=True)  # again at once, and no end given
    fake.now += 3600
    with pytest.raises(Held, match="for the rest of the run"):
        _through(book, fake, _wrong(12))
    assert book.lock_answers == 2


def test_a_fresh_count_that_also_counts_other_refusals_is_not_taken_for_an_outlived_one():
    """Locked after 10 credential failures, then again after 4 credential failures and 2 other refusals naming the
    account (a probe meant as invalid that the policy counted too, or failures in flight across the lock): as many
    refusals as the policy may have counted is not 'far fewer' (under half of 10). The book waits the lock out and
    the checks go on; the 'count outlived the lock' conclusion needs every refusal since the lock to be that few."""
    book, fake = _book()
    for n in range(10):
        _through(book, fake, _wrong(n))
    _through(book, fake, _wrong(10), 423, "ACCOUNT_LOCKED", lock=True, retry_after=1.0)
    for n in range(4):
        _through(book, fake, _wrong(11 + n))
    for n in range(2):  # a probe naming the account by address, meant as a validation refusal, counted by the policy
        _through(book, fake, LoginRequest(f"probe {n}", "invalid", real_account=True,
                                          json={"email": ACCOUNT.email, "password": {"$ne": n}}), 400, "INVALID")
    _through(book, fake, _wrong(20), 423, "ACCOUNT_LOCKED", lock=True, retry_after=1.0)
    _through(book, fake, _wrong(21))  # waited out, not held: the lock's count is not known to outlive it
    assert book.lock_answers == 2 and len(fake.sleeps) == 2


def test_one_request_per_lock_period_reaches_a_locked_identifier():
    book, fake = _book()
    for n in range(3):
        _through(book, fake, _unknown(n))
    _through(book, fake, _unknown(3), 423, "ACCOUNT_LOCKED", lock=True, retry_after=1.0)
    fake.now += 2  # the lock has run out: the next request is the probe, the others wait for its answer
    order = []

    async def a_probe_and_a_second_request():
        async with book.turn(_unknown(2), 30.0) as ticket:
            waiting = asyncio.ensure_future(_through_book(book, fake, _unknown(3)))
            for _ in range(20):  # the second request gets as far as it can
                await asyncio.sleep(0)
            assert not waiting.done()  # held while the probe is on the wire
            order.append("probe answered")
            ticket.answered(exchange(401, {"error": "NO_SUCH_USER"}), lock=False, retry_after=None,
                            received_at=fake.now)
        await waiting
        order.append("second")

    from helpers import exchange

    asyncio.run(a_probe_and_a_second_request())
    assert order == ["probe answered", "second"]


def test_a_declared_policy_spreads_the_failed_logins_over_its_window():
    book, fake = _book(LockoutPolicy(3, 10.0))
    start = fake.now
    _through(book, fake, _wrong(0))
    fake.now += 5
    _through(book, fake, _wrong(1))
    _through(book, fake, _wrong(2))  # a third within 10 s would lock: it waits until the first leaves the window
    assert fake.sleeps == [pytest.approx(with_margin(10.0) - 5)]
    assert fake.now == pytest.approx(start + with_margin(10.0))
    with pytest.raises(Held, match=r"3 failed logins within 10 s lock an identifier \(declared.*raise "
                                   r"--max-retry-wait"):
        _through(book, fake, _wrong(3), allowance=1.0)
    _through(book, fake, _unknown(0))  # per identifier


def test_a_declared_policy_says_how_long_a_lock_without_retry_after_lasts():
    book, fake = _book(LockoutPolicy(6, 4.0))
    _through(book, fake, _unknown(0))
    _through(book, fake, _unknown(1), 403, "USER_FORBIDDEN", lock=True)
    _through(book, fake, _unknown(2))  # waited the window out, then sent
    assert fake.sleeps == [pytest.approx(with_margin(4.0))]


# -- recognising a lock ---------------------------------------------------------------------------------------------
def test_user_forbidden_after_failures_locks_any_identifier_but_not_one_forbidden_from_the_start():
    state = {"failures": 0}

    def handler(request):
        body = json.loads(request.content)
        if body["email"] == "disabled@example.com":
            return _answer(403, {"error": "USER_FORBIDDEN"})
        if state["failures"] >= 3:
            return _answer(403, {"error": "USER_FORBIDDEN"})
        state["failures"] += 1
        return _answer(401, {"error": "NO_SUCH_USER"})

    fake = FakeTime()
    client = fake.on(_client(handler))
    for n in range(3):
        assert client.send(_unknown(n)).status == 401
    with pytest.raises(AccountLocked, match="this identifier is locked out .*USER_FORBIDDEN.*no Retry-After"):
        client.send(_unknown(3))
    with pytest.raises(AccountLocked, match="for the rest of the run"):
        client.send(_unknown(4))  # not sent: the lock is left alone
    # the locked identifier was replaced by a fresh one (stand_ins.py), forbidden at its first request as well: the
    # same lock (this target counts every identifier together), recognised, and not replaced again
    assert client.locked_out == client.lock_answers == 2 and client.requests_sent == 5
    for n in range(3):  # forbidden from its first answer on: a disabled account, the answer is the test's
        assert client.send(_unknown(n, "disabled@example.com")).error == "USER_FORBIDDEN"
    assert client.locked_out == 2  # (none more)
    client.close()


# -- at the server: a measuring proxy in front of reference policies ------------------------------------------------
def _measured_run(tmp_path, service, *args: str, knobs=(), variant=None):
    """One default suite run through the measuring proxy in front of *service* (or the reference with *knobs*, or a
    *variant*); (measured, report, output)."""
    measured = Measured(account=DEMO_EMAIL, password=DEMO_PASSWORD)
    env = _clean_env(dict(os.environ))
    env.update(LOGIN_EMAIL=DEMO_EMAIL, LOGIN_PASSWORD=DEMO_PASSWORD)
    out = tmp_path / "out"
    with start_reference_server(service=service, knobs=knobs, variant=variant) as server, \
            MeasuringProxy(server.url, measured) as proxy:
        proc = subprocess.run([sys.executable, "-m", "pytest", *SUITE, "-p", "no:randomly", f"--base-url={proxy.url}",
                               f"--report-dir={out}", *args],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=400)
    report = json.loads((out / "conformance.json").read_text(encoding="utf-8"))
    return measured, report, proc.stdout


def _lockout(name: str, **policy) -> LoginService:
    return {"lockout-sliding": LockoutSliding, "lockout-forbidden": LockoutForbidden}[name]().configure(**policy)


@pytest.mark.parametrize("variant, policy, lock_seconds", [
    ("lockout-sliding", "10/6s", 2.0),
    ("lockout-forbidden", "6/4s", 4.0),
])
def test_a_declared_policy_keeps_every_identifier_unlocked(tmp_path, variant, policy, lock_seconds):
    failures, window = policy.rstrip("s").split("/")
    service = _lockout(variant, lock_after=int(failures), window=float(window), lock_seconds=lock_seconds)
    measured, report, output = _measured_run(tmp_path, service, f"--lockout-policy={policy}", "--max-retry-wait=30")
    assert measured.broken_promises(report["run"], lock_seconds=lock_seconds) == [], output[-2000:]
    assert measured.lock_answers() == [], output[-2000:]


@pytest.mark.parametrize("request_, identifier", [
    (LoginRequest("p", "failure", json={"email": " Someone@Example.com ", "password": "x"}), "someone@example.com"),
    (LoginRequest("p", "failure", json={"username": "someone"}), "someone"),
    (LoginRequest("p", "invalid", raw=b'{"email": "first@x.test", "email": "last@x.test"}'), "last@x.test"),
    (LoginRequest("p", "invalid", form=[("email", "DEMO@example.com")]), "<the configured account>"),
    (LoginRequest("p", "invalid", json={"email": ACCOUNT.email.upper(), "password": 1}), "<the configured account>"),
    (LoginRequest("p", "invalid", raw=b"\xff{"), None),
    (LoginRequest("p", "invalid", json=[{"email": "a@b.c"}]), None),
    (LoginRequest("p", "invalid", json={"email": 7}), None),
])
def test_the_identifier_a_request_names(request_, identifier):
    from contract_tests.sending.locks import identifier_of

    assert identifier_of(request_, ACCOUNT.email) == identifier


# -- the policies themselves ----------------------------------------------------------------------------------------
def _post(http, email, password):
    return http.post("/api/user/login", json={"email": email, "password": password})


def test_the_sliding_policy_keeps_counting_through_the_lock_and_answers_429_with_retry_after():
    service = LockoutSliding().configure(lock_after=3, window=60.0, lock_seconds=30.0)
    with start_reference_server(service=service) as server, httpx.Client(base_url=server.url) as http:
        for _ in range(3):
            assert _post(http, DEMO_EMAIL, "x").status_code == 401
        locked = _post(http, DEMO_EMAIL, DEMO_PASSWORD)
        assert (locked.status_code, locked.json()["error"], locked.headers["retry-after"]) == (
            429, "TOO_MANY_FAILED_ATTEMPTS", "30")
        service.locked_until = {key: 0.0 for key in service.locked_until}  # the lock has run out ...
        assert _post(http, DEMO_EMAIL, DEMO_PASSWORD).status_code == 201  # (a success resets nothing)
        assert _post(http, DEMO_EMAIL, "x").status_code == 401  # ... the failures in the window still count:
        assert _post(http, DEMO_EMAIL, DEMO_PASSWORD).status_code == 429  # locked again


def test_the_forbidding_policy_locks_any_identifier_with_user_forbidden_and_no_retry_after():
    service = LockoutForbidden().configure(lock_after=2, window=60.0, lock_seconds=30.0)
    with start_reference_server(service=service) as server, httpx.Client(base_url=server.url) as http:
        for email in ("nobody@example.com", DEMO_EMAIL):
            for _ in range(2):
                assert _post(http, email, "x").status_code == 401
            locked = _post(http, email, DEMO_PASSWORD)
            assert (locked.status_code, locked.json()["error"], "retry-after" in locked.headers) == (
                403, "USER_FORBIDDEN", False)


# -- xdist: the workers share the pause and the locks ----------------------------------------------------------------
def test_xdist_workers_share_the_pause_and_the_locks(tmp_path):
    from contract_tests.sending.client import SharedTally

    fake = FakeTime()  # one monotonic clock, as the processes of one machine share
    seen = {"a": [], "b": []}

    def server(name, answer):
        def handler(request):
            seen[name].append(json.loads(request.content)["email"])
            return answer(request)
        return handler

    limited = _answer(429, {"error": "RATE_LIMITED"}, {"Retry-After": "3"})
    a = fake.on(_client(server("a", lambda r: limited), max_retries=0))
    b = fake.on(_client(server("b", lambda r: _answer(401, {"error": "NO_SUCH_USER"}))))
    tally = str(tmp_path / "tally.json")
    a.shared, b.shared = SharedTally(tally), SharedTally(tally)
    with pytest.raises(RateLimited):
        a.send(_unknown(1))
    b.send(_unknown(2, "other@example.com"))  # the other worker waits out the pause the first one met
    assert fake.sleeps == waits(3.0)

    locked = _answer(423, {"error": "ACCOUNT_LOCKED"}, {"Retry-After": "900"})
    a = fake.on(_client(server("a", lambda r: locked)))
    a.shared = SharedTally(tally)
    with pytest.raises(AccountLocked):
        a.send(_wrong(1))
    with pytest.raises(AccountLocked, match="locked out by the target for about 9\\d\\d s more"):
        b.send(_wrong(2))  # nothing is sent to the account the other worker found locked
    assert seen["b"] == ["other@example.com"]


def test_a_pause_another_worker_begins_while_a_request_is_about_to_go_holds_it_too(tmp_path):
    """The last look right before a request goes reads the other workers' pause: a 429 another xdist worker received
    after this request had waited out the pauses it knew of still holds it."""
    from contract_tests.sending.client import SharedTally

    fake = FakeTime()
    arrived = []

    def handler(request):
        arrived.append(fake.now)
        return _answer(401, {"error": "NO_SUCH_USER"})

    tally = str(tmp_path / "tally.json")
    worker = fake.on(_client(handler))
    worker.shared = SharedTally(tally)
    other = SharedTally(tally)
    honour, began = worker._honour_pause, []

    async def then_the_other_worker_is_answered_429(allowance):
        await honour(allowance)
        if not began:  # between this worker's wait and its send: the other's pause until 3 s from now
            began.append(fake.now)
            other.raise_to("pause_until", fake.now + with_margin(3.0))

    worker._honour_pause = then_the_other_worker_is_answered_429
    start = fake.now
    worker.send(_unknown(1))
    assert arrived == [pytest.approx(start + with_margin(3.0))]  # sent once, after the other worker's pause
    worker.close()
