"""Requests as data: what a hand-written check sends first, declared beside it, and sent for it by the run.

A contract test that needs requests whose form depends on nothing but its parameters and the run's fixed values
declares them with :func:`sends`: a *factory* whose argument names are fixtures or parameters and which returns a
:class:`~contract_tests.sending.exchange.LoginRequest`, a list of them, or None (nothing to send). The test asks for
``exchange`` (one request) or ``exchanges`` (a list) and receives the answers, judged in test order::

    @requirement("INPUT-01")
    @sends(lambda unknown_email: LoginRequest("no password field", "invalid", json={"email": unknown_email}))
    def test_missing_password_is_rejected(exchange):
        expect("INPUT-01", exchange, checks.no_token)

Because the requests are data, the run knows them without running the test: with ``--in-flight`` above 1 the
plugin builds the declared requests of the tests still to run from the values it already has (their parameters,
the unknown email, the configured account, and each session fixture once it is set up) and hands them to the client
to send ahead (:func:`plan`, :func:`send_ahead`); when a test runs, its declared requests are built again from its
own fixtures and the client hands it the answer to each (sending it then when it was not sent ahead). A request
that needs an answer the test itself gets first (a token issued in the test) is not declared: the test sends it
with ``send``, in order, through the same client. A factory may call ``not_applicable`` (the check does not apply
with these values): planning leaves such a test alone, and the test reports it when it runs.

Not planned ahead: the opt-in probes (sequential and alone), the fuzzing properties (fuzz/runner.py), anything on
xdist workers (each worker learns its tests only as it runs them), and a request naming the account that may fail a
login while the success-path checks run (the account's failed logins come after them).
"""

from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

import pytest

if TYPE_CHECKING:
    from .contract.catalog import Requirement
    from .sending.client import ContractClient
    from .sending.exchange import Exchange, LoginRequest

Factory = Callable[..., "LoginRequest | list[LoginRequest] | None"]
MARKER = "sends"


def sends(factory: Factory) -> Callable[[Callable], Callable]:
    """Declare the requests a test needs: *factory*, called with the fixtures and parameters its arguments name,
    builds them; the test receives their exchanges as ``exchange`` (one) or ``exchanges`` (a list). The factory's
    arguments become the test's own fixtures (set up with it; a parameter is used by it), whether or not the test
    body reads them."""

    def declare(test: Callable) -> Callable:
        signature = inspect.signature(test)
        extra = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY)
                 for name in arguments(factory) if name not in signature.parameters]

        @functools.wraps(test)
        def run(*args: Any, **kwargs: Any) -> Any:
            for parameter in extra:
                kwargs.pop(parameter.name)
            return test(*args, **kwargs)

        run.__signature__ = signature.replace(parameters=[*signature.parameters.values(), *extra])  # type: ignore
        return getattr(pytest.mark, MARKER).with_args(factory)(run)

    return declare


def factory_of(item: pytest.Item) -> Factory | None:
    mark = item.get_closest_marker(MARKER)
    return mark.args[0] if mark is not None else None


@functools.lru_cache(maxsize=None)
def arguments(factory: Factory) -> tuple[str, ...]:
    """The fixture and parameter names *factory* is called with."""
    return tuple(inspect.signature(factory).parameters)


def build(factory: Factory, values: Mapping[str, Any]) -> list[LoginRequest]:
    """The requests *factory* declares for these *values* (by argument name), in the order they are judged."""
    made = factory(**{name: values[name] for name in arguments(factory)})
    if made is None:
        return []
    return list(made) if isinstance(made, (list, tuple)) else [made]


class Declared:
    """A test's declared requests, built from its own fixtures; the plugin replaces it with their exchanges when the
    test is called (:meth:`answer`): in the call itself, so an exhausted budget or a rate limit is the test's verdict
    as for any request it sends."""

    def __init__(self, factory: Factory, values: Mapping[str, Any], *, many: bool) -> None:
        self.factory = factory
        self.values = dict(values)
        self.many = many

    def answer(self, client: ContractClient) -> Exchange | list[Exchange] | None:
        exchanges = [client.send(request) for request in build(self.factory, self.values)]
        if self.many:
            return exchanges
        if len(exchanges) > 1:
            raise TypeError(f"{self.factory!r} declares {len(exchanges)} requests: ask for `exchanges`")
        return exchanges[0] if exchanges else None


def declared(request: pytest.FixtureRequest, *, many: bool) -> Declared:
    """The ``exchange`` / ``exchanges`` fixture's value: the factory's arguments resolved as the test's fixtures."""
    factory = factory_of(request.node)
    if factory is None:
        raise TypeError(f"{request.node.nodeid} asks for its exchange but declares no requests (@sends)")
    return Declared(factory, {name: request.getfixturevalue(name) for name in arguments(factory)}, many=many)


def plannable(item: pytest.Item, catalog: Mapping[str, Requirement]) -> bool:
    """A hand-written check of the default run that declares its requests."""
    if not isinstance(item, pytest.Function) or factory_of(item) is None:
        return False
    ids = [rid for mark in item.iter_markers("requirement") for rid in mark.args]
    return not any(rid in catalog and catalog[rid].opt_in for rid in ids)


def planned_requests(item: pytest.Function, known: Mapping[str, Any]) -> list[LoginRequest] | None:
    """The requests *item* declares, built from its parameters and the *known* fixed values; None when its factory
    needs a value not known yet, or raises (a skip: the test reports it when it runs)."""
    factory = factory_of(item)
    assert factory is not None
    values = dict(known)
    values.update(item.callspec.params if hasattr(item, "callspec") else {})
    if any(name not in values for name in arguments(factory)):
        return None
    try:
        return build(factory, values)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # noqa: BLE001 -- not applicable with these values, or any other trouble: left to its test
        return None


def plan(items: Iterable[pytest.Item], catalog: Mapping[str, Requirement], known: Mapping[str, Any], *,
         failed_logins: bool = True) -> list[tuple[str, LoginRequest]]:
    """(node ID, request) of each declared request of *items* that can be built now, in run order. *failed_logins*:
    False while the success-path checks run (a request naming the account that may fail waits until they are done;
    the others of its test are not planned either, so that its test sends them in their order)."""
    planned: list[tuple[str, LoginRequest]] = []
    for item in items:
        if plannable(item, catalog):
            requests = planned_requests(item, known)  # type: ignore[arg-type]
            if requests and (failed_logins or not any(request.spends_budget for request in requests)):
                planned.extend((item.nodeid, request) for request in requests)
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
