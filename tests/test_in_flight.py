"""Requests in flight (--in-flight): the plan of requests sent ahead, the client's one event loop keeping every
budget exact and pausing every request in flight on a 429, and verdicts that do not depend on the concurrency."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import subprocess
import sys
import threading
from types import SimpleNamespace

import httpx
import pytest

from contract_tests import declared
from contract_tests.judging import verdicts
from contract_tests.sending.client import BudgetSpent
from contract_tests.sending.errors import RunStopped
from contract_tests.sending.exchange import Exchange, LoginRequest
from test_client import ACCOUNT, _client, waits
from test_gate import SUITE, _clean_env


def _request(n: int, **fields) -> LoginRequest:
    return LoginRequest(purpose=f"request {n}", expect="failure",
                        json={"email": f"nobody-{n}@example.com", "password": "Some-Passw0rd!", "n": n}, **fields)


def _outcomes(client, count: int) -> list:
    """What was sent ahead for the requests planned under t0, t1, ...: waits for each. The requests naming the account
    go in their test's turn (ahead.py): their turns are opened together here (each test's turn opens when it is the
    running one, and stays open), as one test's requests (a fuzzing property's examples) go together, so the gate
    meets them in flight together."""
    for n in range(count):
        client.plan_key = f"t{n}"
    client.plan_key = None
    return [client.answered_ahead(f"t{n}")[0] for n in range(count)]


def _refusal(request: httpx.Request) -> httpx.Response:
    return httpx.Response(401, json={"error": "NO_SUCH_USER"})


# -- the requests in flight on the client's loop --------------------------------------------------------------------
def test_the_request_cap_is_exact_with_requests_in_flight():
    seen = []
    client = _client(lambda r: seen.append(r) or _refusal(r), max_requests=5, in_flight=4)
    client.send_ahead([(f"t{n}", _request(n)) for n in range(10)])
    outcomes = _outcomes(client, 10)
    assert len(seen) == client.requests_sent == 5
    assert sum(isinstance(o, Exchange) for o in outcomes) == 5
    assert sum(isinstance(o, BudgetSpent) for o in outcomes) == 5
    client.close()


def test_a_429_pauses_every_request_in_flight_and_is_counted_once():
    released = threading.Event()  # set when the 429's back-off begins
    answered_429 = []

    async def handler(request: httpx.Request) -> httpx.Response:
        n = json.loads(request.content)["n"]
        if n == 0 and not answered_429:
            answered_429.append(n)
            return httpx.Response(429, headers={"Retry-After": "3"}, json={"error": "RATE_LIMITED"})
        while n in (1, 2, 3) and not released.is_set():  # in flight while the 429 comes back
            await asyncio.sleep(0.001)
        return _refusal(request)

    sleeps: list[float] = []

    def sleep(seconds: float) -> None:  # records; time does not pass, so the pause stays in force
        sleeps.append(seconds)
        released.set()

    client = _client(handler, in_flight=4)
    client._sleep = sleep
    client.send_ahead([(f"t{n}", _request(n)) for n in range(8)])
    outcomes = _outcomes(client, 8)
    assert all(isinstance(o, Exchange) and o.status == 401 for o in outcomes)
    assert outcomes[0].attempts == 2 and outcomes[0].retried[0].status == 429
    assert client.rate_limited == 1 and client.requests_sent == 9
    assert client.backoff_seconds == pytest.approx(3.0)  # the pause, counted once however many requests waited in it
    # a wait before each request sent after it began (4..7 and the retry at least), each the whole pause
    assert sum(1 for s in sleeps if s > 3.0) >= 5
    client.close()


def test_a_sequential_retry_waits_the_pause_once():
    answers = iter([httpx.Response(429, headers={"Retry-After": "2"}, json={"error": "RATE_LIMITED"}),
                    httpx.Response(401, json={"error": "NO_SUCH_USER"})])
    sleeps: list[float] = []
    client = _client(lambda r: next(answers), sleeps, in_flight=1)
    assert client.send(_request(1)).status == 401
    assert sleeps == waits(2.0)  # the pause the 429 started, waited by its retry, once
    client.close()


def test_an_answer_sent_ahead_is_judged_when_its_test_asks_for_it():
    seen, observed = [], []
    client = _client(lambda r: seen.append(r) or _refusal(r), in_flight=4)
    client.observer = observed.append
    client.send_ahead([("test_a", _request(1)), ("test_b", _request(2))])
    client.answered_ahead("test_a"), client.answered_ahead("test_b")
    assert len(seen) == 2 and observed == []  # sent, not judged yet
    client.plan_key = "test_b"
    ex = client.send(_request(2))
    assert ex.sent_ahead and ex.request.json["n"] == 2 and observed == [ex] and len(seen) == 2
    client.plan_key = "test_a"
    again = client.send(_request(2))  # not test_a's planned request: sent now
    assert not again.sent_ahead and len(seen) == 3
    client.discard_ahead("test_a")
    assert client.unused_ahead == 1 and client.sent_ahead == 2
    client.close()


def _until(condition, timeout: float = 5.0) -> None:
    """Wait until *condition()* holds (a state another thread reaches), or fail."""
    done = threading.Event()
    for _ in range(int(timeout / 0.002)):
        if condition():
            return
        done.wait(0.002)
    raise AssertionError("condition not reached")


def test_every_request_is_a_task_on_the_clients_one_loop():
    """A test's own requests and those sent ahead all go from the client's one loop thread: no thread per request."""
    senders = set()

    async def handler(request: httpx.Request) -> httpx.Response:
        senders.add(threading.current_thread())
        await asyncio.sleep(0.001)  # on the wire a while: the others overlap it
        return _refusal(request)

    client = _client(handler, in_flight=8)
    threads = set(threading.enumerate())  # the client's loop thread among them
    client.send_ahead([(f"t{n}", _request(n)) for n in range(16)])
    client.send(_request(99))  # the running test's own
    assert all(isinstance(o, Exchange) for o in _outcomes(client, 16))
    assert set(threading.enumerate()) - threads == set()  # none started for sending
    assert len(senders) == 1 and senders <= threads and threading.main_thread() not in senders
    client.close()


def test_the_queue_sends_in_plan_order_except_what_a_test_waits_for_now():
    from contract_tests.sending.ahead_queue import AheadQueue
    from contract_tests.sending.event_loop import EventLoop

    started, gate = [], threading.Event()
    loop = EventLoop()
    queue = AheadQueue(loop, 1)

    async def job(n):
        started.append(n)
        while n == 0 and not gate.is_set():  # holds the one place while the rest is queued
            await asyncio.sleep(0.001)
        return n

    futures = [queue.submit(lambda: job(0))]
    _until(lambda: started == [0])
    futures += [queue.submit(lambda n=n: job(n)) for n in range(1, 5)]
    urgent = queue.submit(lambda: job("together"), urgent=True)
    queue.hurry(futures[3])  # a test waits for it: next, before what was only planned
    assert futures[4].cancel()  # its test did not ask for it: never sent
    gate.set()
    assert [f.result(5) for f in futures[:4]] == [0, 1, 2, 3] and urgent.result(5) == "together"
    assert started == [0, 3, "together", 1, 2]

    async def failing():
        return 1 / 0

    with pytest.raises(ZeroDivisionError):
        queue.submit(failing).result(5)
    queue.close()
    with pytest.raises(RuntimeError):
        queue.submit(lambda: job(9))
    loop.close()


def test_closing_the_queue_cancels_what_is_queued_and_abandons_what_is_in_flight():
    from contract_tests.sending.ahead_queue import AheadQueue
    from contract_tests.sending.event_loop import EventLoop

    loop = EventLoop()
    queue = AheadQueue(loop, 1)
    running = queue.submit(lambda: asyncio.Event().wait())  # never ends by itself
    queued = queue.submit(lambda: asyncio.sleep(0, "never"))
    parked = queue.submit(lambda: asyncio.sleep(0, "never"), turn="a test that never runs")
    _until(running.running)
    assert queue.started == 1
    queue.close()
    with pytest.raises(asyncio.CancelledError):
        running.result(5)
    assert queued.cancelled() and parked.cancelled() and _until(lambda: queue.started == 0) is None
    loop.close()


def test_closing_the_queue_answers_whoever_waits_for_a_started_request_at_once():
    """Closing ends the wait for a request already started at once, even when the request takes its time to end once
    cancelled (a transport closing): the client's loop may be stopped before it has run the request to its end."""
    from contract_tests.sending.ahead_queue import AheadQueue
    from contract_tests.sending.event_loop import EventLoop

    loop = EventLoop()
    queue = AheadQueue(loop, 1)

    async def slow_to_end():
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await asyncio.sleep(30)
            raise

    running = queue.submit(slow_to_end)
    _until(running.running)
    queue.close()
    with pytest.raises((asyncio.CancelledError, concurrent.futures.CancelledError)):
        running.result(5)  # not 30 s later, nor never
    loop.close()


def test_closing_the_client_abandons_requests_in_flight_instead_of_waiting_for_their_timeout():
    """An interrupted run against a hanging target ends at once (CI runners kill a few seconds after SIGTERM)."""
    arrived = threading.Event()

    async def hangs(request: httpx.Request) -> httpx.Response:
        arrived.set()
        await asyncio.Event().wait()  # never answers
        raise AssertionError("unreachable")

    client = _client(hangs, in_flight=4, timeout=600)
    client.send_ahead([("test_a", _request(1)), ("test_b", _request(2))])
    assert arrived.wait(10)
    closing = threading.Thread(target=client.close)
    closing.start()
    closing.join(30)  # the request timeout is 600 s: only abandoning it ends this
    assert not closing.is_alive()
    for key in ("test_a", "test_b"):  # abandoned: done at once (a request not done would time out here)
        with pytest.raises((asyncio.CancelledError, concurrent.futures.CancelledError)):
            client.answered_ahead(key, timeout=0)
    with pytest.raises(RunStopped, match="the run is over"):
        client.send(_request(3))  # closed: nothing more is sent
    client.plan_key = "test_c"  # a test's turn after the close (an interrupted run's last teardown): nothing to open
    with pytest.raises(RuntimeError, match="closed"):
        client.send_ahead([("test_c", _request(4))])


def test_closing_ends_every_request_waiting_on_the_loop():
    """A paced run (--request-interval) that ends with requests queued at the pacing: closing cancels every request
    waiting there (the client's own sleep, an await on its loop, not an injected one): none is still asleep when the
    interpreter tears down (one that woke then aborted a rehearsal run: SIGABRT, no output, no report)."""
    from contract_tests.sending.client import ClientLimits, ContractClient
    from contract_tests.sending.secrets import Redactor

    seen = []
    client = ContractClient("http://target.test", Redactor(), ClientLimits(in_flight=8, pace=30.0), account=ACCOUNT,
                            transport=httpx.MockTransport(lambda r: seen.append(r) or _refusal(r)))
    client.send_ahead([(f"t{n}", _request(n)) for n in range(16)])
    assert isinstance(client.answered_ahead("t0")[0], Exchange)  # the first request went, the next wait 30 s each
    client.close()
    for n in range(1, 16):  # done at once (a request still asleep would time out here)
        with pytest.raises((asyncio.CancelledError, concurrent.futures.CancelledError)):
            client.answered_ahead(f"t{n}", timeout=0)
    assert len(seen) == 1 and not client._loop.loop.is_running()


def test_a_request_the_running_test_sends_itself_takes_the_next_free_slot():
    arrived, release = [], threading.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        n = json.loads(request.content)["n"]
        arrived.append(n)
        while n == 0 and not release.is_set():  # on the wire until the test's own request waits for its slot
            await asyncio.sleep(0.001)
        return _refusal(request)

    client = _client(handler, in_flight=1)
    client.send_ahead([(f"t{n}", _request(n)) for n in range(4)])  # request 0 holds the one slot
    _until(lambda: arrived == [0])

    def release_once_the_test_waits():
        _until(lambda: client._wanted_now == 1)
        release.set()

    threading.Thread(target=release_once_the_test_waits).start()
    client.send(_request(99))  # the main thread: first once request 0 is answered, before 1, 2 and 3
    _outcomes(client, 4)
    assert arrived[:2] == [0, 99] and sorted(arrived[2:]) == [1, 2, 3]
    client.close()


class _AccountServer:
    """Answers the right password with a token, anything else with a refusal, each after a short wait (so requests
    overlap), and records what it saw in its own order and how many requests were in flight at once."""

    def __init__(self) -> None:
        self.order: list[str] = []  # "ok" / "fail" / "other", in the order the answers were produced
        self.in_flight: list[str] = []
        self.overlaps: list[tuple[str, ...]] = []  # the kinds in flight whenever a request arrived

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        kind = ("other" if body.get("email") != ACCOUNT.email else
                "ok" if body.get("password") == ACCOUNT.password.value else "fail")
        self.in_flight.append(kind)
        self.overlaps.append(tuple(self.in_flight))
        await asyncio.sleep(0.005)
        self.in_flight.remove(kind)
        self.order.append(kind)
        if kind == "ok":
            return httpx.Response(201, json={"token": "aaa.bbb.ccc"})
        return httpx.Response(401, json={"error": "WRONG_PASSWORD"})


def _on_account(n: int, expect: str = "failure") -> LoginRequest:
    password = ACCOUNT.password if expect == "success" else f"Wrong-Passw0rd-{n}"
    return LoginRequest(purpose=f"account request {n}", expect=expect, real_account=True,
                        json={"email": ACCOUNT.email, "password": password, "n": n})


def test_failed_logins_sent_ahead_never_make_more_in_a_row_than_a_sequential_run():
    server = _AccountServer()
    client = _client(server, in_flight=8, interleave_every=3, failed_login_budget=20)
    planned = [(f"t{n}", _on_account(n)) for n in range(10)] + [(f"t{n}", _request(n)) for n in range(10, 16)]
    client.send_ahead(planned)
    outcomes = _outcomes(client, 16)
    assert all(isinstance(o, Exchange) for o in outcomes)
    streak = longest = 0
    for kind in server.order:  # the target's order: never more than 3 failures without a success between
        streak = streak + 1 if kind == "fail" else 0 if kind == "ok" else streak
        longest = max(longest, streak)
    assert longest == 3 and server.order.count("fail") == 10 and server.order.count("ok") == 3
    assert max(seen.count("fail") for seen in server.overlaps) > 1  # failures did go together (up to 3)
    assert not any("ok" in seen and "fail" in seen for seen in server.overlaps)  # never with a success in flight
    assert any(seen.count("other") > 1 for seen in server.overlaps)
    # counted in the budget when their tests take them, in test order
    assert client.failed_logins == 0
    for n in range(10):
        client.plan_key = f"t{n}"
        ex = client.send(_on_account(n))
        assert ex.sent_ahead and client.failed_logins == n + 1
    client.close()


def test_the_failed_login_budget_is_exact_with_requests_in_flight():
    server = _AccountServer()
    client = _client(server, in_flight=8, interleave_every=3, failed_login_budget=5)
    client.send_ahead([(f"t{n}", _on_account(n)) for n in range(9)])
    outcomes = _outcomes(client, 9)
    assert server.order.count("fail") == 5  # the target saw exactly the budget
    assert sum(isinstance(o, BudgetSpent) for o in outcomes) == 4
    with pytest.raises(BudgetSpent):  # a test's own request finds the units held by the answers not yet taken
        client.send(_on_account(99))
    assert server.order.count("fail") == 5
    for n in range(9):
        client.discard_ahead(f"t{n}")  # dropped unused: the failed logins they were are counted all the same
    assert client.failed_logins == 5 and client._gate.held == 0
    client.close()


def test_possible_failures_that_log_in_give_their_unit_back_before_the_budget_is_judged():
    """Right credentials the target may refuse ("any": schema-invalid extras, renamed fields) hold a unit while in
    flight; with fewer units left than may be in flight, the next one waits for their answers instead of finding the
    budget spent, as a sequential run would."""
    server = _AccountServer()
    client = _client(server, in_flight=8, interleave_every=3, failed_login_budget=2)
    right = [LoginRequest(purpose=f"right credentials {n}", expect="any", real_account=True,
                          json={"email": ACCOUNT.email, "password": ACCOUNT.password, "n": n}) for n in range(6)]
    client.send_ahead([(f"t{n}", request) for n, request in enumerate(right)])
    outcomes = _outcomes(client, 6)
    assert all(isinstance(o, Exchange) and o.token for o in outcomes)
    assert max(seen.count("ok") for seen in server.overlaps) <= 2  # never more in flight than the units left
    assert client.failed_logins == 0 and client._gate.held == 0
    client.close()


def test_successful_logins_on_the_account_go_ahead_together():
    server = _AccountServer()
    client = _client(server, in_flight=8)
    client.send_ahead([(f"t{n}", _on_account(n, "success")) for n in range(8)])
    outcomes = _outcomes(client, 8)
    assert all(o.token for o in outcomes) and max(seen.count("ok") for seen in server.overlaps) > 1
    assert client.failed_logins == 0
    client.close()


# -- the declared requests -------------------------------------------------------------------------------------------
def _item(factory, params=None):
    """A stand-in for a collected test declaring *factory*'s requests (only what declared.py reads of an item)."""
    def test_case(exchange):
        pass

    mark = declared.sends(factory)(test_case).pytestmark[0]
    return SimpleNamespace(get_closest_marker=lambda name: mark if name == declared.MARKER else None,
                           callspec=SimpleNamespace(params=params or {}))


KNOWN = {"unknown_email": "nobody@example.com", "account": ACCOUNT, "configured_account": ACCOUNT}


def test_declared_requests_are_built_from_parameters_and_known_values_without_running_the_test():
    request = LoginRequest("x", "invalid")
    built = declared.planned_requests(_item(lambda unknown_email, kind: LoginRequest(
        f"{kind} body", "invalid", json={"email": unknown_email, "kind": kind}), {"kind": "array"}), KNOWN)
    assert [(r.purpose, r.json) for r in built] == [("array body", {"email": "nobody@example.com", "kind": "array"})]
    assert declared.planned_requests(_item(lambda: [request, request]), KNOWN) == [request, request]
    assert declared.planned_requests(_item(lambda configured_account: None), KNOWN) == []  # nothing to send


def test_a_request_built_from_a_value_not_known_yet_is_left_to_its_test():
    def needs_a_token(session_login):
        return LoginRequest("with the token", "any", headers={"Authorization": f"Bearer {session_login.token}"})

    assert declared.planned_requests(_item(needs_a_token), KNOWN) is None
    login = SimpleNamespace(token="t")
    assert declared.planned_requests(_item(needs_a_token), {**KNOWN, "session_login": login})[0].headers == {
        "Authorization": "Bearer t"}  # once the session fixture is set up, the plan builds it


def test_a_request_naming_the_account_that_may_fail_is_marked_as_spending_the_budget():
    built = declared.planned_requests(_item(lambda account: LoginRequest(
        "the account without password", "invalid", json={"email": account.email}, real_account=True)), KNOWN)
    assert built[0].real_account and built[0].spends_budget  # plan(..., failed_logins=False) leaves it to its test
    success = LoginRequest("right credentials", "success", json=ACCOUNT.body(), real_account=True)
    assert not success.spends_budget


def test_a_factory_that_finds_its_check_not_applicable_is_left_to_its_test_and_records_nothing():
    def not_here(account):
        verdicts.not_applicable("not with this account")

    ledger = verdicts.Ledger()
    running = verdicts.TestContext("suite/test_x.py::test_x", ("AUTH-01",))
    with ledger.running(running):
        assert declared.planned_requests(_item(not_here), KNOWN) is None
        assert declared.planned_requests(_item(not_here), {}) is None
        assert ledger.current is running
    assert running.observations == [] and running.exchanges == [] and ledger.take_held() == []


def test_the_factory_arguments_become_the_test_fixtures():
    """A test declaring its requests asks for what its factory needs, parameters included, whether or not its body
    reads them (pytest would refuse a parameter the test does not use)."""
    def test_case(exchange, origin):
        return exchange, origin

    wrapped = declared.sends(lambda unknown_email, origin, method: None)(test_case)
    import inspect

    assert list(inspect.signature(wrapped).parameters) == ["exchange", "origin", "unknown_email", "method"]
    assert wrapped("ex", "o", unknown_email="u", method="m") == ("ex", "o")
    assert wrapped.pytestmark[0].name == declared.MARKER


# -- end to end: the same verdicts whatever the concurrency -----------------------------------------------------------
def _run(tmp_path, name: str, *args: str) -> dict:
    env = _clean_env(dict(os.environ))
    for key in ("LOGIN_EMAIL", "LOGIN_PASSWORD"):
        env.pop(key, None)
    out = tmp_path / name
    subprocess.run([sys.executable, "-m", "pytest", *SUITE, "-p", "no:randomly", f"--report-dir={out}",
                    f"--har={out / 'exchanges.har'}", *args],
                   cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    report = json.loads((out / "conformance.json").read_text(encoding="utf-8"))
    har = json.loads((out / "exchanges.har").read_text(encoding="utf-8"))
    report["sent"] = sorted(entry["request"].get("comment", "") for entry in har["log"]["entries"])
    return report


@pytest.mark.parametrize("target", [
    (),  # a conforming target: every request the same (below), fuzzing examples included
    ("--reference-fault=html-401,no-cache-control,sqli-email",),  # findings, some held for their own items
    ("--reference-variant=nginx-front",),  # HTML 429s without Retry-After: the pool pauses and backs off
])
def test_verdicts_and_requests_do_not_depend_on_the_concurrency(tmp_path, target):
    ahead = _run(tmp_path, "ahead", *target)
    sequential = _run(tmp_path, "sequential", *target, "--in-flight=1")
    assert ahead["run"]["sent_ahead"] > 100 and ahead["run"]["in_flight"] == 8
    assert sequential["run"]["sent_ahead"] == 0
    verdicts_of = lambda report: {r["id"]: (r["verdict"], r.get("failed_level")) for r in report["requirements"]}
    assert verdicts_of(ahead) == verdicts_of(sequential)
    # the same hand-written requests, each once (retried: how many answers were 429s depends on how fast the requests
    # came). Not compared: the fuzzing properties' examples after a failure (sent ahead, then not needed; shrinking
    # may take one of them instead of another) and the interleaved logins (one more when such an unneeded example
    # was a failed login on the account: the gate counts what the target saw)
    hand_written = lambda report: [purpose for purpose in dict.fromkeys(report["sent"])
                                   if not purpose.startswith(("fuzz:", "interleaved successful login"))]
    assert hand_written(ahead) == hand_written(sequential)
    assert len(hand_written(ahead)) > 100
    if not target:  # nothing fails, nothing is rate limited: the very same requests, fuzzing examples included
        every = lambda report: [p for p in report["sent"] if not p.startswith("interleaved successful login")]
        assert every(ahead) == every(sequential) and ahead["run"]["unused_ahead"] == 0


def test_after_a_429_the_rest_of_the_run_is_sent_one_request_at_a_time():
    in_flight, most_after_429, seen_429 = [0], [0], []

    async def handler(request: httpx.Request) -> httpx.Response:
        n = json.loads(request.content)["n"]
        in_flight[0] += 1
        try:
            if seen_429:
                most_after_429[0] = max(most_after_429[0], in_flight[0])
            await asyncio.sleep(0.005)
            if n == 3 and not seen_429:
                seen_429.append(n)
                return httpx.Response(429, headers={"Retry-After": "1"}, json={"error": "RATE_LIMITED"})
            return _refusal(request)
        finally:
            in_flight[0] -= 1

    client = _client(handler, in_flight=4)
    client.send_ahead([(f"t{n}", _request(n)) for n in range(16)])
    _outcomes(client, 16)
    assert seen_429 and client.rate_limited == 1
    most_after_429[0] = 0
    client.send_ahead([(f"u{n}", _request(100 + n)) for n in range(8)])
    [client.answered_ahead(f"u{n}") for n in range(8)]
    assert most_after_429[0] == 1  # the target asked to slow down: what is sent ahead later goes one at a time
    client.close()
