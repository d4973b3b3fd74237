"""The one HTTP client every request of the suite goes through.

It paces requests, backs off on 429 / ``RATE_LIMITED`` and on lockouts (423, lock errors; see :func:`backoff_kind`):
from the moment such an answer is received nothing new is sent until its Retry-After has passed (pause.py), and a
locked identifier gets nothing until its lock is waited out, one request per lock period (locks/, which also keeps
failed logins under a declared or learned lockout policy); it counts each of them and the time spent waiting; it sends
a request answered 502, 503 or 504 once more, identically (a proxy's page on a passing blip is told from the
target's answer to the input by the retry; both are kept; a 503 again is backed off from as a rate limit); it
bounds the request count, budgets failed logins on the real account (interleaving successful logins so a policy that
resets on success does not lock it),
registers issued tokens with the redactor, and hands each exchange to an observer (the judging side
sets it: it records the exchange against the running test and applies the cross-cutting invariants).

The client decides no verdict: when it cannot send or gets no answer it raises a :class:`NotSent`
naming the budget event (request cap, failed-login budget, rate limit, lockout, captcha demand, run
stopped, no answer); ``judging.verdicts.not_sent_verdict`` says what that means for the running check.

Every request is a task on the client's one event loop (event_loop.py, on its own thread): a test's own, which
pytest's main thread submits and waits for, and those sent ahead (ahead_queue.py); every wait of the send path is an
await on that loop, and closing the client cancels them all. This module holds the client's state and public API; its
parts, each a module, work on that state: in_flight.py (the deadline, the body cap, the slots, pacing, the stop),
attempts.py (a request to its answer), backoff.py (429 and lockout back-off), gateway_retry.py (the retry of a
502/503/504), account_budget.py (the requests naming the account), ahead.py (requests sent ahead, kept for their
tests), errors.py (:class:`NotSent` and its kinds, :class:`TargetError`).
"""

from __future__ import annotations

import asyncio
import re
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Callable, Coroutine, TypeVar

import anyio.streams.tls  # noqa: F401  httpcore's anyio backend reads it without importing it (anyio's pytest
# plugin, which imported it, is off: -p no:anyio)
import httpx

from .account_budget import AccountBudget
from .account_gate import AccountGate
from .ahead import SendingAhead, wait_for, wire_identity
from .ahead_queue import AheadQueue
from .attempts import Attempts
from .backoff import (GATEWAY_RETRY_WAIT, GATEWAY_STATUSES, LOCKOUT_ERROR, BackingOff, asked_wait, backoff_kind,
                      default_backoff, retry_after, unreadable_retry_after)
from .errors import (AccountLocked, BudgetSpent, CaptchaDemanded, NoAnswer, NotSent, RateLimited, RunStopped,
                     TargetError)
from .exchange import Exchange, LoginRequest
from .gateway_retry import GatewayRetry
from .event_loop import EventLoop, Signal
from .in_flight import InFlight
from .locks import LockBook, LockoutPolicy
from .pause import Pause
from .run_once import RunOnce
from .run_order import RunOrder
from .secrets import Redactor, Secret, password_secret
from .shared_tally import SharedTally
from .wire_log import observe_pool

T = TypeVar("T")

# the names importers take from here (the client's parts live in the modules above)
__all__ = [
    "GATEWAY_RETRY_WAIT", "GATEWAY_STATUSES", "LOCKOUT_ERROR", "DEFAULT_HEADERS", "USER_AGENT", "Account",
    "AccountLocked", "BudgetSpent", "CaptchaDemanded", "ClientLimits", "ContractClient", "NoAnswer", "NotSent",
    "RateLimited", "RunStopped", "SharedTally", "TargetError", "asked_wait", "backoff_kind", "default_backoff",
    "retry_after", "unreadable_retry_after", "wait_for", "wire_identity",
]

USER_AGENT = "hyper3d-login-conformance/0.1 (+contract tests)"
# The documented client (Go's net/http, Content-Type only) sends no Accept, and frameworks negotiate their own answers
# on it (Rails' exception pages are JSON for Accept: application/json, an empty text/html body without Accept): the
# suite sends none either, so it sees what that client gets (httpx's default `Accept: */*` is removed too).
DEFAULT_HEADERS = {"User-Agent": USER_AGENT}
NOT_SENT_HEADERS = ("Accept",)


@dataclass(frozen=True)
class Account:
    """The configured test account; the password is a :class:`Secret` and never printed."""

    email: str
    password: Secret

    def body(self, **extra) -> dict:
        return {"email": self.email, "password": self.password, **extra}

    @classmethod
    def from_values(cls, email: str, password: str) -> "Account":
        return cls(email, password_secret(password))


@dataclass
class ClientLimits:
    timeout: float = 10.0
    max_requests: int = 400
    failed_login_budget: int = 20
    interleave_every: int = 3
    pace: float = 0.0
    max_retry_wait: float = 30.0
    max_retries: int = 4
    verify_tls: bool = True
    max_body: int = 1 << 20  # response bytes kept; the rest is discarded and the truncation noted
    lost_after: int = 3  # consecutive requests without a complete answer: the target has stopped answering
    run_deadline: float | None = None  # time.monotonic() after which no request is sent (--run-deadline)
    in_flight: int = 1  # requests sent ahead at once (--in-flight; 1: every request when its test asks)
    continue_wait: float = 1.0  # Expect: 100-continue: seconds to wait for the target's word before the body (curl's)
    lockout_policy: LockoutPolicy | None = None  # --lockout-policy (None: learned from the first lock)



class ContractClient(SendingAhead, AccountBudget, Attempts, GatewayRetry, BackingOff, InFlight):
    """Sends :class:`LoginRequest` objects and returns :class:`Exchange` objects (the parts it is made of: the
    module's docstring)."""

    def __init__(
        self,
        base_url: str,
        redactor: Redactor,
        limits: ClientLimits,
        *,
        captcha_header: str = "cf-turnstile-response",
        captcha_token: Secret | None = None,
        captcha_pattern: str = r"captcha|turnstile|recaptcha",
        account: Account | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.redactor = redactor
        self.limits = limits
        self.account = account
        self.captcha_header = captcha_header
        self.captcha_token = captcha_token
        self._captcha_re = re.compile(captcha_pattern, re.I)
        # every request is a task on the client's one loop, and every wait of the client (pacing, pauses, locks,
        # gateway retries) an await on it: closing cancels them all (event_loop.py). *sleep*: the self-tests' own
        # (a plain function on a fake clock), in place of the loop's
        self._sleep: Callable[[float], object] | None = sleep
        self._loop = EventLoop()
        if transport is None:
            transport = httpx.AsyncHTTPTransport(verify=limits.verify_tls)
            self._observed = observe_pool(transport)  # what each request did on the wire (wire_log.py)
        else:
            self._observed = False
        self._scheme = httpx.URL(self.base_url).scheme
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(limits.timeout),
            verify=limits.verify_tls,
            follow_redirects=False,
            headers=DEFAULT_HEADERS,
            transport=transport,
        )
        for name in NOT_SENT_HEADERS:
            self._http.headers.pop(name, None)
        # what was sent and answered is counted on the loop's thread only, between two awaits: exact with requests in
        # flight, without a lock (failed_logins: on pytest's main thread, when a test takes its answer)
        self._no_answer = 0  # consecutive requests that got no complete answer
        self.stopped: str | None = None  # why no more requests are sent (target lost, run deadline)
        self.on_stop: Callable[[str, bool], None] | None = None  # (reason, could_not_test): the run ends
        self._pacing = asyncio.Lock()  # one request at a time through the pacing
        self._last_sent = 0.0
        self._clock = time.monotonic  # the pauses' and the locks' clock (and the sleep above): replaceable in tests
        clock, wait = (lambda: self._clock()), (lambda seconds: self._nap(seconds))
        self._pause = Pause(clock, wait)  # after a 429 or a lock answer nothing new is sent until its Retry-After
        self._locks = LockBook(limits.lockout_policy, account_email=account.email if account else None, clock=clock,
                               sleep=wait)  # locked identifiers, their failed logins
        self._slot_freed = Signal()  # requests in flight (_slot)
        self._in_use = 0
        self._wanted_now = 0  # requests the running test sends itself, waiting for a slot (they go first)
        self._width = max(1, limits.in_flight)  # 1 for good once the target rate limited or locked out
        self._slowed = False
        self._retrying = asyncio.Lock()  # held by a request retrying after a 429 or a lockout (_send)
        self._queue: AheadQueue | None = None  # sends ahead (send_ahead)
        self._ahead: dict[str, list[tuple[tuple, Future]]] = {}  # requests sent ahead, by plan key
        self._gate = AccountGate(limits.interleave_every)  # the order of the requests naming the account
        self.run_order = RunOrder()  # under xdist: a request naming the account waits for the checks before its own
        self.run_once = RunOnce()  # under xdist: a session fixture's request naming the account, once per run
        self.plan_key: str | None = None  # the running test's key: its request may have been sent ahead
        self.sent_ahead = 0  # requests answered ahead of their test (their exchanges are judged in test order)
        self.unused_ahead = 0  # sent ahead, then not asked for by the test (it took another path): sent, not judged
        self.requests_sent = 0
        self.failed_logins = 0  # counted in test order, when a test takes the answer
        self._account_logged_in = False  # a request naming the account got a token in this run
        self.rate_limited = 0  # answers that were rate limits (429 / RATE_LIMITED / 503 again), waited out or not
        self.locked_out = 0  # answers that were lockouts (423, lock errors)
        self.backoff_seconds = 0.0  # time spent waiting on them
        self.gateway_retries = 0  # gateway answers (502/503/504) retried once, identically
        self.gateway_blips = 0  # of them, those whose retry was answered without a server error (a passing blip)
        # (wall-clock start, seconds, answered) of every request that reached the wire: the run's answer latency
        self.answer_times: list[tuple[float, float, bool]] = []
        self.observer: Callable[[Exchange], None] | None = None
        # the run's judging ledger, stamped on every exchange (opaque here: the client decides no verdict)
        self.ledger: object | None = None
        self.while_waiting: Callable[[], bool] | None = None  # work done while a test waits for an answer sent ahead
        # --har: (exchange, wall-clock start, carried the captcha token) for every attempt, probes included
        self.recorder: Callable[[Exchange, float, bool], None] | None = None
        self._shared: SharedTally | None = None
        self.shared = None  # set on xdist workers: budgets, pause and locks per run, not per worker
        self.captcha_token_uses = 0  # responses to requests that carried LOGIN_CAPTCHA_TOKEN (captcha probe)
        self.captcha_token_accepted = False  # a well-formed login carrying it got past the captcha at least once
        if captcha_token is not None:
            redactor.add(captcha_token)

    def close(self) -> None:
        """The run is over: nothing more is sent, and what is still in flight (sent ahead for tests an interrupted or
        stopped run never ran) is abandoned, not waited for: an interrupted run must end within the few seconds a
        CI runner gives between SIGTERM and SIGKILL, not when a hanging target's requests time out."""
        self.stopped = self.stopped or "the run is over"
        if self._queue is not None:
            self._queue.close()
        self._loop.cancel_all()
        try:
            self._loop.run(self._http.aclose())
        finally:
            self._loop.close()

    @property
    def shared(self) -> SharedTally | None:
        return self._shared

    @shared.setter
    def shared(self, tally: SharedTally | None) -> None:
        self._shared = tally
        self._locks.shared = tally
        self._gate.shared = tally  # one account gate for the run: its counts kept in the tally
        self.run_order.shared = tally
        self.run_once.shared = tally

    @property
    def run_requests(self) -> int:
        """Requests sent in the whole run (all xdist workers)."""
        return self.shared.count("requests") if self.shared else self.requests_sent

    @property
    def run_failed_logins(self) -> int:
        """Failed logins on the account in the whole run (all xdist workers)."""
        return self.shared.count("failed_logins") if self.shared else self.failed_logins

    def send(self, request: LoginRequest, *, observe: bool = True) -> Exchange:
        """Send *request* for the running test (on pytest's main thread): its answer sent ahead, else a task on the
        client's loop, waited for here."""
        ahead = self._take_ahead(request)
        if ahead is None:
            once = self.run_once.key() if self._names_account(request) else None
            ahead = self._wait_on_loop(self._outcome(request) if once is None else self._once(once, request))
        return self._answer(request, ahead, observe=observe)

    def _wait_on_loop(self, request: Coroutine[Any, Any, T]) -> T:
        """The running test's own *request*, a task on the client's loop, waited for (on pytest's main thread)."""
        if self._loop.closed:  # the run is over: nothing more is sent
            request.close()
            raise RunStopped(self.stopped or "the run is over")
        return self._loop.run(self._own(request))

    async def _once(self, once: str, request: LoginRequest) -> Exchange | NotSent:
        """A session fixture's request naming the account, under xdist: its turn in the run's order first, then the
        worker whose check comes first sends it, at once (a worker waiting for its answer waits for a request on the
        wire, never for a turn)."""
        await self._wait_for_turn()
        limits = self.limits
        outcome = await self.run_once.answer(once, request, lambda: self._outcome(request, in_turn=True),
                                             base_url=self.base_url, redactor=self.redactor,
                                             stalled_after=limits.max_retry_wait * (limits.max_retries + 1) + 60.0)
        return outcome  # type: ignore[return-value]

    def _answer(self, request: LoginRequest, outcome: Exchange | NotSent, *, observe: bool) -> Exchange:
        if isinstance(outcome, NotSent):
            if observe:  # the rate-limit and lockout answers are the target's too: the invariants judge them
                for answer in outcome.answers:
                    self.observe(answer)
            raise outcome
        for earlier in outcome.before:  # the interleaved login sent on its behalf
            self._account_for(earlier)
        self._account_for(outcome)
        if observe:
            self.observe(outcome)
        return outcome

    def observe(self, exchange: Exchange) -> Exchange:
        """Hand an exchange (and the answers it was retried after, and an interleaved login sent first on its behalf)
        to the observer; for an exchange sent unobserved (the pre-flight login), inside the test that judges it."""
        if self.observer is not None:
            for answer in [*exchange.before, *exchange.retried]:
                self.observer(answer)
            self.observer(exchange)
        return exchange

    def login(self, account: Account, purpose: str, requirement: str | None = None) -> Exchange:
        return self.send(
            LoginRequest(purpose=purpose, expect="success", json=account.body(), real_account=True,
                         requirement=requirement)
        )

    def probe(self, request: LoginRequest | None = None) -> Exchange:
        """A harmless pre-flight request, outside the budgets; raises :class:`TargetError` when no answer came."""
        request = request or LoginRequest(
            purpose="reachability probe",
            expect="failure",
            json={"email": "conformance-probe@example.com", "password": "Probe-Not-A-Password-1"},
        )
        exchange = self._wait_on_loop(self._send(request, probe=True))
        if exchange.failure is not None:
            raise TargetError(exchange.failure.message, reached=exchange.failure.reached, failure=exchange.failure)
        return exchange


