"""Requests sent ahead of their tests (tasks on the client's event loop, ``in_flight`` at a time: the
:class:`AheadQueue`), kept by plan key until their test asks for them, and the identity that matches a test's request
to the one sent for it."""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import Future
from typing import Callable

from .ahead_queue import AheadQueue
from .errors import NotSent
from .exchange import Exchange, LoginRequest
from .secrets import Secret


def wait_for(future: Future, while_waiting: Callable[[], bool] | None):
    """*future*'s result; meanwhile, on the main thread, the steps of *while_waiting* (False: none left)."""
    if while_waiting is not None and threading.current_thread() is threading.main_thread():
        while not future.done() and while_waiting():
            pass
    return future.result()


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


class SendingAhead:
    """The client's sending ahead (a part of :class:`~contract_tests.sending.client.ContractClient`, on its state)."""

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
        if self._queue is None:
            # twice the slots started at once: a request waiting at the account gate holds no slot (in flight stays
            # bounded by _slot), and the others keep sending meanwhile
            self._queue = AheadQueue(self._loop, 2 * self.limits.in_flight)
            if self.plan_key is not None:
                self._queue.open_turn(self.plan_key)
        for key, request in planned:
            # a request naming the account goes when its test runs (its turn), not ahead of an earlier test's: the
            # account's requests reach the target in the run's order, so a lock that holds for the rest of the run
            # comes after the same checks whatever the concurrency (the earlier test's requests may not be planned)
            turn = key if not urgent and self._names_account(request) else None
            future = self._queue.submit(lambda request=request: self._outcome(request), urgent=urgent, turn=turn)
            self._ahead.setdefault(key, []).append((wire_identity(request), future))

    @property
    def plan_key(self) -> str | None:
        """The running test's key: its requests may have been sent ahead, and those naming the account go now."""
        return self._plan_key

    @plan_key.setter
    def plan_key(self, key: str | None) -> None:
        self._plan_key = key
        if key is not None and self._queue is not None:
            self._queue.open_turn(key)

    def answered_ahead(self, key: str, timeout: float | None = None) -> list[Exchange | NotSent]:
        """The outcomes of the requests sent ahead under *key*, each waited for (at most *timeout* seconds), still kept
        for its test: a look at what went ahead, taking nothing."""
        return [future.result(timeout) for _, future in self._ahead.get(key, ())]

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
                self._queue.hurry(future)  # still queued behind requests of later tests: it goes next
                outcome = wait_for(future, self.while_waiting)
                if isinstance(outcome, Exchange):
                    outcome.sent_ahead = True
                    self.sent_ahead += 1
                return outcome
        return None
