"""Identifiers held for the rest of the run: a fresh stand-in for the ones the suite invents (sending/stand_ins.py, the
lock book's map in sending/locks/stand_in_map.py), the requests naming the account in the run's order (the ahead
queue's turns: sending/ahead_queue.py; under xdist sending/run_order.py: tests/test_run_order.py), a session
fixture's request once per run (sending/run_once.py)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from test_client import ACCOUNT, _answer, _client

from contract_tests.sending.ahead_queue import AheadQueue
from contract_tests.sending.client import AccountLocked, SharedTally
from contract_tests.sending.event_loop import EventLoop
from contract_tests.sending.exchange import LoginRequest, Members
from contract_tests.sending.locks import identifier_of
from contract_tests.sending.run_once import RunOnce
from contract_tests.sending.secrets import Redactor
from contract_tests.sending.stand_ins import fresh_identifier, renamed

pytestmark = pytest.mark.unit

UNKNOWN = "conformance-unknown@example.com"


def _unknown(expect: str = "failure", email: str = UNKNOWN, **fields) -> LoginRequest:
    return LoginRequest("an account that does not exist", expect, json={"email": email, "password": "x", **fields})


# -- the stand-in and the request naming it --------------------------------------------------------------------------
def test_a_fresh_identifier_is_one_not_taken():
    taken = {"a-fresh1@example.com", "a-fresh2@example.com"}
    assert fresh_identifier("a@example.com", taken.__contains__) == "a-fresh3@example.com"
    assert fresh_identifier("someone", lambda _: False) == "someone-fresh1"  # no @: at the end


@pytest.mark.parametrize("request_, sent", [
    (_unknown(), {"email": "conformance-unknown-fresh1@example.com", "password": "x"}),
    # the blanks and the letter case a probe varies are kept; a member naming no one is not touched
    (LoginRequest("p", "invalid", json={"email": " Conformance-Unknown@Example.com ", "note": UNKNOWN}),
     {"email": " conformance-unknown-fresh1@example.com ", "note": UNKNOWN}),
    (LoginRequest("p", "failure", json={"username": UNKNOWN, "password": "x"}),
     {"username": "conformance-unknown-fresh1@example.com", "password": "x"}),
])
def test_a_request_is_renamed_where_it_names_the_identifier(request_, sent):
    fresh = "conformance-unknown-fresh1@example.com"
    rewritten = renamed(request_, UNKNOWN, fresh)
    assert rewritten.json == sent and identifier_of(rewritten) == fresh
    assert (rewritten.purpose, rewritten.expect) == (request_.purpose, request_.expect) and request_.json != sent


def test_repeated_members_forms_and_hand_written_bodies_are_renamed_too():
    fresh = "conformance-unknown-fresh1@example.com"
    members = LoginRequest("p", "invalid", json=Members([("email", "first@x.test"), ("email", UNKNOWN)]))
    rewritten = renamed(members, UNKNOWN, fresh)
    assert isinstance(rewritten.json, Members) and rewritten.json.items() == [("email", "first@x.test"),
                                                                              ("email", fresh)]
    form = renamed(LoginRequest("p", "invalid", form=[("email", UNKNOWN), ("password", "x")]), UNKNOWN, fresh)
    assert form.form == [("email", fresh), ("password", "x")]
    raw = renamed(LoginRequest("p", "invalid", raw=b'{"email": "first@x.test", "email": "%s"}' % UNKNOWN.encode()),
                  UNKNOWN, fresh)
    assert raw.raw == b'{"email": "first@x.test", "email": "%s"}' % fresh.encode()


@pytest.mark.parametrize("request_", [
    LoginRequest("p", "invalid", raw=b'{"email": "conformance-unknown\\u0040example.com"}'),  # escaped: not found
    LoginRequest("p", "invalid", raw=b"\xff{"),
    LoginRequest("p", "invalid", multipart=[("email", UNKNOWN)]),
])
def test_a_body_that_cannot_be_rewritten_is_left_alone(request_):
    assert renamed(request_, UNKNOWN, "conformance-unknown-fresh1@example.com") is None


# -- the client: a fresh identifier after a lock that holds for the run ----------------------------------------------
class IdentifierLockout:
    """Any identifier: *lock_after* failed logins lock it for good (403 USER_FORBIDDEN, no Retry-After)."""

    def __init__(self, lock_after: int = 3, lock: tuple[int, str] = (403, "USER_FORBIDDEN")) -> None:
        self.lock_after, self.failures, self.seen = lock_after, {}, []
        self.lock = lock

    def __call__(self, request: httpx.Request) -> httpx.Response:
        email = json.loads(request.content).get("email")
        self.seen.append(email)
        if self.failures.get(email, 0) >= self.lock_after:
            return _answer(self.lock[0], {"error": self.lock[1]})
        if email == ACCOUNT.email and "Right-Passw0rd!" in request.content.decode():
            return httpx.Response(201, json={"token": "t.t.t", "user_uuid": "u"})
        self.failures[email] = self.failures.get(email, 0) + 1
        return _answer(401, {"error": "INVALID_CREDENTIALS"})

    def lock_answers(self, email: str) -> int:
        return max(0, self.seen.count(email) - self.lock_after)


def test_a_locked_unknown_identifier_is_replaced_by_a_fresh_one_for_the_rest_of_the_run():
    target = IdentifierLockout(lock_after=3)
    client = _client(target, max_retry_wait=5)
    answers = [client.send(_unknown()) for _ in range(8)]
    fresh = "conformance-unknown-fresh1@example.com"
    # the fourth met the lock (kept with the exchange, judged like any other), then went to a fresh identifier;
    # every check got the answer it needs, never a lock answer
    assert [a.status for a in answers] == [401] * 8
    assert [a.status for a in answers[3].retried] == [403] and answers[3].retried[0].backoff == "lockout"
    assert identifier_of(answers[3].request) == fresh and identifier_of(answers[2].request) == UNKNOWN
    assert target.lock_answers(UNKNOWN) == 1  # left alone after its lock
    # the stand-in learned the count from its predecessor's lock: replaced before it would lock, never locked
    assert target.seen.count(fresh) == 2 and target.lock_answers(fresh) == 0
    assert [identifier_of(a.request) for a in answers[5:]] == ["conformance-unknown-fresh2@example.com"] * 2 + [
        "conformance-unknown-fresh3@example.com"]
    assert client.locked_out == 1


def test_the_configured_account_is_never_replaced():
    target = IdentifierLockout(lock_after=1)
    client = _client(target, max_retry_wait=5)
    wrong = LoginRequest("wrong", "failure", real_account=True, json={"email": ACCOUNT.email, "password": "w"})
    client.send(wrong)
    with pytest.raises(AccountLocked, match="configured account"):
        client.send(LoginRequest("wrong again", "failure", real_account=True,
                                 json={"email": ACCOUNT.email, "password": "w2"}))
    # named by its address only (a probe), it is the account all the same: not replaced either
    with pytest.raises(AccountLocked):
        client.send(LoginRequest("probe", "invalid", json={"email": ACCOUNT.email.upper(), "password": 1}))
    assert set(target.seen) == {ACCOUNT.email} and client._locks.stand_ins == {}


def test_a_stand_in_is_never_the_accounts_address():
    target = IdentifierLockout(lock_after=1)
    client = _client(target, max_retry_wait=5)
    taken_by_account = "demo-fresh1@example.com"  # the account's address is what the first stand-in would be
    client._locks.account_email = taken_by_account
    client.send(_unknown(email="demo@example.com"))
    client.send(_unknown(email="demo@example.com"))
    assert taken_by_account not in target.seen and "demo-fresh2@example.com" in target.seen


def test_replacing_stops_when_a_fresh_identifier_is_locked_at_its_first_request():
    """A lock that is not the identifier's (every identifier locked, a block on the suite's address): one fresh
    identifier is tried, then the check is blocked, not sent a new identifier per request."""
    seen = []

    def handler(request):
        seen.append(json.loads(request.content)["email"])
        return _answer(423, {"error": "ACCOUNT_LOCKED"}, {"Retry-After": "900"})

    client = _client(handler, max_retry_wait=5)
    with pytest.raises(AccountLocked) as exc:
        client.send(_unknown())
    assert seen == [UNKNOWN, "conformance-unknown-fresh1@example.com"]
    assert [a.status for a in exc.value.answers] == [423, 423]  # both lock answers judged with the check
    with pytest.raises(AccountLocked):
        client.send(_unknown())
    assert len(seen) == 2  # both left alone


def test_an_unknown_identifier_locked_before_the_run_is_replaced_at_once():
    # locked for good before the run (an earlier run's failures); a 423 says so from the first answer on (a 403
    # USER_FORBIDDEN then could be a disabled account: the lock book reads it as a lock only after failures)
    target = IdentifierLockout(lock_after=3, lock=(423, "ACCOUNT_LOCKED"))
    target.failures[UNKNOWN] = 3
    client = _client(target, max_retry_wait=5)
    answer = client.send(_unknown())
    assert answer.status == 401 and identifier_of(answer.request) == "conformance-unknown-fresh1@example.com"


# -- the account's requests in the run's order ----------------------------------------------------------------------
def _noted(order: list, what: str):
    """A job for the queue: notes *what* when it runs."""
    async def job():
        order.append(what)
        return what

    return job


def test_a_job_with_a_turn_waits_parked_until_its_turn_opens():
    loop = EventLoop()
    queue = AheadQueue(loop, 1)
    order: list[str] = []
    later = queue.submit(_noted(order, "later test's account request"), turn="test 2")
    free = queue.submit(_noted(order, "a request naming no account"))
    free.result(timeout=5)
    assert order == ["a request naming no account"] and not later.done()  # parked, holding no place
    queue.open_turn("test 2")
    later.result(timeout=5)
    assert order[-1] == "later test's account request"
    hurried = queue.submit(_noted(order, "hurried"), turn="test 3")
    queue.hurry(hurried)  # its test asks for it now: its turn opens
    assert hurried.result(timeout=5) == "hurried"
    queue.close()
    loop.close()


def test_a_parked_job_of_a_test_that_ended_is_cancelled_on_close():
    loop = EventLoop()
    queue = AheadQueue(loop, 1)
    parked = queue.submit(_noted([], "parked"), turn="never")
    queue.submit(_noted([], "free")).result(timeout=5)
    queue.close()
    loop.close()
    assert parked.cancelled()


# -- a session fixture's request once per run -----------------------------------------------------------------------
def _once(tally_path):
    once = RunOnce()
    once.shared = SharedTally(tally_path)
    return once


def test_a_session_fixtures_request_is_sent_once_per_run_and_its_answer_shared(tmp_path):
    sent = []
    client = _client(lambda r: sent.append(r) or _answer(401, {"error": "INVALID_CREDENTIALS"},
                                                          {"WWW-Authenticate": "Bearer"}))
    path = str(tmp_path / "tally.json")
    request = LoginRequest("wrong", "failure", real_account=True, json={"email": ACCOUNT.email, "password": "w"})
    answers = []
    for worker in (_once(path), _once(path)):
        with worker.setting_up("wrong_password"):
            key = worker.key()
            answers.append(asyncio.run(worker.answer(key, request, lambda: client._outcome(request),
                                                     base_url=client.base_url, redactor=client.redactor,
                                                     stalled_after=5)))
    assert len(sent) == 1
    mine, taken = answers
    assert (taken.status, taken.headers["www-authenticate"], taken.body) == (401, "Bearer", mine.body)
    assert taken.counted  # counted in the run's budget by the worker that sent it, not twice


def test_an_answer_carrying_a_secret_is_not_shared(tmp_path):
    redactor = Redactor()
    redactor.add("Right-Passw0rd!")
    path = str(tmp_path / "tally.json")
    request = LoginRequest("wrong", "failure", real_account=True, json={"email": ACCOUNT.email, "password": "w"})
    echo = _client(lambda r: _answer(401, {"error": "INVALID_CREDENTIALS", "hint": "Right-Passw0rd!"}))
    echo.redactor = redactor
    sent = []
    for worker in (_once(path), _once(path)):
        with worker.setting_up("wrong_password"):
            asyncio.run(worker.answer(worker.key(), request, lambda: sent.append(1) or echo._outcome(request),
                                      base_url=echo.base_url, redactor=redactor, stalled_after=5))
    assert len(sent) == 2  # each sent its own
    assert "Right-Passw0rd!" not in (tmp_path / "tally.json").read_text(encoding="utf-8")


def test_outside_a_session_fixture_or_without_xdist_nothing_is_shared(tmp_path):
    worker = _once(str(tmp_path / "tally.json"))
    assert worker.key() is None
    alone = RunOnce()
    with alone.setting_up("wrong_password"):
        assert alone.key() is None
    with worker.setting_up("wrong_password"):
        assert (worker.key(), worker.key()) == ("once wrong_password 0", "once wrong_password 1")


def test_a_stand_in_forbidden_like_its_predecessor_meets_the_same_lock():
    """A policy that counts more than the identifier (every identifier together here): the fresh identifier's first
    answer is the lock its predecessor met after its failures, so it is read as that lock (never handed to a check as
    a disabled account's answer) and not replaced again."""
    failures = []

    def handler(request):
        if len(failures) >= 2:
            return _answer(403, {"error": "USER_FORBIDDEN"})
        failures.append(1)
        return _answer(401, {"error": "INVALID_CREDENTIALS"})

    client = _client(handler, max_retry_wait=5)
    assert [client.send(_unknown()).status for _ in range(2)] == [401, 401]
    with pytest.raises(AccountLocked, match="fresh identifier, in place of one the target had locked") as exc:
        client.send(_unknown())
    assert [a.status for a in exc.value.answers] == [403, 403] and client.locked_out == 2
    other = client.send(_unknown(email="someone-else@example.com"))  # not a stand-in: its own first answer
    assert other.status == 403 and other.backoff is None


def test_a_later_tests_request_naming_the_account_waits_for_its_turn_while_others_go_ahead():
    seen = []
    client = _client(lambda r: seen.append(json.loads(r.content)["email"]) or _answer(401, {"error": "NO"}),
                     in_flight=4)
    wrong = LoginRequest("wrong", "failure", real_account=True, json={"email": ACCOUNT.email, "password": "w"})
    client.send_ahead([("test_b", wrong), ("test_b", _unknown(email="b@example.com")),
                       ("test_c", _unknown(email="c@example.com"))])
    client.plan_key = "test_a"  # an earlier test runs: what it sends itself comes before test_b's account request
    client.send(_unknown(email="a@example.com"))
    client.send(LoginRequest("its own", "failure", real_account=True, json={"email": ACCOUNT.email, "password": "x"}))
    assert ACCOUNT.email in seen and seen.count(ACCOUNT.email) == 1  # only test_a's own
    client.plan_key = "test_b"
    assert client.send(wrong).sent_ahead and seen.count(ACCOUNT.email) == 2
    client.answered_ahead("test_c", timeout=5)  # the others went ahead, not parked
    assert {"b@example.com", "c@example.com"} <= set(seen)
    client.close()
