"""Requests sent ahead (--in-flight above 1): which tests' declared requests the plan may build, and when.

The one place the plugin wires declared.py in: the session fixtures set up so far (what a plan may use), the plan at
the run's first check and again when there is more to use, each test's declared requests answered for it (the
`exchange` / `exchanges` fixtures), and the rest of what was sent ahead for it dropped.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Iterator

import pytest

from .. import declared
from .session import SuiteState

_PLANNER = pytest.StashKey["Planner"]()


@dataclass
class Planner:
    state: SuiteState
    planned: set[str] = field(default_factory=set)  # node IDs whose declared requests were sent ahead
    plan_inputs: tuple | None = None  # what the last plan could use (session fixtures, failed logins); None: no plan
    session_values: dict[str, object] = field(default_factory=dict)  # session fixtures set up so far, by name

    def fixture_set_up(self, fixturedef: pytest.FixtureDef, request: pytest.FixtureRequest, value: object) -> None:
        if fixturedef.scope == "session" and not hasattr(request, "param"):  # fixed for the run: the plan may use it
            if self.state.client is not None:
                self.session_values[fixturedef.argname] = value

    def send_ahead(self, item: pytest.Item) -> None:
        """At the run's first check: send the declared requests of the tests still to run ahead (declared.py); again
        whenever a session fixture has been set up since (a learned value: the requests built from it can be
        declared), and once the success-path checks are done (the requests naming the account that may fail)."""
        state = self.state
        client = state.client
        failed_logins = item.get_closest_marker("success_path") is None
        inputs = (len(self.session_values), failed_logins)
        if (client is None or client.limits.in_flight <= 1 or client.stopped or state.session is None
                or hasattr(state.config, "workerinput") or self.plan_inputs == inputs):
            return
        self.plan_inputs = inputs
        items = state.session.items
        account = state.settings.account
        known = {"unknown_email": state.settings.unknown_email, "configured_account": account,
                 **({"account": account} if account is not None else {}), **self.session_values}
        rest = [later for later in items[items.index(item):] if later.nodeid not in self.planned]
        planned = declared.plan(rest, state.catalog, known, failed_logins=failed_logins)
        if declared.send_ahead(client, planned):
            self.planned.update(key for key, _ in planned)

    @contextlib.contextmanager
    def around_call(self, item: pytest.Item) -> Iterator[None]:
        """Around one contract test's call: its requests sent ahead are its own while it runs."""
        client = self.state.open_client
        if item.get_closest_marker("fuzz"):
            self.state.warm_up.drop("fuzzing")  # what is not loaded yet, the property loads now
        self.send_ahead(item)
        client.plan_key = item.nodeid  # its declared requests may have been sent ahead
        try:
            funcargs = getattr(item, "funcargs", {})
            for name, value in funcargs.items():  # the `exchange` / `exchanges` fixtures: the answers, in the call
                if isinstance(value, declared.Declared):
                    funcargs[name] = value.answer(client)
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
