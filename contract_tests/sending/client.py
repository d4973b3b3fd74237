"""The one HTTP client every request of the suite goes through.

It paces requests, backs off on 429 / ``RATE_LIMITED`` and on lockouts (423, lock errors; see :func:`backoff_kind`):
from the moment such an answer is received nothing new is sent until its Retry-After has passed (pause.py), and a
locked identifier gets nothing until its lock is waited out, one request per lock period (locks.py, which also keeps
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
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import email.utils
import math
import re
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Callable

import anyio.streams.tls  # noqa: F401  httpcore's anyio backend reads it without importing it (anyio's pytest
# plugin, which imported it, is off: -p no:anyio)
import httpx

from .account_gate import AccountGate
from .ahead_pool import AheadPool
from .exchange import Exchange, LoginRequest, visible
from .locks import ACCOUNT_KEY, Held, LockBook, LockoutPolicy, identifier_of
from .pause import Pause, PausedMeanwhile
from .secrets import Redactor, Secret, password_secret
from .shared_tally import SharedTally
from .transport import TransportFailure, classify
from .wire_log import WireLog, observe_pool
from . import wire_log

# Statuses a proxy or load balancer answers itself when its upstream is down or slow: retried once, identically, to
# tell a passing blip from an answer of the API to the input (a 500 is the API's own: never retried).
GATEWAY_STATUSES = frozenset({502, 503, 504})
GATEWAY_RETRY_WAIT = 0.75  # seconds before that retry when the answer gives no Retry-After

USER_AGENT = "hyper3d-login-conformance/0.1 (+contract tests)"
DEFAULT_HEADERS = {"User-Agent": USER_AGENT, "Accept": "application/json"}


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


class NotSent(Exception):
    """No usable answer for this request, and why (a budget event, not a verdict)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.answers: list[Exchange] = []  # the rate-limit / lockout answers backed off from (judged like any other)


class BudgetSpent(NotSent):
    """The request cap or the failed-login budget is reached."""


class RateLimited(NotSent):
    """Still rate limited after the back-off --max-retry-wait allows."""


class AccountLocked(NotSent):
    """The account (or identifier) is still locked out after the wait --max-retry-wait allows."""


class CaptchaDemanded(NotSent):
    """The target demands a captcha the suite cannot solve."""


class RunStopped(NotSent):
    """The client sends nothing more: the target stopped answering, or the run deadline passed."""


class NoAnswer(NotSent):
    """This request got no complete answer (timeout, connection reset, not HTTP); ``failure`` says which."""

    failure: TransportFailure | None = None


# `error` values that say the identifier is locked out (a lockout policy), whatever the status
LOCKOUT_ERROR = re.compile(
    r"(ACCOUNT_|USER_)?(TEMPORARILY_)?LOCKED(_OUT)?|ACCOUNT_LOCKOUT|TOO_MANY_(FAILED_)?(LOGIN_)?ATTEMPTS", re.I)


def backoff_kind(exchange: Exchange, *, locked_after_failures: bool = False) -> str | None:
    """``"rate limit"`` (429, ``RATE_LIMITED``), ``"lockout"`` (423, a lock error) or None.

    *locked_after_failures*: the request names the configured account, which logged in earlier in this run and has
    had failed logins since: a ``USER_FORBIDDEN`` there is the account locking, not a disabled account.
    """
    error = exchange.error if isinstance(exchange.error, str) else None
    if exchange.status == 423 or (error is not None and LOCKOUT_ERROR.fullmatch(error)):
        return "lockout"  # a 429 included: its error names the identifier's lock
    if exchange.status == 429 or error == "RATE_LIMITED":
        return "rate limit"
    if locked_after_failures and error == "USER_FORBIDDEN":
        return "lockout"
    return None


class TargetError(Exception):
    """The target cannot be tested at all (unreachable, not HTTP, TLS failure).

    ``reached``: a connection was made (a TLS or HTTP problem), as opposed to no connection at all."""

    def __init__(self, message: str, reached: bool = False, failure: TransportFailure | None = None) -> None:
        super().__init__(message)
        self.reached = reached
        self.failure = failure  # what happened on the wire (None: built from a message alone)


class _EventLoop:
    """A private asyncio loop on a daemon thread.

    Requests run on it so that each has a hard total deadline (connect, send, headers and the whole
    body): httpx's own timeouts bound each read, so a server trickling one byte at a time never trips them.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="hyper3d-login-http", daemon=True)
        self._thread.start()

    def run(self, coro):
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()  # Ctrl-C or pytest.exit in the caller: do not leave the request running
            raise

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self.loop.close()


def wait_for(future: Future, while_waiting: Callable[[], bool] | None):
    """*future*'s result; meanwhile, on the main thread, the steps of *while_waiting* (False: none left)."""
    if while_waiting is not None and threading.current_thread() is threading.main_thread():
        while not future.done() and while_waiting():
            pass
    return future.result()


_DELAY_SECONDS = re.compile(r"\d+(\.\d+)?")


def retry_after(headers: httpx.Headers) -> float | None:
    """Seconds a ``Retry-After`` asks to wait (RFC 9110 section 10.2.3: delay-seconds or an HTTP-date); None when
    absent or unreadable (``later, please``, a date that does not parse): the target's words, never a crash."""
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    if _DELAY_SECONDS.fullmatch(value):
        return float(value)
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:  # an HTTP-date is always GMT
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return max(0.0, parsed.timestamp() - time.time())


def default_backoff(attempt: int) -> float:
    """The back-off without a readable Retry-After: 1, 2, 4, 8 s for the *attempt*-th retry."""
    return min(2.0**attempt, 8.0)


def asked_wait(headers: httpx.Headers, attempt: int) -> float:
    """The wait an answer asks for: its readable Retry-After, else the default back-off of the *attempt*-th retry."""
    asked = retry_after(headers)
    return default_backoff(attempt) if asked is None else asked


def unreadable_retry_after(headers: httpx.Headers) -> str | None:
    """A note for a ``Retry-After`` that is present but neither seconds nor an HTTP-date (None otherwise)."""
    value = headers.get("retry-after")
    if value is None or not value.strip() or retry_after(headers) is not None:
        return None
    return (f"Retry-After {visible(value.strip())[:60]!r} is neither a number of seconds nor an HTTP-date (RFC 9110 "
            "section 10.2.3): read as absent, the default back-off used")


class ContractClient:
    """Sends :class:`LoginRequest` objects and returns :class:`Exchange` objects."""

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
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.redactor = redactor
        self.limits = limits
        self.account = account
        self.captcha_header = captcha_header
        self.captcha_token = captcha_token
        self._captcha_re = re.compile(captcha_pattern, re.I)
        self._sleep = sleep
        self._loop = _EventLoop()
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
        self._no_answer = 0  # consecutive requests that got no complete answer
        self.stopped: str | None = None  # why no more requests are sent (target lost, run deadline)
        self.on_stop: Callable[[str, bool], None] | None = None  # (reason, could_not_test): the run ends
        self._lock = threading.Lock()  # pacing
        self._counting = threading.Lock()  # the request cap and the back-off tally, exact with requests in flight
        self._last_sent = 0.0
        self._clock = time.monotonic  # the pauses' and the locks' clock (and the sleep above): replaceable in tests
        clock, wait = (lambda: self._clock()), (lambda seconds: self._sleep(seconds))
        self._pause = Pause(clock, wait)  # after a 429 or a lock answer nothing new is sent until its Retry-After
        self._locks = LockBook(limits.lockout_policy, account_email=account.email if account else None, clock=clock,
                               sleep=wait)  # locked identifiers, their failed logins
        self._slots = threading.Condition()  # requests in flight (_slot)
        self._in_use = 0
        self._wanted_now = 0  # requests the running test sends itself, waiting for a slot (they go first)
        self._width = max(1, limits.in_flight)  # 1 for good once the target rate limited or locked out
        self._slowed = False
        self._retrying = threading.Lock()  # held by a request retrying after a 429 or a lockout (_send)
        self._pool: AheadPool | None = None  # sends ahead (send_ahead)
        self._ahead: dict[str, list[tuple[tuple, Future]]] = {}  # requests sent ahead, by plan key
        self._gate = AccountGate(limits.interleave_every)  # the order of the requests naming the account
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

    def demands_captcha(self, exchange: Exchange) -> bool:
        error = exchange.error
        return isinstance(error, str) and bool(self._captcha_re.search(error))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
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

    @property
    def run_requests(self) -> int:
        """Requests sent in the whole run (all xdist workers)."""
        return self.shared.count("requests") if self.shared else self.requests_sent

    @property
    def run_failed_logins(self) -> int:
        """Failed logins on the account in the whole run (all xdist workers)."""
        return self.shared.count("failed_logins") if self.shared else self.failed_logins

    # -- public ------------------------------------------------------------------------------
    def send(self, request: LoginRequest, *, observe: bool = True) -> Exchange:
        ahead = self._take_ahead(request)
        if ahead is None:
            ahead = self._outcome(request)
        return self._answer(request, ahead, observe=observe)

    def send_many(self, requests: list[LoginRequest]) -> list[Exchange]:
        """Send independent requests together (``in_flight`` at a time) and return their exchanges in order, each
        observed in that order; the first that could not be sent raises its :class:`NotSent` then (the ones after it
        were sent all the same: counted in ``unused_ahead``)."""
        if self.limits.in_flight <= 1 or len(requests) < 2:
            return [self.send(request) for request in requests]
        key = f"<together {id(requests)}>"
        self.send_ahead([(key, request) for request in requests], urgent=True)  # wanted now: before the plan's
        running, self.plan_key = self.plan_key, key
        try:
            return [self.send(request) for request in requests]
        finally:
            self.plan_key = running
            self.discard_ahead(key)

    def send_ahead(self, planned: list[tuple[str, LoginRequest]], *, urgent: bool = False) -> None:
        """Send requests of tests that have not run yet, ``in_flight`` at a time, in the background, each kept under
        its plan key for :meth:`send` to hand to its test (waiting for it if need be), which judges it then: the
        exchanges are judged in test order, whatever order the answers came in. Only requests that need no earlier
        answer belong here (the caller plans them); the request cap, the pacing and the back-off hold across the
        requests in flight, and the requests naming the account pass the account gate (account_gate.py) in plan
        order, as the ones the tests send themselves do."""
        if not planned:
            return
        if self._pool is None:
            # twice the slots: a thread whose request waits at the account gate holds no slot (in flight stays
            # bounded by _slot), and the others keep sending meanwhile
            self._pool = AheadPool(2 * self.limits.in_flight, "hyper3d-ahead")
        for key, request in planned:
            future = self._pool.submit(self._outcome, request, urgent=urgent)
            self._ahead.setdefault(key, []).append((wire_identity(request), future))

    def discard_ahead(self, key: str) -> None:
        """The test of *key* has run: what it did not ask for is dropped (counted in ``unused_ahead``; one not yet
        sent is not sent; a failed login on the account among them is counted in the budget: it was spent)."""
        for _, future in self._ahead.pop(key, ()):
            if future.cancel():
                continue
            outcome = future.result()
            if isinstance(outcome, Exchange):
                self.sent_ahead += 1
                self.unused_ahead += 1
                self._count_failed_login(outcome)

    def _take_ahead(self, request: LoginRequest) -> Exchange | NotSent | None:
        """The answer sent ahead for the running test, if this is the request planned for it."""
        waiting = self._ahead.get(self.plan_key) if self.plan_key is not None else None
        if not waiting:
            return None
        identity = wire_identity(request)
        for i, (planned, future) in enumerate(waiting):
            if planned == identity:
                del waiting[i]
                self._pool.hurry(future)  # still queued behind requests of later tests: it goes next
                outcome = wait_for(future, self.while_waiting)
                if isinstance(outcome, Exchange):
                    outcome.sent_ahead = True
                    self.sent_ahead += 1
                return outcome
        return None

    def _outcome(self, request: LoginRequest) -> Exchange | NotSent:
        """Send *request* (through the account gate when it names the account); a :class:`NotSent` is returned."""
        try:
            names_account = request.real_account or (
                not request.raw_rate_limit and identifier_of(request, self._locks.account_email) == ACCOUNT_KEY)
            if not names_account:
                return self._send(request)
            self._hold_if_locked(request)  # before the gate: no budget unit, no interleaved login for nothing
            before: list[Exchange] = []
            if request.spends_budget:
                gate = self._gate.spender(self._check_budget, lambda: self._interleave(before), self._give_back,
                                          alone=self._carries_password(request))
            elif not request.real_account:  # a probe that names the account by its address (an injection, a parser
                # differential): outside the budget, but its refusal is one in a row on the account all the same
                gate = self._gate.spender(lambda held: None, lambda: self._interleave(before), budgeted=False,
                                          alone=self._carries_password(request))
            else:
                gate = self._gate.success()
            with gate as turn:
                exchange = self._send(request)
                turn.logged_in = bool(exchange.token)
                if turn.logged_in:
                    self._account_logged_in = True
            exchange.before = before
            return exchange
        except NotSent as exc:
            return exc

    def _carries_password(self, request: LoginRequest) -> bool:
        """The body carries the account's right password (anywhere: a lax server may read it out of an array): a
        request that may fail may log in too."""
        if self.account is None:
            return False

        def carries(obj) -> bool:
            if isinstance(obj, Secret):
                return obj.value == self.account.password.value
            if isinstance(obj, dict):
                return any(carries(value) for value in obj.values())
            if isinstance(obj, (list, tuple)):
                return any(carries(value) for value in obj)
            return False

        return carries(request.json if request.has_json else None) or carries(list(request.form or ()))

    def _check_budget(self, held: int) -> None:
        """Raise :class:`BudgetSpent` when one more failed login would pass the budget (*held*: units in use)."""
        budget = self.limits.failed_login_budget
        if self.failed_logins + held >= budget or (self.shared and not self.shared.take("failed_logins", budget)):
            raise BudgetSpent(
                f"failed-login budget exhausted ({budget} failed logins on "
                "the real account already sent; raise --max-failed-logins to check this)"
            )

    def _give_back(self) -> None:
        """A unit held for a possible failure that logged in or got no answer: the other xdist workers may use it."""
        if self.shared:
            self.shared.give_back("failed_logins")

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
        exchange = self._send(request, probe=True)
        if exchange.failure is not None:
            raise TargetError(exchange.failure.message, reached=exchange.failure.reached, failure=exchange.failure)
        return exchange

    # -- internals ---------------------------------------------------------------------------
    def _interleave(self, before: list[Exchange]) -> None:
        """The successful login the account gate sends before a failure would make too many in a row."""
        if self.account is None:
            return
        request = LoginRequest(purpose="interleaved successful login (keeps the account from locking)",
                               expect="success", json=self.account.body(), real_account=True)
        with self._gate.success(interleaving=True) as turn:
            exchange = self._send(request)
            turn.logged_in = bool(exchange.token)
        before.append(exchange)

    def _account_for(self, exchange: Exchange) -> None:
        if exchange.token:
            self.redactor.add_token(exchange.token)
        self._count_failed_login(exchange)
        if not exchange.request.allow_captcha_error:
            self.block_on_captcha(exchange)

    def _count_failed_login(self, exchange: Exchange) -> None:
        """A failed login on the account is counted in the budget once, when its answer is taken (or dropped)."""
        if exchange.request.spends_budget and not exchange.token and not exchange.counted:
            exchange.counted = True
            self.failed_logins += 1
            self._gate.counted()

    def block_on_captcha(self, exchange: Exchange) -> None:
        """A demanded captcha keeps the suite from observing (the check is blocked, never failed)."""
        if self.demands_captcha(exchange):
            hint = "" if self.captcha_token else " (export LOGIN_CAPTCHA_TOKEN with a test token)"
            raise CaptchaDemanded(f"the target demands a captcha: error {exchange.error!r}{hint}")

    def _pace(self) -> None:
        if self.limits.pace <= 0:
            return
        with self._lock:
            wait = self._last_sent + self.limits.pace - time.monotonic()
            if wait > 0:
                self._sleep(wait)
            self._last_sent = time.monotonic()

    def _send(self, request: LoginRequest, *, probe: bool = False) -> Exchange:
        for value in [*request.headers.values(), *(v for _, v in request.params)]:
            if isinstance(value, Secret):
                self.redactor.add(value)
        self._register_body_secrets(request)
        kwargs = request.httpx_kwargs()
        with_token = self.captcha_token is not None and request.method == "POST" and request.captcha
        if with_token:
            kwargs["headers"].setdefault(self.captcha_header, self.captcha_token.value)
        # The request keeps its slot through its back-off and retries, and once it has met a 429 or a lockout it
        # retries alone (_retrying): as in a sequential run, nothing else reaches the target between its wait and
        # its retry (a request sent meanwhile can restart the limit it waits out, and starve it of its retries).
        # Before its slot, the identifier it names must be free (locks.py): not locked, no probe of it on the wire,
        # and, under a known lockout policy, one more failed login must not lock it.
        turn = contextlib.nullcontext(None) if probe else self._locks.turn(request, self.limits.max_retry_wait)
        try:
            with turn as ticket, self._slot(), contextlib.ExitStack() as alone:
                waited = settled = 0.0  # the back-off of this request; settled: waited out before the last pause
                answers: list[Exchange] = []  # rate-limit and lockout answers backed off from, a gateway answer retried
                kind = None
                blip_retried = False  # a gateway answer (502/503/504) is retried once per request
                backing_off = False  # this request met a 429, a lock or a lasting 503 and retries alone
                for attempt in range(self.limits.max_retries + 1):
                    self._check_not_stopped(probe)
                    exchange = self._attempt(request, kwargs, attempt, probe, with_token, ticket=ticket,
                                             allowance=self.limits.max_retry_wait - settled)
                    gateway_wait = None if blip_retried or probe else self._gateway_wait(exchange, waited)
                    if gateway_wait is not None:
                        blip_retried = True
                        exchange = self._retry_gateway(exchange, answers, kwargs, attempt, with_token, ticket,
                                                       gateway_wait, settled + gateway_wait)
                        waited, settled = waited + gateway_wait, settled + gateway_wait
                    if blip_retried and not probe:
                        self._still_unavailable(exchange, answers, attempt)
                    if exchange.transport_error and not probe and not request.accept_transport_error:
                        lost = NoAnswer(f"no response from the target: {exchange.transport_error}")
                        lost.failure = exchange.failure
                        lost.answers = answers
                        raise lost
                    kind = exchange.backoff
                    if kind is None or request.raw_rate_limit:
                        exchange.retried = answers
                        return exchange
                    if not backing_off and self.limits.in_flight > 1:
                        alone.enter_context(self._retrying)
                    backing_off = True
                    answers.append(exchange)
                    try:
                        pause = (None if attempt == self.limits.max_retries
                                 else self._retry_wait(request, kind, waited, ticket))
                    except Held as exc:
                        held = AccountLocked(exc.reason)
                        held.answers = answers
                        raise held from None
                    if pause is None:
                        break
                    settled, waited = waited, waited + pause
                raise self._still_backing_off(request, kind, answers, waited)
        except Held as exc:
            raise AccountLocked(exc.reason) from None

    def _gateway_wait(self, answer: Exchange, waited: float) -> float | None:
        """The wait before the identical retry of a gateway answer (502, 503, 504 with no back-off of its own: a proxy
        in front of the API, or an upstream that was down or slow for a moment): its Retry-After when readable and
        within what --max-retry-wait leaves, else :data:`GATEWAY_RETRY_WAIT`; None when *answer* is not one, when the
        request takes its answers raw (the throttling probe), or when its Retry-After asks for longer than that (the
        target asked not to be asked again so soon: the answer stands)."""
        if answer.status not in GATEWAY_STATUSES or answer.backoff is not None or answer.request.raw_rate_limit:
            return None
        asked = retry_after(answer.headers)
        if asked is None:
            return GATEWAY_RETRY_WAIT
        return asked if asked <= self.limits.max_retry_wait - waited else None

    def _still_unavailable(self, answer: Exchange, earlier: list[Exchange], attempt: int) -> None:
        """A 503 again after the identical retry of a 503: the service is unavailable, not answering this input (RFC
        9110 15.6.4: a temporary overload; nginx's limit_req answers 503 by default): backed off from as a rate limit
        (the run pauses, this request retries alone), never judged as the API's server error, nor are the 503s before
        it."""
        if answer.status != 503 or answer.backoff is not None or answer.request.raw_rate_limit:
            return
        for unavailable in [*earlier, answer]:
            if unavailable.status == 503 and unavailable.backoff is None:
                unavailable.backoff = "rate limit"
        self._pause_for(answer, "rate limit", attempt, self._clock())
        with self._counting:
            self.rate_limited += 1
        with self._slots:
            self._width, self._slowed = 1, True

    def _retry_gateway(self, answer: Exchange, answers: list[Exchange], kwargs: dict, attempt: int,
                       with_token: bool, ticket, wait: float, waited: float) -> Exchange:
        """Send the request of the gateway *answer* once more, identically, after *wait*, through the same path (the
        request cap, the pause, the same slot, lock-book ticket and account-gate turn: a gateway answer logged no one
        in nor failed a login at the API, so the turn's one budget unit is spent on the retry's answer, or given back).
        When the retry is answered without a server error the first answer was a blip (``gateway_blip``): it is kept
        in ``retried`` as evidence and the retry is what the checks judge; a 5xx again, or no answer, is the target's
        own answer to this input, judged as such."""
        self._sleep(wait)
        answers.append(answer)
        try:
            self._check_not_stopped(False)
            retry = self._attempt(answer.request, kwargs, attempt, False, with_token, ticket=ticket,
                                  allowance=self.limits.max_retry_wait - waited)
        except NotSent as exc:  # (the request cap, a pause past the bound, a lock): the gateway answer is all there is
            answer.gateway_unconfirmed = True  # its identical retry was not sent: whether the input did it is unknown
            exc.answers = [*answers, *exc.answers]
            raise
        retry.attempts = answer.attempts + 1
        answer.gateway_blip = retry.status is not None and retry.status < 500
        with self._counting:
            self.gateway_retries += 1
            self.gateway_blips += answer.gateway_blip
        return retry

    @contextlib.contextmanager
    def _slot(self):
        """One of the requests in flight: at most ``in_flight`` while sending ahead, one once the target has rate
        limited or locked out (it asked to slow down: the rest of the run stays sequential). A request the running
        test sends itself (the main thread) takes the next free slot before the requests sent ahead."""
        now = threading.current_thread() is threading.main_thread()
        with self._slots:
            self._wanted_now += now
            try:
                while self._in_use >= self._width or (self._wanted_now and not now):
                    self._slots.wait()
            finally:
                if now:
                    self._wanted_now -= 1
                    self._slots.notify_all()  # the requests sent ahead that let it go first look again
            self._in_use += 1
        try:
            yield
        finally:
            with self._slots:
                self._in_use -= 1
                self._slots.notify_all()

    def _attempt(self, request: LoginRequest, kwargs: dict, attempt: int, probe: bool, with_token: bool, *,
                 ticket=None, allowance: float = math.inf) -> Exchange:
        """Send once (the request cap counted exactly) and classify the answer; a 429 or lockout is noted on it, and
        starts the run's pause when it is received. *allowance*: the longest pause this request may still wait."""
        self._pace()
        if not request.raw_rate_limit:  # (the throttling probe hammers on purpose and backs off itself)
            self._honour_pause(allowance)
        cap = self.limits.max_requests
        with self._counting:
            if not probe and (self.requests_sent >= cap
                              or (self.shared and not self.shared.take("requests", cap))):
                raise BudgetSpent(f"request cap of {cap} reached (--max-requests)")
            self.requests_sent += 1
        exchange = Exchange(request=request, base_url=self.base_url, redactor=self.redactor, attempts=attempt + 1,
                            ledger=self.ledger)
        started, wall = time.perf_counter(), time.time()
        log = WireLog(expect_continue=_expects_continue(kwargs), continue_wait=self.limits.continue_wait)

        def answered(status: int, headers: httpx.Headers, body: bytes, truncated: bool) -> None:
            exchange.status, exchange.headers, exchange.body, exchange.truncated = status, headers, body, truncated
            self._received(exchange, attempt, ticket)

        look = None if request.raw_rate_limit else self._last_look(ticket)
        try:
            while True:
                try:
                    self._loop.run(self._transmit(kwargs, log, look, answered))
                    break
                except PausedMeanwhile:  # a 429 or a lock answered since this thread looked: it waits that out too
                    if ticket is not None and self._locks.locked_since_admitted(ticket):
                        try:
                            self._locks.readmit(ticket, request, allowance)
                        except Held as exc:
                            raise AccountLocked(exc.reason) from None
                    self._honour_pause(allowance)
                    look = self._last_look(ticket)
                    log = WireLog(expect_continue=_expects_continue(kwargs), continue_wait=self.limits.continue_wait)
        except NotSent:  # a pause that began after this request's own look at it: not sent after all
            with self._counting:
                self.requests_sent -= 1
            if self.shared and not probe:
                self.shared.give_back("requests")
            raise
        except (httpx.TimeoutException, TimeoutError, httpx.TransportError) as exc:
            exchange.failure = classify(exc, scheme=self._scheme, timeout=self.limits.timeout,
                                        size=len(kwargs.get("content") or b""), wire=log if self._observed else None)
        exchange.elapsed = time.perf_counter() - started
        if self.recorder is not None:
            self.recorder(exchange, wall, with_token)
        if exchange.failure is None or exchange.failure.left:  # else HTTP could not carry it: nothing said of it
            self.answer_times.append((wall, exchange.elapsed, exchange.status is not None))
            self._count_answer(exchange, probe)
        if with_token and exchange.status is not None:
            passed = (request.expect in ("success", "failure") and exchange.status < 500  # got past the captcha
                      and not self.demands_captcha(exchange) and backoff_kind(exchange) is None)
            with self._counting:
                self.captcha_token_uses += 1
                self.captcha_token_accepted |= passed
        if exchange.transport_error:
            return exchange
        kind = exchange.backoff
        if kind is not None:
            with self._counting:
                if kind == "lockout":
                    self.locked_out += 1
                else:
                    self.rate_limited += 1
            with self._slots:
                self._width, self._slowed = 1, True
        return exchange

    def _received(self, exchange: Exchange, attempt: int, ticket) -> None:
        """The answer has just been read (on the loop thread): a 429 or lock answer starts the pause and holds its
        identifier now, before another request can go."""
        received = self._clock()
        kind = exchange.backoff = self._backoff_kind(exchange)
        if kind is not None:
            exchange.backoff_note = unreadable_retry_after(exchange.headers)
        if kind is not None and not exchange.request.raw_rate_limit:
            self._pause_for(exchange, kind, attempt, received)
        if ticket is not None:
            ticket.answered(exchange, lock=kind == "lockout", retry_after=retry_after(exchange.headers),
                            received_at=received)

    def _last_look(self, ticket) -> Callable:
        """What a request awaits on the loop right before it goes: it does not go when a pause began since its thread
        waited one out (another request's 429 was answered meanwhile), nor when its identifier locked since the lock
        book let it through: :class:`PausedMeanwhile`, its thread waits that out first."""
        looked = self._pause.until

        async def look() -> None:
            if self.shared:  # a pause another xdist worker began since this thread waited one out
                self._pause.extend_to(self.shared.read("pause_until"))
            if ((self._pause.until > looked and self._pause.left() > 0)
                    or (ticket is not None and self._locks.locked_since_admitted(ticket))):
                raise PausedMeanwhile()

        return look

    def _pause_for(self, answer: Exchange, kind: str, attempt: int, received: float) -> None:
        """A 429 or lock answer was just received: from now on nothing new is sent until its Retry-After (else 1, 2,
        4, 8 s for the *attempt*-th retry) has elapsed. A lock on an identifier that gives no Retry-After, or a longer
        one than --max-retry-wait, holds that identifier only (the lock book): the rest of the run goes on."""
        seconds = asked_wait(answer.headers, attempt)
        has_retry_after = retry_after(answer.headers) is not None  # an unreadable one is read as absent
        if kind == "lockout" and identifier_of(answer.request, self._locks.account_email) is not None and (
                not has_retry_after or seconds > self.limits.max_retry_wait):
            return
        grown = self._pause.start(seconds, received)
        if self.shared:  # the other xdist workers pause with this one
            self.shared.raise_to("pause_until", self._pause.until)
        if seconds <= self.limits.max_retry_wait:  # waited out (a longer pause stops the requests instead)
            with self._counting:
                self.backoff_seconds += grown

    def _honour_pause(self, allowance: float) -> None:
        """Wait out the run's pause (under xdist: another worker's too), or raise :class:`RateLimited` when it lasts
        longer than *allowance*."""
        if self.shared:
            self._pause.extend_to(self.shared.read("pause_until"))
        left = self._pause.left()
        if left > allowance:
            raise RateLimited(f"the target asked for a pause of {left:.0f} s more (Retry-After of a 429 or lock "
                              f"answer), beyond --max-retry-wait {self.limits.max_retry_wait:g}; nothing is sent "
                              "before it ends")
        self._pause.wait()

    def _retry_wait(self, request: LoginRequest, kind: str, waited: float, ticket) -> float | None:
        """How long the retry of *request* waits after its 429 or lock answer (the next attempt waits the run's pause
        out; the lock book lets the retry of a lock through as a new request to the identifier); None when that is
        past --max-retry-wait; :class:`Held` when the lock's end is unknown or the policy holds the retry."""
        allowance = self.limits.max_retry_wait - waited
        pause_left = self._pause.left()
        if pause_left > allowance:
            return None
        if kind != "lockout" or ticket is None:
            return pause_left
        lock_left = self._locks.locked_for(request) or 0.0
        if lock_left > allowance:
            return None  # (reported by _still_backing_off with the lock's own words)
        admitted_after = self._locks.readmit(ticket, request, allowance)
        if lock_left > pause_left:
            with self._counting:
                self.backoff_seconds += lock_left - pause_left
        return max(admitted_after, pause_left)

    def back_off(self, answer: Exchange, attempt: int, waited: float = 0.0) -> float | None:
        """For an *answer* handed over raw (the throttling probe): wait as it asks (Retry-After, else 1, 2, 4, 8 s for
        the *attempt*-th retry), every other request with it, counted in the run's back-off; None (no wait) when
        that would take *waited* past --max-retry-wait."""
        pause = asked_wait(answer.headers, attempt)
        answer.backoff_note = unreadable_retry_after(answer.headers)
        if waited + pause > self.limits.max_retry_wait:
            return None
        grown = self._pause.start(pause, self._clock())
        if self.shared:  # the other xdist workers pause with this one
            self.shared.raise_to("pause_until", self._pause.until)
        with self._counting:
            self.backoff_seconds += grown
        self._pause.wait()
        return pause

    def _still_backing_off(self, request: LoginRequest, kind: str, answers: list[Exchange], waited: float) -> NotSent:
        last = answers[-1]
        tried = (f"after {len(answers)} attempt(s) and {waited:.0f} s of back-off "
                 f"(--max-retry-wait {self.limits.max_retry_wait:g})")
        unreadable = unreadable_retry_after(last.headers)
        if unreadable:
            tried += f"; {unreadable}"
        if kind == "rate limit":
            exc: NotSent = RateLimited(f"rate limited by the target (429 / RATE_LIMITED / 503 again) {tried}")
        else:
            said_after = last.headers.get("retry-after")
            said = f"status {last.status}" + (f", error {last.error!r}" if last.error is not None else "")
            until = f"; Retry-After {visible(said_after.strip())[:60]}" if said_after else "; no Retry-After"
            # nothing more is sent to it until the lock ends (the lock book keeps it): an attempt while locked often
            # restarts the lock
            who = "the configured account" if request.real_account else "this identifier"
            exc = AccountLocked(f"{who} is locked out by the target ({said}{until}) {tried}")
        exc.answers = answers
        return exc

    def _hold_if_locked(self, request: LoginRequest) -> None:
        try:
            self._locks.hold_if_locked(request, self.limits.max_retry_wait)
        except Held as exc:
            raise AccountLocked(exc.reason) from None

    @property
    def lock_answers(self) -> int:
        """Lock answers received on the identifiers the suite names (the account, the unknown ones)."""
        return self._locks.lock_answers

    async def _transmit(self, kwargs: dict, log: WireLog, before: Callable | None = None,
                        answered: Callable | None = None) -> tuple[int, httpx.Headers, bytes, bool]:
        """Status, headers, at most ``max_body`` bytes of the body, and whether more were discarded; the network
        I/O is recorded in *log* (this coroutine's own task: the context variable is its alone). *before*: awaited
        right before the request goes; *answered(status, headers, body, truncated)*: called as soon as the answer is
        read, on the loop thread, before any other request can go (pause.py: a 429 stops the sends that follow)."""
        cap = self.limits.max_body
        if before is not None:
            await before()
        wire_log.begin(log)
        async with asyncio.timeout(self.limits.timeout):
            response = await self._http.send(self._http.build_request(**kwargs), stream=True)
            try:
                chunks: list[bytes] = []
                size, truncated = 0, False
                async for chunk in response.aiter_bytes():
                    if size + len(chunk) > cap:
                        chunks.append(chunk[: cap - size])
                        truncated = True
                        break
                    chunks.append(chunk)
                    size += len(chunk)
                result = response.status_code, response.headers, b"".join(chunks), truncated
                if answered is not None:
                    answered(*result)
                return result
            finally:
                await response.aclose()

    def _check_not_stopped(self, probe: bool) -> None:
        if self.stopped:
            raise RunStopped(self.stopped)
        deadline = self.limits.run_deadline
        if not probe and deadline is not None and time.monotonic() >= deadline:
            self._stop("the run deadline was reached (--run-deadline); the remaining checks were not run", False)

    def _count_answer(self, exchange: Exchange, probe: bool) -> None:
        """A few requests in a row without a complete answer: the target has stopped answering; stop the run."""
        with self._counting:
            if exchange.transport_error is None:
                self._no_answer = 0
                return
            self._no_answer += 1
            lost = self._no_answer
        if not probe and lost >= self.limits.lost_after:
            self._stop(f"the target stopped answering: {self.limits.lost_after} requests in a row got no complete "
                       f"answer (last: {exchange.transport_error})", True)

    def _stop(self, reason: str, could_not_test: bool) -> None:
        """Stop the run, once: with requests in flight, the others that then fail say the first one's reason."""
        with self._counting:
            first = self.stopped is None
            if first:
                self.stopped = reason
        if first and self.on_stop is not None:
            self.on_stop(reason, could_not_test)
        raise RunStopped(self.stopped)

    def _register_body_secrets(self, request: LoginRequest) -> None:
        def walk(obj):
            if isinstance(obj, Secret):
                self.redactor.add(obj)
            elif isinstance(obj, dict):
                for v in obj.values():
                    walk(v)
            elif isinstance(obj, (list, tuple)):
                for v in obj:
                    walk(v)

        if request.has_json:
            walk(request.json)
        for pairs in (request.form, request.multipart):
            walk(list(pairs or ()))

    def _backoff_kind(self, exchange: Exchange) -> str | None:
        request = exchange.request
        if exchange.error != "USER_FORBIDDEN":
            return backoff_kind(exchange)
        on_account = (request.real_account and self._account_logged_in  # any xdist worker's failures, or one
                      and (self.run_failed_logins > 0 or self._gate.streak > 0))  # answered, not yet counted
        # any identifier the suite names, whatever the request checks (a validation probe naming a locked identifier
        # meets the lock too): refused otherwise before in this run, now forbidden
        after_failures = on_account or self._locks.forbidden_after_failures(request, exchange)
        return backoff_kind(exchange, locked_after_failures=after_failures)


def wire_identity(request: LoginRequest) -> tuple:
    """What makes two requests the same request: everything sent, and the intent it is judged by."""
    return tuple(_comparable(getattr(request, f.name)) for f in dataclasses.fields(request))


def _comparable(value):
    if isinstance(value, Secret):
        return ("secret", value.value, value.label)
    if isinstance(value, dict):
        return ("dict", tuple((_comparable(k), _comparable(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_comparable(v) for v in value))
    if isinstance(value, float) and value != value:
        return ("nan",)
    if isinstance(value, (str, bytes, int, float, bool)) or value is None:
        return (type(value).__name__, value)
    return ("object", id(value))  # the "no JSON body" marker and other singletons: the same object


def _expects_continue(kwargs: dict) -> bool:
    """The request carries ``Expect: 100-continue`` (wire_log.py waits for the target's word before the body)."""
    return any(name.lower() == "expect" and str(value).strip().lower() == "100-continue"
               for name, value in kwargs.get("headers", {}).items())
