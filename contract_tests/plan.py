"""The request plan: which hand-written checks' requests can be sent ahead (``--in-flight``), and what they are.

A real deployment is tens of milliseconds away and hashes a password per login, so a suite that sends one request
at a time spends most of its run waiting. Most hand-written checks send one request that depends on nothing but
their parameters, the run's settings and session fixtures, judge its answer, and are done. Those requests are
planned at the run's first check: each such test function is called with a ``send`` that records the request it
builds and stops the function there (nothing is judged, nothing is sent: the suite and the client are read-only
then, and only plain-data fixtures are passed). The client sends the planned requests ``--in-flight`` at a time in
the background (:meth:`ContractClient.send_ahead`) and, when each test runs in its turn, hands it the answer to the
very request it builds again -- or sends it then if it differs. The invariants and the checks see the exchanges in
test order, as in a sequential run.

Requests naming the configured account are planned too: they pass the client's account gate in plan order
(sending/account_gate.py: the failed-login budget exact, never more failed logins in a row than a sequential run
sends, successful logins never in flight with possible failures). Those that may fail a login are planned only once
the success-path checks are done, so the account's failed logins still come after them. The plan grows whenever a
session fixture has been set up (the tests that need it can then be built). Not planned, so sent when their test
runs: tests that use anything else before their first request (a token issued in the test itself), the opt-in
tests (timing and throttling probes stay sequential and alone), and every hand-written check on xdist workers (each
worker learns its tests only as it runs them). The fuzzing properties plan their own examples (fuzz/runner.py).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterable

import pytest

from .contract.catalog import Requirement
from .judging.failures import CROSS_CUTTING
from .judging.ledger import Ledger, TestContext
from .sending.client import ContractClient
from .sending.exchange import Exchange, LoginRequest
from .sending.secrets import Secret

class _Planned(Exception):
    """The test built its first request: recorded, the test function is stopped here."""

    def __init__(self, request: LoginRequest) -> None:
        super().__init__(request.purpose)
        self.request = request


class _NotAtPlanTime(Exception):
    """The test used something only a run provides (a login, learned signatures) before sending."""


class _Unavailable:
    """Stands for a fixture the plan cannot provide: any use stops planning that test."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        raise _NotAtPlanTime(self._name)

    def __call__(self, *args, **kwargs) -> Any:
        raise _NotAtPlanTime(self._name)

    def __iter__(self):
        raise _NotAtPlanTime(self._name)

    def __bool__(self) -> bool:
        raise _NotAtPlanTime(self._name)


class ReadOnlyClient:
    """The client as a test sees it at plan time: its limits and counters; anything that would send stops planning."""

    _READABLE = frozenset({"limits", "account", "run_failed_logins", "run_requests", "failed_logins", "requests_sent"})

    def __init__(self, client: ContractClient) -> None:
        self._client = client

    def __getattr__(self, attribute: str) -> Any:
        if attribute in self._READABLE:
            return getattr(self._client, attribute)
        raise _NotAtPlanTime(f"client.{attribute}")


class ReadOnlySuite:
    """The suite state as a test sees it at plan time: settings, catalog and a :class:`ReadOnlyClient`."""

    def __init__(self, suite: Any) -> None:
        self.settings = suite.settings
        self.catalog = suite.catalog
        self.client = ReadOnlyClient(suite.client)

    def __getattr__(self, attribute: str) -> Any:
        raise _NotAtPlanTime(f"suite.{attribute}")


def plain_data(value: Any, depth: int = 4) -> bool:
    """Whether a fixture's value is data a test may read at plan time (nothing in it can send a request)."""
    if value is None or isinstance(value, (str, bytes, int, float, bool, Secret, Exchange)):
        return True
    if depth == 0 or callable(value):
        return False
    if isinstance(value, (list, tuple, frozenset, set)):
        return all(plain_data(v, depth - 1) for v in value)
    if isinstance(value, dict):
        return all(plain_data(k, depth - 1) and plain_data(v, depth - 1) for k, v in value.items())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return all(plain_data(getattr(value, f.name), depth - 1) for f in dataclasses.fields(value))
    return False


def _record(purpose: str, expect: str, **fields) -> LoginRequest:
    raise _Planned(LoginRequest(purpose=purpose, expect=expect, **fields))


def plannable(item: pytest.Item, catalog: dict[str, Requirement]) -> bool:
    """A hand-written check of the default run whose request may be built before it runs."""
    if not isinstance(item, pytest.Function) or item.get_closest_marker("requirement") is None:
        return False
    if item.get_closest_marker("fuzz") or item.path.name == "test_invariants.py":
        return False
    ids = [rid for mark in item.iter_markers("requirement") for rid in mark.args]
    if any(rid in catalog and catalog[rid].opt_in for rid in ids):
        return False
    return "send" in item.fixturenames


def planned_request(item: pytest.Function, fixtures: dict[str, Callable[[], Any]],
                    ledger: Ledger | None = None) -> LoginRequest | None:
    """The first request *item* sends, built by calling its function up to that request; None when it cannot be
    known before the test runs. *fixtures*: the fixtures whose value is fixed for the run, by name (None: not
    available); any other fixture stands in as unavailable. *ledger*: the run's (its running test is set aside)."""
    params = item.callspec.params if hasattr(item, "callspec") else {}
    kwargs: dict[str, Any] = {}
    for name in item._fixtureinfo.argnames:
        if name in params:
            kwargs[name] = params[name]
        elif name == "send":
            kwargs[name] = _record
        elif name in fixtures:
            value = fixtures[name]()
            kwargs[name] = _Unavailable(name) if value is None else value
        else:
            kwargs[name] = _Unavailable(name)
    ledger = ledger if ledger is not None else Ledger()
    running = ledger.current
    # a throwaway context: whatever the function records before its request (nothing, normally) is dropped
    ledger.begin(TestContext("<plan>", CROSS_CUTTING))
    try:
        item.obj(**kwargs)
    except _Planned as planned:
        return planned.request
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # noqa: BLE001 -- anything else (a skip, a fixture used early): sent when it runs
        return None
    finally:
        ledger.begin(running)
    return None


def plan(items: Iterable[pytest.Item], catalog: dict[str, Requirement], fixtures: dict[str, Callable[[], Any]],
         *, failed_logins: bool = True, ledger: Ledger | None = None) -> list[tuple[str, LoginRequest]]:
    """(node ID, request) of each of *items* whose request can be sent ahead, in run order. *failed_logins*: False
    while the success-path checks run (a request naming the account that may fail waits until they are done)."""
    planned = []
    for item in items:
        if plannable(item, catalog):
            request = planned_request(item, fixtures, ledger)  # type: ignore[arg-type]
            if request is not None and (failed_logins or not request.spends_budget):
                planned.append((item.nodeid, request))
    return planned


def send_ahead(client: ContractClient, planned: list[tuple[str, LoginRequest]]) -> bool:
    """Send the plan ahead when it takes at most half of what is left of the request cap, and its possible failed
    logins on the account all fit in what is left of that budget (else those stay with their tests). Nearer a
    limit, the tests send their requests in run order, so the checks a reached limit blocks are the same whatever
    the concurrency."""
    if not planned or len(planned) > (client.limits.max_requests - client.run_requests) // 2:
        return False
    spending = [(key, request) for key, request in planned if request.spends_budget]
    if len(spending) > client.limits.failed_login_budget - client.run_failed_logins:
        planned = [entry for entry in planned if entry not in spending]
    client.send_ahead(planned)
    return True
