"""The lock book: per identifier, what the target saw of the suite, whether it is locked, and which request may go
(the package's docstring says what it keeps and why)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import Any, AsyncIterator, Callable

from ..account_gate import SHARED_POLL_SECONDS
from ..event_loop import Signal, settled
from ..exchange import Exchange, LoginRequest
from . import admission
from .held import Held, why_held
from .identifiers import ACCOUNT_KEY, IdentifierState, identifier_of
from .learning import merge_shared, record_failure
from .lock_answers import lock_met
from .policy import LockoutPolicy
from .stand_in_map import StandInMap


class LockBook:
    def __init__(self, policy: LockoutPolicy | None = None, *, account_email: str | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], object] = asyncio.sleep) -> None:
        self.policy = policy
        self.account_email = account_email
        self.shared: Any = None  # under xdist, the run's shared tally (raise_to / read): the workers share their locks
        self._clock = clock
        self._sleep = sleep
        # the book changes on the client's event loop; the mutex keeps a read from another thread (the run's report)
        # whole, and a request waiting for a change awaits the signal (event_loop.py)
        self._mutex = threading.RLock()
        self._changed = Signal()
        self._ids: dict[str, IdentifierState] = {}
        self._stand_ins = StandInMap()

    # -- what the client asks -------------------------------------------------------------------------------------
    def forbidden_after_failures(self, request: LoginRequest, answer: Exchange) -> bool:
        """*answer* forbids an identifier that had failed logins answered otherwise earlier in this run: the
        identifier locking (an identifier that was forbidden from its first answer on is a disabled account)."""
        key = identifier_of(request, self.account_email)
        with self._mutex:
            state = self._ids.get(key) if key is not None else None
            if bool(state and (state.answered_failures or state.locks) and answer.error not in state.refusals):
                return True
            # a stand-in (replace_held) forbidden as the identifier it stands in for was after its failures:
            # the same lock (the policy counts more than the identifier: the suite's address, say)
            origin = self._ids.get(self._stand_ins.origin(key) or "")
            return bool(origin and origin.locks and answer.error not in origin.refusals)

    @property
    def stand_ins(self) -> dict[str, str]:
        """Each identifier the suite invented that the target kept locked -> the fresh one standing in for it."""
        with self._mutex:
            return self._stand_ins.replaced

    @property
    def lock_answers(self) -> int:
        with self._mutex:
            return sum(state.locks for state in self._ids.values())

    @contextlib.asynccontextmanager
    async def turn(self, request: LoginRequest, allowance: float) -> AsyncIterator["_Ticket"]:
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
        await self._admit(ticket, request, allowance)
        try:
            yield ticket
        finally:
            if ticket.key is not None:
                self._leave(ticket)

    # -- the identifiers the suite invents: a fresh one for one held for good (stand_ins.py) -------------------------
    def naming_stand_in(self, request: LoginRequest) -> LoginRequest:
        """*request* naming the stand-in of its identifier when that one was replaced (else *request* itself)."""
        with self._mutex:
            return self._stand_ins.naming(request, self.account_email)

    def replace_held(self, request: LoginRequest) -> bool:
        """The identifier *request* names was kept from the target (locked longer than the run waits, or one more
        failed login would lock it): when it is one the suite invented, requests naming it name a fresh one from now
        on (True; also when another request replaced it meanwhile). The configured account, the probes that hammer on
        purpose, a body that cannot be rewritten and a stand-in locked at its first request keep theirs (False)."""
        key = identifier_of(request, self.account_email)
        if key is None or key == ACCOUNT_KEY or request.real_account or request.raw_rate_limit:
            return False
        with self._mutex:
            return self._stand_ins.replace(key, request, self.account_email, self._ids, self.shared)

    # -- internals -------------------------------------------------------------------------------------------------
    async def _admit(self, ticket: "_Ticket", request: LoginRequest, allowance: float, *, retry: bool = False) -> float:
        """Wait until *ticket*'s request may go (see :meth:`turn`). *retry*: the retry of a request that met a lock,
        which holds a slot in flight: it waits only for time to pass (a request waiting for its answer could be
        waiting for that slot), and goes before the requests naming the identifier that came after it."""
        key = _key_of(ticket)
        waited, slept_to = 0.0, None
        with self._mutex:
            state = self._ids.setdefault(key, IdentifierState())
            self._merge_shared(key, state)
        while True:
            with self._mutex:
                now = self._clock()
                wait_until = admission.blocked_until(key, state, self.policy_for(state), self.shared,
                                                     may_fail=ticket.may_fail, now=now, retry=retry)
                if wait_until is None and not admission.probe_elsewhere(self.shared, state, ticket):
                    break
                if wait_until is not None and wait_until is not admission.PROBE:
                    if wait_until <= now:
                        continue
                    if wait_until == slept_to:
                        break  # slept until then already (an injected sleep lets no time pass)
                    left = wait_until - now
                    if waited + left > allowance:
                        raise Held(self._why_held(state, ticket, wait_until, now))
            if wait_until is None:  # another xdist worker's request naming it decides: wait for its answer
                await self._changed.wait(SHARED_POLL_SECONDS)
            elif wait_until is admission.PROBE:  # another request naming it is on the wire and decides: its answer
                await self._changed.wait(0.5)
                continue
            else:
                await settled(self._sleep(left))
                waited += left
                slept_to = wait_until
            with self._mutex:
                self._merge_shared(key, state)
        with self._mutex:
            if state.after_lock:
                state.probing = ticket.probe = True
            ticket.locks_before = state.locks + state.met_elsewhere
            if ticket.may_fail:
                state.pending += 1
                ticket.pending = True
        return waited

    def _merge_shared(self, key: str, state: IdentifierState) -> None:
        merge_shared(self.shared, key, state, self._clock())

    def policy_for(self, state: IdentifierState) -> LockoutPolicy | None:
        """The declared policy, else what this identifier's own locks taught (another identifier's lock says nothing
        about which refusals this one's count includes)."""
        return self.policy or state.learned

    def _why_held(self, state: IdentifierState, ticket: "_Ticket", until: float, now: float) -> str:
        key = _key_of(ticket)
        policy = self.policy_for(state)
        counted = len(admission.counted(key, state, policy, self.shared, now)) if policy is not None else 0
        return why_held(key, state, policy, counted, until, now)

    def _leave(self, ticket: "_Ticket") -> None:
        key = _key_of(ticket)
        with self._mutex:
            state = self._ids[key]
            if ticket.pending:
                state.pending -= 1
            if ticket.probe:
                state.probing = False
            if ticket.retrying:
                state.retrying -= 1
            if ticket.claimed:
                self.shared.release(f"probe {key}")
            ticket.pending = ticket.probe = ticket.retrying = ticket.claimed = False
            self._changed.notify_all()

    def answered(self, ticket: "_Ticket", exchange: Exchange, *, lock: bool, retry_after: float | None,
                 received_at: float) -> None:
        """What came back to a request that passed :meth:`turn`."""
        if ticket.key is None:
            return
        with self._mutex:
            state = self._ids.setdefault(ticket.key, IdentifierState())
            if lock:
                self._merge_shared(ticket.key, state)  # a lock another xdist worker met meanwhile: the same lock
                lock_met(state, ticket, self.policy, self.shared, retry_after, received_at)
            else:
                state.after_lock = False  # (if it was locked: the lock ended)
                if ticket.may_fail and not exchange.token and exchange.status is not None and exchange.status < 500:
                    record_failure(state, ticket.key, self.shared, received_at,
                                   credential=ticket.credential_failure, error=exchange.error)
            self._changed.notify_all()

    def hold_if_locked(self, request: LoginRequest, allowance: float) -> None:
        """Raise :class:`Held` now when the identifier of *request* stays locked longer than *allowance*."""
        key = identifier_of(request, self.account_email)
        with self._mutex:
            state = self._ids.setdefault(key, IdentifierState()) if key is not None else None
            if state is not None and key is not None:
                self._merge_shared(key, state)
            now = self._clock()
            if state is not None and state.locked_until is not None and state.locked_until - now > allowance:
                raise Held(self._why_held(state, _Ticket(self, key, False), state.locked_until, now))

    def locked_since_admitted(self, ticket: "_Ticket") -> bool:
        """Right before *ticket*'s request goes: its identifier locked since it was let through (it waited for a
        slot meanwhile), so it is let through again first (:meth:`readmit`): only a request already on the wire
        meets a lock it did not wait out."""
        key = ticket.key
        if key is None:
            return False
        with self._mutex:
            state = self._ids[key]
            self._merge_shared(key, state)
            return state.locks + state.met_elsewhere > ticket.locks_before and state.locked_until is not None and \
                self._clock() < state.locked_until

    async def readmit(self, ticket: "_Ticket", request: LoginRequest, allowance: float) -> float:
        """Before a retry after a lock answer (or a request whose identifier locked while it waited for a slot): it
        is let through as a new request to the identifier (the lock waited out, the one request of its lock period,
        the policy kept); the seconds waited, or :class:`Held`."""
        key = ticket.key
        if key is None:
            return 0.0
        with self._mutex:
            state = self._ids[key]
            if ticket.pending:  # let through again below, counted again
                state.pending -= 1
                ticket.pending = False
        try:
            return await self._admit(ticket, request, allowance, retry=True)
        except Held:
            self._leave(ticket)
            ticket.key = None  # nothing held any more: leaving the turn releases nothing
            raise

    def locked_for(self, request: LoginRequest) -> float | None:
        """Seconds the identifier of *request* stays locked (inf: the run), or None when it is not locked."""
        key = identifier_of(request, self.account_email)
        with self._mutex:
            state = self._ids.get(key) if key is not None else None
            if state is None or state.locked_until is None:
                return None
            left = state.locked_until - self._clock()
            return left if left > 0 else None


def _key_of(ticket: "_Ticket") -> str:
    """The identifier *ticket* holds something on (a ticket naming none holds nothing here)."""
    assert ticket.key is not None
    return ticket.key


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
