"""The order of the requests naming the configured account, whoever sends them (a test, or a request sent ahead).

Failed logins on a real account are what a production deployment's lockout policy counts, so the suite keeps
three things true *in the order the target sees them*, with requests in flight as without:

* the failed-login budget is exact: a request that may fail to log in holds one unit of it from the moment it is
  let through until its answer is counted (a token gives the unit back), so the units held and spent never pass
  the budget;
* no more than ``interleave_every`` refusals in a row (failed logins, validation refusals and the probes that name
  the account by its address alike: some policies count them all): a request that may fail is let through only while the
  failures answered since the last successful login plus those in flight stay under it; at the limit, with none in
  flight, a successful login is sent first (the interleaved login a policy that resets on success needs);
* successful logins and possible failures are never in flight together, so "since the last success" is a fact
  about the target's order, not a guess.

Successful logins may be in flight together; so may up to ``interleave_every`` possible failures.

Under pytest-xdist the workers of one run share one gate: its counts (the streak, the possible failures and the
successes in flight, whether an interleaved login is on its way) are kept in the run's shared tally
(shared_tally.py) per process, changed under its file lock, so the three promises hold for the run as for one
process. A worker waiting at a shared gate looks again every few milliseconds (another process cannot wake it: an
await on the client's loop between looks, never a blocked loop); the counts of a worker that died are dropped.
"""

from __future__ import annotations

import contextlib
import os
from typing import AsyncIterator, Awaitable, Callable

from .event_loop import Signal
from .shared_tally import SharedTally, process_alive

SHARED_POLL_SECONDS = 0.005  # how often a worker waiting at the shared gate looks again


class AccountGate:
    """The gate (its counts change on the client's event loop only: a wait is an await on it, event_loop.py)."""

    def __init__(self, interleave_every: int) -> None:
        self.interleave_every = max(1, interleave_every)
        self._changed = Signal()
        self._local = _Counts()
        self.shared: SharedTally | None = None  # under xdist: the run's tally, where the counts are kept
        self.held = 0  # budget units held here: possible failures in flight, and failures answered but not counted

    @property
    def streak(self) -> int:
        """Failed logins answered since the last successful one, in the target's order (the whole run's)."""
        return self._counts(lambda c: c.streak)

    @contextlib.asynccontextmanager
    async def spender(self, check_budget: Callable[[int], None], interleave: Callable[[], Awaitable[None]],
                      give_back: Callable[[], None] = lambda: None, *, budgeted: bool = True,
                      alone: bool = False) -> AsyncIterator["_Turn"]:
        """One request that may fail to log in. *check_budget(held)* raises when one more would pass the budget
        (nothing is sent then; otherwise it has taken the unit); *interleave()* sends the successful login that
        resets the streak; *give_back()* returns a unit *check_budget* took when no failed login came of it.
        *budgeted* False: a request naming the account outside the budget (it holds no unit), whose refusal is one in
        the streak all the same. *alone*: it carries the right password, so it may log in as well as fail: it goes
        with nothing else on the account in flight, and nothing else goes meanwhile (a success is never in flight
        with a possible failure)."""
        interleaved = False
        while True:
            step = self._counts(lambda c, interleaved=interleaved: self._next_step(c, interleaved, alone))
            if step == "go":  # let through (counted in flight), unless the budget says no
                try:
                    check_budget(self.held)
                except Exception:
                    if not self._counts(lambda c: self._give_up_turn(c, alone)):
                        self._changed.notify_all()
                        raise
                    # a possible failure in flight may log in and give its unit back: decide on its answer, as
                    # a sequential run would, not on the units it holds meanwhile
                    self._changed.notify_all()
                    await self._wait()
                    continue
                self.held += budgeted
                break
            if step == "interleave":
                try:
                    await interleave()
                finally:
                    self._counts(lambda c: c.set_interleaving(False))
                    self._changed.notify_all()
                interleaved = True
                continue
            await self._wait()
        turn = _Turn()
        answered = False
        try:
            yield turn
            answered = True
        finally:
            spent = answered and not turn.logged_in
            if not spent and budgeted:
                self.held -= 1  # a token, or no answer: nothing to count
                give_back()  # before anyone waiting sees this request leave: it may need this unit

            def leave(c: _Counts) -> None:
                self._give_up_turn(c, alone)
                if turn.logged_in:
                    c.streak = 0
                if spent and turn.judged:
                    c.streak += 1  # a budget unit stays held until the failure is counted (:meth:`counted`)

            self._counts(leave)
            self._changed.notify_all()

    def _next_step(self, c: "_Counts", interleaved: bool, alone: bool = False) -> str:
        """What a possible failure does now: ``go`` (counted in flight; *alone*: as a success too, and only with
        nothing else in flight), ``interleave`` (this request sends the successful login first: marked on its way)
        or ``wait``."""
        free = c.succeeding == 0 and not c.interleaving
        if free and (c.streak + c.spending < self.interleave_every or (interleaved and not c.spending)) and not (
                alone and c.spending):
            c.add_spending(1)
            if alone:
                c.add_succeeding(1)
            return "go"
        if free and not c.spending and not interleaved:
            c.set_interleaving(True)
            return "interleave"
        return "wait"

    @staticmethod
    def _give_up_turn(c: "_Counts", alone: bool) -> int:
        """A possible failure leaves the requests in flight; how many possible failures are left in flight."""
        if alone:
            c.add_succeeding(-1)
        return c.add_spending(-1)

    @contextlib.asynccontextmanager
    async def success(self, *, interleaving: bool = False) -> AsyncIterator["_Turn"]:
        """One login with the right credentials; *interleaving*: the one :meth:`spender` sends itself."""

        def enter(c: _Counts) -> bool:
            if not interleaving and (c.spending or c.interleaving):
                return False
            c.add_succeeding(1)
            return True

        while not self._counts(enter):
            await self._wait()
        turn = _Turn()
        try:
            yield turn
        finally:
            def leave(c: _Counts) -> None:
                c.add_succeeding(-1)
                if turn.logged_in:
                    c.streak = 0

            self._counts(leave)
            self._changed.notify_all()

    def counted(self) -> None:
        """A failed login that held a unit is now counted in the budget (its test took the answer)."""
        self.held -= 1

    # -- where the counts are -------------------------------------------------------------------------------------
    def _counts(self, use: Callable[["_Counts"], object]):
        """*use(counts)*: this process's counts, or the run's in the shared tally (read and written back under its
        file lock: a short transaction, run on the loop)."""
        if self.shared is None:
            return use(self._local)
        return self.shared.transact(lambda data: use(_SharedCounts(data.setdefault("account_gate", {}))))

    async def _wait(self) -> None:
        if self.shared is None:
            await self._changed.wait()
        else:  # another process cannot notify: look again soon (a request of this one still wakes it at once)
            await self._changed.wait(SHARED_POLL_SECONDS)


class _Counts:
    """The gate's counts in one process."""

    def __init__(self) -> None:
        self.streak = 0  # failed logins answered since the last successful one, in the target's order
        self.spending = 0  # requests in flight that may be a failed login
        self.succeeding = 0  # successful logins (expected) in flight
        self.interleaving = False  # an interleaved successful login is on its way

    def add_spending(self, change: int) -> int:
        """Possible failures in flight change by *change*; how many there are now."""
        self.spending += change
        return self.spending

    def add_succeeding(self, change: int) -> None:
        self.succeeding += change

    def set_interleaving(self, on: bool) -> None:
        self.interleaving = on


class _SharedCounts(_Counts):
    """The gate's counts of the whole run, in the shared record *data*: the streak, and per process the requests in
    flight and the interleaved login on its way (a process that died holds none)."""

    def __init__(self, data: dict) -> None:  # (no super().__init__: every count lives in *data*)
        self._data = data
        self._me = str(os.getpid())
        data.setdefault("streak", 0)
        for name in ("spending", "succeeding"):
            mine = data.setdefault(name, {})
            for pid in [pid for pid in mine if pid != self._me and not process_alive(pid)]:
                del mine[pid]
        if data.get("interleaving") and data["interleaving"] != self._me and not process_alive(data["interleaving"]):
            data["interleaving"] = ""

    @property
    def streak(self) -> int:
        return self._data["streak"]

    @streak.setter
    def streak(self, value: int) -> None:
        self._data["streak"] = value

    @property
    def spending(self) -> int:
        return sum(self._data["spending"].values())

    @property
    def succeeding(self) -> int:
        return sum(self._data["succeeding"].values())

    @property
    def interleaving(self) -> bool:
        return bool(self._data.get("interleaving"))

    def add_spending(self, change: int) -> int:
        self._add("spending", change)
        return self.spending

    def add_succeeding(self, change: int) -> None:
        self._add("succeeding", change)

    def set_interleaving(self, on: bool) -> None:
        self._data["interleaving"] = self._me if on else ""

    def _add(self, name: str, change: int) -> None:
        counts = self._data[name]
        counts[self._me] = counts.get(self._me, 0) + change
        if not counts[self._me]:
            del counts[self._me]


class _Turn:
    """What the request that was let through got: a token (``logged_in``) or not; no answer leaves the block by its
    exception."""

    def __init__(self) -> None:
        self.logged_in = False
        # the target judged the request's credentials: a captcha demand is answered before them, so it is no refusal
        # in the streak (no lockout policy counts it; an interleaved login would spend a single-use captcha token)
        self.judged = True
