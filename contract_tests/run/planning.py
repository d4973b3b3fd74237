"""Requests sent ahead (--in-flight above 1): which tests' requests the plan may build, and when it is asked again.

The one place the plugin wires plan.py in: the session fixtures set up so far (what a plan may use), the plan at the
run's first check and again when there is more to use, and each test's own requests taken by it (the rest dropped).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Iterator

import pytest

from .. import plan
from .session import SuiteState

_PLANNER = pytest.StashKey["Planner"]()


@dataclass
class Planner:
    state: SuiteState
    planned: set[str] = field(default_factory=set)  # node IDs whose request was sent ahead (plan.py)
    plan_inputs: tuple | None = None  # what the last plan could use (session fixtures, failed logins); None: no plan
    session_values: dict[str, object] = field(default_factory=dict)  # session fixtures set up so far, by name

    def fixture_set_up(self, fixturedef: pytest.FixtureDef, request: pytest.FixtureRequest, value: object) -> None:
        if fixturedef.scope == "session" and not hasattr(request, "param"):  # fixed for the run: the plan may use it
            if self.state.client is not None:
                self.session_values[fixturedef.argname] = value

    def send_ahead(self, item: pytest.Item) -> None:
        """At the run's first check: send the run's plannable requests ahead (plan.py); again whenever a session
        fixture has been set up since (a learned value: the checks that need it can be planned), and once the
        success-path checks are done (the requests naming the account that may fail a login)."""
        state = self.state
        client = state.client
        failed_logins = item.get_closest_marker("success_path") is None
        inputs = (len(self.session_values), failed_logins)
        if (client is None or client.limits.in_flight <= 1 or client.stopped or state.session is None
                or hasattr(state.config, "workerinput") or self.plan_inputs == inputs):
            return
        self.plan_inputs = inputs
        items = state.session.items
        # what a test may use before its request at plan time: data, and the suite and its client read-only
        fixtures = {name: (lambda value=value: value) for name, value in self.session_values.items()
                    if plan.plain_data(value)}
        fixtures.update({"unknown_email": lambda: state.settings.unknown_email,
                         "account": lambda: state.settings.account,
                         "suite": lambda: plan.ReadOnlySuite(state), "client": lambda: plan.ReadOnlyClient(client)})
        rest = [later for later in items[items.index(item):] if later.nodeid not in self.planned]
        planned = plan.plan(rest, state.catalog, fixtures, failed_logins=failed_logins, ledger=state.ledger)
        if plan.send_ahead(client, planned):
            self.planned.update(key for key, _ in planned)

    @contextlib.contextmanager
    def around_call(self, item: pytest.Item) -> Iterator[None]:
        """Around one contract test's call: its requests sent ahead are its own while it runs."""
        client = self.state.client
        if item.get_closest_marker("fuzz"):
            self.state.warm_up.drop("fuzzing")  # what is not loaded yet, the property loads now
        self.send_ahead(item)
        client.plan_key = item.nodeid  # its request may have been sent ahead
        try:
            yield
        finally:
            client.plan_key = None
            client.discard_ahead(item.nodeid)


def planner(config: pytest.Config, state: SuiteState) -> Planner:
    """The run's planner (made on first use)."""
    found = config.stash.get(_PLANNER, None)
    if found is None or found.state is not state:
        found = config.stash[_PLANNER] = Planner(state)
    return found
