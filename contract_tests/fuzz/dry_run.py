"""A property run dry (:func:`send_ahead`): the same seed, so the same examples, each stopped at its request, which
is recorded and sent ahead at once; the real run then judges the examples in order, each handed the answer to its
very request. Nothing is judged here."""

from __future__ import annotations

import contextlib
from typing import Any, Callable

from hypothesis import reject
from hypothesis import strategies as st

from ..judging.ledger import Ledger, TestContext
from ..sending.exchange import Exchange, LoginRequest
from .control import AlreadyPassed, Planned, Stop
from .property_state import PropertyState, fingerprint
from .seeded import seeded_property
from .trial import Trial


class _DryRun:
    """What a dry run has planned so far: the examples, in hypothesis's order, and the failed logins on the account
    the real run will count for them."""

    def __init__(self, state: PropertyState) -> None:
        self.values: list[Any] = []
        self.first_key: dict[tuple, str] = {}  # request fingerprint -> the example that planned it
        self.limit = state.example_limit
        self.failed_logins = 0  # predicted failed logins on the account, as the real run will count them


class DryTrial(Trial):
    """An example of the dry run: its request is planned and sent ahead, never judged."""

    def __init__(self, fuzz: PropertyState, key: str, value: Any, plan: _DryRun) -> None:
        super().__init__(fuzz, key)
        self.value = value
        self.plan = plan

    def real_account(self) -> bool:
        if self._real is None:
            f, c, plan = self.fuzz, self.fuzz.client, self.plan
            self._real = (f.session.account is not None and plan.failed_logins < f.login_share
                          and c.run_failed_logins + plan.failed_logins < c.limits.failed_login_budget)
        return self._real

    def unknown_email(self) -> str:
        saved = self.fuzz.examples
        self.fuzz.examples = len(self.plan.values)  # the count the real run will have reached at this example
        try:
            return super().unknown_email()
        finally:
            self.fuzz.examples = saved

    def send(self, request: LoginRequest) -> Exchange:
        plan = self.plan
        if len(plan.values) >= plan.limit:
            raise Stop()
        sent_as = fingerprint(request)
        if sent_as in plan.first_key:  # as in the real run: a replay passes, another example is rejected
            if plan.first_key[sent_as] == self.key:
                raise AlreadyPassed()
            reject()
        plan.first_key[sent_as] = self.key
        plan.values.append(self.value)
        if request.real_account:
            plan.failed_logins += request.expect in ("failure", "invalid")  # "any": a conforming target logs in
        if not (request.real_account and self.fuzz.client.shared):  # xdist: the account's budget is per run
            # sent at once: the pool sends while hypothesis generates the next example
            self.fuzz.client.send_ahead([(self.fuzz.ctx.nodeid, request)])
        raise Planned()


def send_ahead(state: PropertyState, strategy: st.SearchStrategy[Any],
               example: Callable[[Any, Trial], None]) -> list | None:
    """Run the property dry (the same seed, so the same examples), record each example's request, and send
    them ahead (those naming the configured account through the client's account gate; under xdist those are
    sent when their example runs, the budget being the run's). Returns the examples, in hypothesis's order, for
    :meth:`~contract_tests.fuzz.runner.Fuzz.run` to judge; None when the dry run failed. Nothing is judged here.

    Which examples may use the account is predicted as the real run decides it (its share of the failed-login
    budget), counting a failed login for each such request that expects a failure; should an answer prove
    the prediction wrong (a right login: the bug the property looks for), the requests that follow differ from
    the planned ones and are sent when their example runs."""
    plan = _DryRun(state)
    scratch = TestContext(state.ctx.nodeid, state.ctx.requirements)

    @seeded_property(state.session.settings, strategy, shrink=False)
    def dry(value: Any) -> None:
        trial = DryTrial(state, repr(value), value, plan)
        try:
            example(value, trial)
        except (Planned, AlreadyPassed):
            pass

    ledger = state.client.ledger
    assert ledger is None or isinstance(ledger, Ledger)  # the client holds the run's ledger untyped (sending/ layer)
    # whatever an example records before its request (nothing, normally) is dropped
    with ledger.running(scratch) if ledger is not None else contextlib.nullcontext():
        try:
            dry()
        except Stop:
            pass  # as many examples as the property may send
        except Exception:  # noqa: BLE001 -- anything the dry run cannot do: the real run sends as it goes
            return None
    return plan.values


__all__ = ["DryTrial", "send_ahead"]
