"""The order of the requests naming the configured account, whoever sends them (a test, or the pool sending ahead).

Failed logins on a real account are what a production deployment's lockout policy counts, so the suite keeps
three things true *in the order the target sees them*, with requests in flight as without:

* the failed-login budget is exact: a request that may fail to log in holds one unit of it from the moment it is
  let through until its answer is counted (a token gives the unit back), so the units held and spent never pass
  the budget;
* no more than ``interleave_every`` failed logins in a row: a request that may fail is let through only while the
  failures answered since the last successful login plus those in flight stay under it; at the limit, with none in
  flight, a successful login is sent first (the interleaved login a policy that resets on success needs);
* successful logins and possible failures are never in flight together, so "since the last success" is a fact
  about the target's order, not a guess.

Successful logins may be in flight together; so may up to ``interleave_every`` possible failures.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Callable, Iterator


class AccountGate:
    def __init__(self, interleave_every: int) -> None:
        self.interleave_every = max(1, interleave_every)
        self._cond = threading.Condition()
        self.streak = 0  # failed logins answered since the last successful one, in the target's order
        self.spending = 0  # requests in flight that may be a failed login
        self.succeeding = 0  # successful logins (expected) in flight
        self.held = 0  # budget units held: possible failures in flight, and failures answered but not yet counted
        self._interleaving = False

    @contextlib.contextmanager
    def spender(self, check_budget: Callable[[int], None], interleave: Callable[[], None],
                give_back: Callable[[], None] = lambda: None) -> Iterator["_Turn"]:
        """One request that may fail to log in. *check_budget(held)* raises when one more would pass the budget
        (nothing is sent then; otherwise it has taken the unit); *interleave()* sends the successful login that
        resets the streak; *give_back()* returns a unit *check_budget* took when no failed login came of it."""
        interleaved = False
        with self._cond:
            while True:
                free = self.succeeding == 0 and not self._interleaving
                if free and (self.streak + self.spending < self.interleave_every or (interleaved and not self.spending)):
                    try:
                        check_budget(self.held)
                    except Exception:
                        if not self.spending:
                            raise
                        # a possible failure in flight may log in and give its unit back: decide on its answer, as
                        # a sequential run would, not on the units it holds meanwhile
                        self._cond.wait()
                        continue
                    self.spending += 1
                    self.held += 1
                    break
                if free and not self.spending and not interleaved:
                    self._interleaving = True
                    self._cond.release()
                    try:
                        interleave()
                    finally:
                        self._cond.acquire()
                        self._interleaving = False
                        self._cond.notify_all()
                    interleaved = True
                    continue
                self._cond.wait()
        turn = _Turn()
        answered = False
        try:
            yield turn
            answered = True
        finally:
            with self._cond:
                self.spending -= 1
                spent = answered and not turn.logged_in
                if turn.logged_in:
                    self.streak = 0
                if spent:
                    self.streak += 1  # the unit stays held until the failure is counted (:meth:`counted`)
                else:
                    self.held -= 1  # a token, or no answer: nothing to count
                    give_back()  # before anyone waiting is woken: it may need this unit
                self._cond.notify_all()

    @contextlib.contextmanager
    def success(self, *, interleaving: bool = False) -> Iterator["_Turn"]:
        """One login with the right credentials; *interleaving*: the one :meth:`spender` sends itself."""
        with self._cond:
            while not interleaving and (self.spending or self._interleaving):
                self._cond.wait()
            self.succeeding += 1
        turn = _Turn()
        try:
            yield turn
        finally:
            with self._cond:
                self.succeeding -= 1
                if turn.logged_in:
                    self.streak = 0
                self._cond.notify_all()

    def counted(self) -> None:
        """A failed login that held a unit is now counted in the budget (its test took the answer)."""
        with self._cond:
            self.held -= 1


class _Turn:
    """What the request that was let through got: a token (``logged_in``) or not; no answer leaves the block by its
    exception."""

    def __init__(self) -> None:
        self.logged_in = False
