"""Locked identifiers are left alone, and the failed logins that would lock one are spread or not sent.

A lockout policy counts failed logins per identifier (the configured account, and any unknown address the suite
names) and locks it; every attempt while it is locked may extend the lock (and, on a production identity provider,
page a security team). The :class:`LockBook` keeps, per identifier, what the target saw of the suite:

* the refusals answered to requests that may fail to log in (validation refusals included: some policies count
  them), on the monotonic clock, and those in flight;
* whether the identifier is locked, and until when: the Retry-After of its lock answer (plus a margin); without one,
  the window of a declared policy; without that, for the rest of the run;
* after a lock, one request naming it at a time until an answer that is not a lock comes back (the probe, a retry of
  the locked request included): at most one request per lock period reaches a locked identifier. Lock answers to
  requests that were already on the wire together are one lock.

The policy is declared (``--lockout-policy=10/120s``: 10 failed logins within 120 s lock an identifier; a success is
not assumed to reset the count) or learned from the identifier's own locks. A declared window lets the suite spread
its failed logins: one that would be the N-th within the window waits until the oldest leaves it (within
--max-retry-wait), or is not sent. Without one the window cannot be known: the refusals an identifier had answered
before its first lock are how many lock it, and the lock is assumed to spend them (a lock with a Retry-After is then
waited out, once per lock period, and the checks go on); a later lock that comes after far fewer shows the count
outlived the lock (a sliding window that neither the lock nor a success resets). A lock that ends (a Retry-After)
then teaches the window: the newest N failed logins on the identifier (N: those before its first lock) are all still
counted, so the window is longer than their span; twice that is assumed (twice again after a lock under it), and the
failed logins naming it are spread under N - 1 per window as under a declared one -- waited for within
--max-retry-wait, so the checks that need them are decided the same way at any speed and concurrency, not blocked by
a lock a faster run happened to meet. A lock without an end keeps every failed login from it for the rest of the
run. "Far fewer" compares bounds, so that neither what a policy counts nor requests in flight
across a lock make a fresh count look outlived: every refusal naming the identifier since the last lock (whatever
the request was for: an upper bound of what the policy counted) is under half the credential failures before the
first lock (a lower bound).

The book decides nothing about verdicts: what it holds back is a :class:`Held` the client turns into a NotSent.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Iterator

from .exchange import Exchange, LoginRequest
from .account_gate import SHARED_POLL_SECONDS
from .pause import with_margin
from .stand_ins import fresh_identifier, renamed

ACCOUNT_KEY = "<the configured account>"
MIN_LEARNED_WINDOW = 1.0  # seconds: the shortest window a count that outlived a lock is assumed to have
HISTORY = 256  # failed logins on one identifier whose times are kept (a window counts the newest)
MAX_STAND_INS = 64  # fresh identifiers a run may invent (stand_ins.py): a target that locks every one at once
# would otherwise be sent a new one per request

_POLICY = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*$", re.I)
_UNITS = {None: 1.0, "ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class LockoutPolicy:
    """*failures* failed logins for one identifier within *window* seconds lock it (inf: counted over the run)."""

    failures: int
    window: float = math.inf
    declared: bool = True


    def describe(self) -> str:
        within = "in the run" if self.window == math.inf else f"within {self.window:g} s"
        how = ("declared (--lockout-policy)" if self.declared else "learned from the target's first lock"
               if self.window == math.inf else "learned from the target's locks")
        return f"{self.failures} failed logins {within} lock an identifier ({how})"


def parse_policy(text: str) -> LockoutPolicy:
    """``N/W`` with W in seconds, or ``Ns``, ``Nm``, ``Nh``, ``Nms`` (e.g. ``10/120s``, ``6/5m``); ValueError with
    one line saying what is expected."""
    match = _POLICY.match(text or "")
    if not match or int(match.group(1)) < 1 or float(match.group(2)) <= 0:
        raise ValueError(f"--lockout-policy expects FAILURES/WINDOW such as 10/120s or 6/5m (failed logins per "
                         f"identifier that lock it, within that time), got {text!r}")
    unit = (match.group(3) or "").lower() or None
    return LockoutPolicy(int(match.group(1)), float(match.group(2)) * _UNITS[unit])


def identifier_of(request: LoginRequest, account_email: str | None = None) -> str | None:
    """The identifier a request names (the one a lockout policy counts it against), or None; the configured account
    is one identifier however a request names it."""
    if request.real_account:
        return ACCOUNT_KEY
    fields: object = {}
    if request.has_json:
        fields = request.json
    elif request.form:
        fields = dict(request.form)
    elif request.raw is not None:  # a body written by hand (duplicate keys, odd encodings) still names someone
        try:
            fields = json.loads(request.raw)
        except (ValueError, RecursionError):  # a nested probe deeper than the decoder goes names no one
            fields = {}
    if not isinstance(fields, dict):
        return None
    for name in ("email", "username"):
        value = fields.get(name)
        if isinstance(value, str) and value.strip():
            key = value.strip().lower()
            return ACCOUNT_KEY if account_email and key == account_email.strip().lower() else key
    return None


class Held(Exception):
    """The book keeps this request from the target (the identifier is locked, or one more failure would lock it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class _Identifier:
    failures: deque = field(default_factory=deque)  # clock() of failed logins answered (since the last lock ended)
    history: deque = field(default_factory=lambda: deque(maxlen=HISTORY))  # clock() of every failed login answered
    # (a lock clears nothing: what a window counts)
    answered_failures: int = 0  # failed logins answered since the run started or the last lock ended
    credential_failures: int = 0  # of those, the requests meant as credential failures
    pending: int = 0  # possible failed logins in flight
    locked_until: float | None = None  # clock(); inf: for the rest of the run
    probing: bool = False  # after a lock: one request naming it is on the wire
    after_lock: bool = False  # locked before, no answer since that was not a lock
    locks: int = 0  # lock answers received on it
    met_elsewhere: int = 0  # locks on it another xdist worker of the run met (read from the shared tally)
    retrying: int = 0  # requests that met a lock on it and may retry (one at a time: ContractClient._retrying)
    learned: LockoutPolicy | None = None  # when no policy is declared: its count outlived a lock, none is safe
    locked_after: int | None = None  # failed logins answered before its first lock (no policy declared)
    outlived: tuple[int, int] = (0, 0)  # locked again after so many failed logins, first after so many
    refusals: set = field(default_factory=set)  # the `error` values of its failed logins that were not locks


class LockBook:
    def __init__(self, policy: LockoutPolicy | None = None, *, account_email: str | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.policy = policy
        self.account_email = account_email
        self.shared = None  # under xdist, the run's shared tally (raise_to / read): the workers share their locks
        self._clock = clock
        self._sleep = sleep
        self._cond = threading.Condition()
        self._ids: dict[str, _Identifier] = {}
        self._stand_ins: dict[str, str] = {}  # an identifier the suite invented, held for good -> its stand-in
        self._origins: dict[str, str] = {}  # a stand-in -> the identifier it stands in for first

    # -- what the client asks -------------------------------------------------------------------------------------
    def forbidden_after_failures(self, request: LoginRequest, answer: Exchange) -> bool:
        """*answer* forbids an identifier that had failed logins answered otherwise earlier in this run: the
        identifier locking (an identifier that was forbidden from its first answer on is a disabled account)."""
        key = identifier_of(request, self.account_email)
        with self._cond:
            state = self._ids.get(key) if key is not None else None
            if bool(state and (state.answered_failures or state.locks) and answer.error not in state.refusals):
                return True
            # a stand-in (locks.replace_held) forbidden as the identifier it stands in for was after its failures:
            # the same lock (the policy counts more than the identifier: the suite's address, say)
            origin = self._ids.get(self._origins.get(key, ""))
            return bool(origin and origin.locks and answer.error not in origin.refusals)

    @property
    def lock_answers(self) -> int:
        with self._cond:
            return sum(state.locks for state in self._ids.values())

    @contextlib.contextmanager
    def turn(self, request: LoginRequest, allowance: float) -> Iterator["_Ticket"]:
        """Let *request* reach the target when its identifier allows it: waits (at most *allowance* seconds) for a
        lock to end, a probe to be answered, or a failed login to leave the declared window; raises :class:`Held`
        when that would take longer. The caller reports the answer on the ticket (:meth:`_Ticket.answered`)."""
        key = None if request.raw_rate_limit else identifier_of(request, self.account_email)  # (the throttling
        # probe hammers on purpose)
        ticket = _Ticket(self, key, may_fail=request.expect != "success")
        ticket.credential_failure = request.expect == "failure"
        if key is None:
            yield ticket
            return
        self._admit(ticket, request, allowance)
        try:
            yield ticket
        finally:
            if ticket.key is not None:
                self._leave(ticket)

    # -- the identifiers the suite invents: a fresh one for one held for good (stand_ins.py) -------------------------
    def naming_stand_in(self, request: LoginRequest) -> LoginRequest:
        """*request* naming the stand-in of its identifier when that one was replaced (else *request* itself)."""
        key = identifier_of(request, self.account_email)
        with self._cond:
            current = key
            while current in self._stand_ins:
                current = self._stand_ins[current]
        if current == key:
            return request
        return renamed(request, key, current) or request

    def replace_held(self, request: LoginRequest) -> bool:
        """The identifier *request* names was kept from the target (locked longer than the run waits, or one more
        failed login would lock it): when it is one the suite invented, requests naming it name a fresh one from now
        on (True; also when another request replaced it meanwhile). The configured account, the probes that hammer on
        purpose, a body that cannot be rewritten and a stand-in locked at its first request keep theirs (False)."""
        key = identifier_of(request, self.account_email)
        if key is None or key == ACCOUNT_KEY or request.real_account or request.raw_rate_limit:
            return False
        with self._cond:
            if key in self._stand_ins:
                return True
            state = self._ids.get(key)
            if key in self._stand_ins.values() and state is not None and state.locks and not state.locked_after:
                return False  # a fresh identifier locked at its first request: the lock is not the identifier's (a
                # block on the suite's address, say): another one would be locked as well
            if len(self._stand_ins) >= MAX_STAND_INS:
                return False
            account = (self.account_email or "").strip().lower()
            origin = self._origins.get(key, key)  # the identifier the suite invented first
            fresh = fresh_identifier(origin, lambda candidate: candidate in self._ids or candidate == account
                                     or candidate in self._stand_ins.values())
            rewritten = renamed(request, key, fresh)
            if rewritten is None or identifier_of(rewritten, self.account_email) != fresh:
                return False
            self._stand_ins[key] = fresh
            self._origins[fresh] = origin
            self._ids.setdefault(fresh, _Identifier()).learned = self._inherited(origin)
            return True

    def _inherited(self, key: str) -> LockoutPolicy | None:
        """What the lock of *key* taught about its stand-in (the same target counts it the same way): the credential
        failures answered before its first lock (a lower bound of the count that locks; under xdist, whichever worker
        met it) lock the stand-in too, so it is replaced before it would lock (a count that outlived a lock says
        nothing more about a fresh identifier's first one)."""
        state = self._ids.get(key)
        locked_after = state.locked_after if state is not None and state.locked_after else 0
        if self.shared is not None:
            locked_after = locked_after or int(self.shared.read(f"locked after {key}"))
        # (one failure locking: a stand-in could take none; it takes one, and its lock answer, instead)
        return LockoutPolicy(locked_after, math.inf, declared=False) if locked_after >= 2 else None

    # -- internals -------------------------------------------------------------------------------------------------
    def _admit(self, ticket: "_Ticket", request: LoginRequest, allowance: float, *, retry: bool = False) -> float:
        """Wait until *ticket*'s request may go (see :meth:`turn`). *retry*: the retry of a request that met a lock,
        which holds a slot in flight: it waits only for time to pass (a request waiting for its answer could be
        waiting for that slot), and goes before the requests naming the identifier that came after it."""
        waited, slept_to = 0.0, None
        with self._cond:
            state = self._ids.setdefault(ticket.key, _Identifier())
            self._merge_shared(ticket.key, state)
            while True:
                now = self._clock()
                wait_until = self._blocked_until(ticket.key, state, ticket.may_fail, now, retry)
                if wait_until is None and not self._probe_elsewhere(state, ticket):
                    break
                if wait_until is None:  # another xdist worker's request naming it decides: wait for its answer
                    self._cond.wait(SHARED_POLL_SECONDS)
                    self._merge_shared(ticket.key, state)
                    continue
                if wait_until is _PROBE:  # another request naming it is on the wire and decides: wait for its answer
                    self._cond.wait(0.5)
                    continue
                if wait_until <= now:
                    continue
                if wait_until == slept_to:
                    break  # slept until then already (an injected sleep lets no time pass)
                left = wait_until - now
                if waited + left > allowance:
                    raise Held(self._why_held(state, ticket, wait_until, now))
                self._cond.release()
                try:
                    self._sleep(left)
                finally:
                    self._cond.acquire()
                waited += left
                slept_to = wait_until
                self._merge_shared(ticket.key, state)
            if state.after_lock:
                state.probing = ticket.probe = True
            ticket.locks_before = state.locks + state.met_elsewhere
            if ticket.may_fail:
                state.pending += 1
                ticket.pending = True
        return waited

    def _blocked_until(self, key: str, state: _Identifier, may_fail: bool, now: float, retry: bool = False):
        """None: it may go now; _PROBE: wait for an answer in flight; else the clock() it may go at."""
        if state.locked_until is not None and now < state.locked_until:
            return state.locked_until
        if not retry and (state.probing or state.retrying):
            return _PROBE
        policy = self.policy_for(state)
        if not may_fail or policy is None:
            return None
        counted = self._counted(key, state, policy, now)
        if len(counted) + state.pending + 1 < policy.failures:
            return None
        if not retry and state.pending and len(counted) + 1 < policy.failures:
            return _PROBE  # the failures in flight decide: wait for their answers (a retry counts them as failed)
        if policy.window == math.inf or not counted:
            return math.inf
        return counted[0] + with_margin(policy.window)

    def _counted(self, key: str, state: _Identifier, policy: LockoutPolicy, now: float) -> list[float]:
        """The failed logins on *key* the *policy* counts now: within its window (under xdist every worker's, from
        the shared tally), or for a policy without one those since the last lock ended."""
        if policy.window == math.inf:
            return list(state.failures)
        times = state.history
        if self.shared is not None:
            times = self.shared.transact(lambda data: list(data.get(f"refusal_times {key}", ())))
        return [t for t in times if t + with_margin(policy.window) > now]  # (as the end _blocked_until gives)

    def _merge_shared(self, key: str, state: _Identifier) -> None:
        """A lock another xdist worker met on *key* holds it here too (its end on the shared monotonic clock), and so
        does what it learned from it (a count that outlived the lock)."""
        if self.shared is None:
            return
        # another worker found that its count outlived a lock (the run's target, the same), and what it learned
        outlived = self.shared.transact(lambda data: data.get(f"outlived {key}"))
        if outlived:
            failures, window, again, first = outlived
            learned = LockoutPolicy(int(failures), float(window), declared=False)
            mine = state.learned
            if mine is None or state.outlived == (0, 0) or (mine.window < math.inf and learned.window > mine.window):
                state.learned = learned
                state.outlived = (int(again), int(first))
        until = self.shared.read(f"locked_until {key}")
        if until > (state.locked_until or 0.0) and until > self._clock():
            state.locked_until = until
            state.after_lock = True
            state.met_elsewhere += 1

    def _probe_elsewhere(self, state: _Identifier, ticket: "_Ticket") -> bool:
        """Under xdist, after a lock: the one request naming the identifier on the wire is another worker's (this
        one claims it otherwise: at most one request per lock period from the whole run; the retry of a request that
        met the lock claimed it then, unless another worker's request met it too)."""
        if self.shared is None or not state.after_lock or ticket.claimed:
            return False
        ticket.claimed = self.shared.claim(f"probe {ticket.key}")
        return not ticket.claimed

    def policy_for(self, state: _Identifier) -> LockoutPolicy | None:
        """The declared policy, else what this identifier's own locks taught (another identifier's lock says nothing
        about which refusals this one's count includes)."""
        return self.policy or state.learned

    def _why_held(self, state: _Identifier, ticket: "_Ticket", until: float, now: float) -> str:
        who = "the configured account" if ticket.key == ACCOUNT_KEY else "this identifier"
        if state.locked_until is not None and now < state.locked_until:
            when = ("for the rest of the run (its lock answer gave no Retry-After; --lockout-policy tells the suite "
                    "how long a lock lasts)" if until == math.inf else f"for about {until - now:.0f} s more")
            return (f"{who} is locked out by the target {when}; nothing is sent to it meanwhile, so as not to extend "
                    "the lock (raise --max-retry-wait to wait it out)")
        policy = self.policy_for(state)
        assert policy is not None
        if not policy.declared and state.outlived == (0, 0):  # a stand-in's count, from its predecessor's lock
            return (f"one more failed login would lock {who}: the identifier it stands in for was locked after "
                    f"{policy.failures} failed login(s) (no fresh identifier could take its place)")
        spread = ("" if until == math.inf else
                  f"; the oldest leaves the window in {until - now:.0f} s (raise --max-retry-wait to wait for it)")
        if not policy.declared:
            again, first = state.outlived
            outlived = (f"its lock came back after {again} failed login(s), its first after {first}, so the target's "
                        "count outlived the lock")
            if policy.window == math.inf:
                return (f"one more failed login would lock {who} again: {outlived}; no failed login is sent to it any "
                        "more (--lockout-policy lets the suite spread them)")
            counted = len(self._counted(ticket.key, state, policy, now))
            return (f"one more failed login would lock {who} again: {outlived} ({policy.describe()}; {counted} "
                    f"answered and {state.pending} in flight{spread}); not sent")
        counted = len(self._counted(ticket.key, state, policy, now))
        return (f"one more failed login would lock {who} ({policy.describe()}; {counted} answered and "
                f"{state.pending} in flight{spread}); not sent")

    def _leave(self, ticket: "_Ticket") -> None:
        with self._cond:
            state = self._ids[ticket.key]
            if ticket.pending:
                state.pending -= 1
            if ticket.probe:
                state.probing = False
            if ticket.retrying:
                state.retrying -= 1
            if ticket.claimed:
                self.shared.release(f"probe {ticket.key}")
            ticket.pending = ticket.probe = ticket.retrying = ticket.claimed = False
            self._cond.notify_all()

    def answered(self, ticket: "_Ticket", exchange: Exchange, *, lock: bool, retry_after: float | None,
                 received_at: float) -> None:
        """What came back to a request that passed :meth:`turn`."""
        if ticket.key is None:
            return
        with self._cond:
            state = self._ids.setdefault(ticket.key, _Identifier())
            if lock:
                self._lock(state, ticket, retry_after, received_at)
            else:
                state.after_lock = False  # (if it was locked: the lock ended)
                if ticket.may_fail and not exchange.token and exchange.status is not None and exchange.status < 500:
                    state.failures.append(received_at)
                    state.history.append(received_at)
                    state.answered_failures += 1
                    state.credential_failures += ticket.credential_failure
                    if self.shared is not None:  # the whole run's, for _lock (and a window: _counted)
                        self.shared.add(f"refusals {ticket.key}")
                        self.shared.transact(lambda data: _keep_newest(
                            data.setdefault(f"refusal_times {ticket.key}", []), received_at))
                        if ticket.credential_failure:
                            self.shared.add(f"credential_failures {ticket.key}")
                    state.refusals.add(exchange.error if isinstance(exchange.error, str) else None)
            self._cond.notify_all()

    def _lock(self, state: _Identifier, ticket: "_Ticket", retry_after: float | None, received_at: float) -> None:
        self._merge_shared(ticket.key, state)  # a lock another xdist worker met meanwhile: the same lock
        state.locks += 1
        # on the wire when another lock answer on it came (here, or to another xdist worker)
        same_lock = ticket.locks_before < state.locks + state.met_elsewhere - 1
        if not same_lock and self.policy is None:
            # the credential failures (requests meant to fail to log in) since the last lock ended: what a policy
            # counts for sure (whether it counts validation refusals too is not known); under xdist, the run's
            since = 0 if state.after_lock else self._since_lock("credential_failures", ticket.key, state)
            refused = 0 if state.after_lock else self._since_lock("refusals", ticket.key, state)
            learned = state.learned if state.outlived != (0, 0) else None  # (not a stand-in's, from its predecessor)
            if learned is not None and learned.window < math.inf:  # locked again under the window it learned: the
                self._learn_window(ticket.key, state, received_at, longer_than=learned.window)  # window is longer
            elif learned is not None:
                pass  # no failed login is sent to it any more already
            elif state.locked_after is None:
                state.locked_after = since or None  # (locked at its first request: locked before the run)
                if self.shared is not None and since:  # (a stand-in for it learns from it: _inherited)
                    self.shared.raise_to(f"locked after {ticket.key}", since)
            elif 2 * max(since, refused) < state.locked_after:  # again after far fewer: the count outlived the lock
                state.outlived = (max(since, refused), state.locked_after)
                if retry_after is None:  # held for the run anyway: no failed login on it any more
                    state.learned = LockoutPolicy(1, math.inf, declared=False)
                else:  # a lock the suite can wait out: the failed logins go on, spread under a window it learns
                    self._learn_window(ticket.key, state, received_at, longer_than=0.0)
            if self.shared is not None and state.outlived != (0, 0) and state.learned is not None:
                shared = [state.learned.failures, state.learned.window, *state.outlived]  # the other xdist workers
                self.shared.transact(lambda data: _keep_longest(data, f"outlived {ticket.key}", shared))  # too
            state.failures.clear()  # assumed spent by the lock, until a lock that comes sooner says otherwise
            state.answered_failures = state.credential_failures = 0
        if retry_after is not None:
            end = received_at + with_margin(retry_after)
        elif self.policy is not None:
            end = received_at + with_margin(self.policy.window)  # no Retry-After: a lock lasts the declared window
        else:
            end = math.inf
        state.locked_until = max(state.locked_until or 0.0, end)
        state.after_lock = True
        if self.shared is not None:
            self.shared.raise_to(f"locked_until {ticket.key}", state.locked_until)
            if not ticket.claimed:  # its retry is the one request of the next lock period, for the whole run
                ticket.claimed = self.shared.claim(f"probe {ticket.key}")
        if not ticket.retrying:  # its retry goes before the requests naming it that come later: they wait for it
            state.retrying += 1
            ticket.retrying = True

    def _learn_window(self, key: str, state: _Identifier, now: float, *, longer_than: float) -> None:
        """The count on *key* outlived a lock that ends (a sliding window neither the lock nor a success resets):
        the failed logins that locked it first (a lower bound of the policy's count, N) lock it within a window to
        learn. The newest N failed logins answered are all still counted (the policy counted at least N, and counts
        no more than every failed login naming it), so the window is longer than their span; it is assumed twice
        that, and twice *longer_than* (the window learned before, which a lock under it showed too short), so the
        failed logins spread under it (N - 1 within the window) lock it again at most a few times in a run."""
        failures = state.locked_after or 1
        times = sorted(state.history if self.shared is None else
                       self.shared.transact(lambda data: list(data.get(f"refusal_times {key}", ()))))
        span = now - times[-failures] if len(times) >= failures else now - times[0] if times else 0.0
        state.learned = LockoutPolicy(failures, max(2 * span, 2 * longer_than, MIN_LEARNED_WINDOW), declared=False)

    def _since_lock(self, counter: str, key: str, state: _Identifier) -> int:
        """The *counter* ("credential_failures", or "refusals": every failed login) on *key* answered since its last
        lock: this process's, or under xdist every worker's (counted in the shared tally; this lock is the new
        mark)."""
        if self.shared is None:
            return state.credential_failures if counter == "credential_failures" else state.answered_failures
        total = self.shared.read(f"{counter} {key}")
        since = total - self.shared.read(f"{counter} at lock {key}")
        self.shared.raise_to(f"{counter} at lock {key}", total)
        return int(since)

    def hold_if_locked(self, request: LoginRequest, allowance: float) -> None:
        """Raise :class:`Held` now when the identifier of *request* stays locked longer than *allowance*."""
        key = identifier_of(request, self.account_email)
        with self._cond:
            state = self._ids.setdefault(key, _Identifier()) if key is not None else None
            if state is not None:
                self._merge_shared(key, state)
            now = self._clock()
            if state is not None and state.locked_until is not None and state.locked_until - now > allowance:
                raise Held(self._why_held(state, _Ticket(self, key, False), state.locked_until, now))

    def locked_since_admitted(self, ticket: "_Ticket") -> bool:
        """Right before *ticket*'s request goes: its identifier locked since it was let through (it waited for a
        slot meanwhile), so it is let through again first (:meth:`readmit`): only a request already on the wire
        meets a lock it did not wait out."""
        if ticket.key is None:
            return False
        with self._cond:
            state = self._ids[ticket.key]
            self._merge_shared(ticket.key, state)
            return state.locks + state.met_elsewhere > ticket.locks_before and state.locked_until is not None and \
                self._clock() < state.locked_until

    def readmit(self, ticket: "_Ticket", request: LoginRequest, allowance: float) -> float:
        """Before a retry after a lock answer (or a request whose identifier locked while it waited for a slot): it
        is let through as a new request to the identifier (the lock waited out, the one request of its lock period,
        the policy kept); the seconds waited, or :class:`Held`."""
        if ticket.key is None:
            return 0.0
        with self._cond:
            state = self._ids[ticket.key]
            if ticket.pending:  # let through again below, counted again
                state.pending -= 1
                ticket.pending = False
        try:
            return self._admit(ticket, request, allowance, retry=True)
        except Held:
            self._leave(ticket)
            ticket.key = None  # nothing held any more: leaving the turn releases nothing
            raise

    def locked_for(self, request: LoginRequest) -> float | None:
        """Seconds the identifier of *request* stays locked (inf: the run), or None when it is not locked."""
        key = identifier_of(request, self.account_email)
        with self._cond:
            state = self._ids.get(key) if key is not None else None
            if state is None or state.locked_until is None:
                return None
            left = state.locked_until - self._clock()
            return left if left > 0 else None


_PROBE = object()


def _keep_newest(times: list, received_at: float) -> None:
    times.append(received_at)
    del times[:-HISTORY]


def _keep_longest(data: dict, name: str, learned: list) -> None:
    """*learned* ([failures, window, again, first]) in *data* unless a longer window is there already."""
    if data.get(name) is None or float(data[name][1]) < float(learned[1]):
        data[name] = learned


class _Ticket:
    """One request let through: the book's note of what it holds, and how its answer is reported."""

    def __init__(self, book: LockBook, key: str | None, may_fail: bool) -> None:
        self.book, self.key, self.may_fail = book, key, may_fail
        self.pending = False
        self.probe = False
        self.retrying = False  # it met a lock and may retry
        self.credential_failure = False  # a well-formed login meant to fail (not a validation refusal)
        self.locks_before = 0  # lock answers on its identifier when it was let through
        self.claimed = False  # under xdist: it holds the run's one request to its identifier after a lock

    def answered(self, exchange: Exchange, *, lock: bool, retry_after: float | None, received_at: float) -> None:
        self.book.answered(self, exchange, lock=lock, retry_after=retry_after, received_at=received_at)
