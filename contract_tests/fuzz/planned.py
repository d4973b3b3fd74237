"""A property's requests planned ahead (:func:`send_ahead`): hypothesis generates the property's values with the
same seed, so the same examples, and each value's request -- data, from the property's plan of that value
(fuzz/properties.py) -- is recorded and sent ahead at once; the real run then judges the examples in order, each
handed the answer to its very request. Nothing is sent by the property and nothing is judged here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from hypothesis import reject
from hypothesis import strategies as st

from ..sending.exchange import LoginRequest
from .control import Stop
from .property_state import PropertyState, fingerprint
from .seeded import seeded_property
from .trial import Trial

if TYPE_CHECKING:
    from .properties import Plan


class _Planned:
    """What has been planned so far: the examples, in hypothesis's order, and the failed logins on the account
    the real run will count for them."""

    def __init__(self, state: PropertyState) -> None:
        self.values: list[Any] = []
        self.first_key: dict[tuple, str] = {}  # request fingerprint -> the example that planned it
        self.limit = state.example_limit
        self.failed_logins = 0  # predicted failed logins on the account, as the real run will count them


class PlannedTrial(Trial):
    """An example as the real run will make it (which account it may name, which unknown address it uses), planned
    and sent ahead, never judged."""

    def __init__(self, fuzz: PropertyState, key: str, value: Any, plan: _Planned) -> None:
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

    def plan_request(self, request: LoginRequest) -> None:
        """Record this example's request and send it ahead, as the real run will send it (the same request twice: a
        replay passes, another example making it is rejected)."""
        plan = self.plan
        if len(plan.values) >= plan.limit:
            raise Stop()
        sent_as = fingerprint(request)
        if sent_as in plan.first_key:
            if plan.first_key[sent_as] == self.key:
                return
            reject()
        plan.first_key[sent_as] = self.key
        plan.values.append(self.value)
        if request.real_account:
            plan.failed_logins += request.expect in ("failure", "invalid")  # "any": a conforming target logs in
        if not (request.real_account and self.fuzz.client.shared):  # xdist: the account's budget is per run
            # sent at once: the client sends while hypothesis generates the next example
            self.fuzz.client.send_ahead([(self.fuzz.ctx.nodeid, request)])


def send_ahead(state: PropertyState, strategy: st.SearchStrategy[Any],
               example: Callable[[Any, Trial], Plan | None]) -> list | None:
    """Generate the property's values (the same seed, so the same examples), record each one's planned request, and
    send them ahead (those naming the configured account through the client's account gate; under xdist those are
    sent when their example runs, the budget being the run's). Returns the examples, in hypothesis's order, for
    :meth:`~contract_tests.fuzz.runner.Fuzz.run` to judge; None when the planning failed. Nothing is judged here.

    Which examples may use the account is predicted as the real run decides it (its share of the failed-login
    budget), counting a failed login for each such request that expects a failure; should an answer prove
    the prediction wrong (a right login: the bug the property looks for), the requests that follow differ from
    the planned ones and are sent when their example runs."""
    plan = _Planned(state)

    @seeded_property(state.session.settings, strategy, shrink=False)
    def dry(value: Any) -> None:
        trial = PlannedTrial(state, repr(value), value, plan)
        planned = example(value, trial)
        if planned is not None:
            trial.plan_request(planned.request)

    try:
        dry()
    except Stop:
        pass  # as many examples as the property may send
    except Exception:  # noqa: BLE001 -- anything the planning cannot do: the real run sends as it goes
        return None
    return plan.values


__all__ = ["PlannedTrial", "send_ahead"]
