"""Fixtures of the contract tests: the target, the account, and shared exchanges."""

from __future__ import annotations

import pytest

from contract_tests.contract.catalog import load_catalog
from contract_tests.sending.client import Account, ContractClient, NotSent
from contract_tests.judging.verdicts import blocked
from contract_tests.sending.exchange import LoginRequest
from contract_tests.fuzz.config import fuzz_settings
from contract_tests.probes.settings import PROBES
from contract_tests.judging.results import NO_CREDENTIALS
from contract_tests.plugin import COLLECTED_ORDER, SuiteState, suite_state
from contract_tests.declared import Declared, declared
from contract_tests.judging.classification import Signatures
from contract_tests.inputs.near_misses import wrong_password_for
from contract_tests.config.settings import ENV_EMAIL, ENV_PASSWORD


@pytest.fixture(scope="session")
def suite(request: pytest.FixtureRequest) -> SuiteState:
    state = suite_state(request.config)
    state.open()
    return state


@pytest.fixture(scope="session")
def client(suite: SuiteState) -> ContractClient:
    return suite.client


@pytest.fixture(scope="session")
def account(suite: SuiteState) -> Account:
    if suite.settings.account is None:
        pytest.skip(f"{NO_CREDENTIALS}: set {ENV_EMAIL} and {ENV_PASSWORD} to check this")
    return suite.settings.account


@pytest.fixture(scope="session")
def configured_account(suite: SuiteState) -> Account | None:
    """The configured account, None without credentials (for checks that then use an unknown address instead)."""
    return suite.settings.account


@pytest.fixture
def exchange(request: pytest.FixtureRequest) -> Declared:
    """The answer to the one request the test declares (@sends); sent, or taken as sent ahead, when it is called."""
    return declared(request, many=False)


@pytest.fixture
def exchanges(request: pytest.FixtureRequest) -> Declared:
    """The answers to the requests the test declares (@sends), in order."""
    return declared(request, many=True)


@pytest.fixture(scope="session")
def unknown_email(suite: SuiteState) -> str:
    return suite.settings.unknown_email


@pytest.fixture(scope="session")
def send(client: ContractClient):
    """``send(purpose, expect, **request_fields)`` -> Exchange: a request that needs an answer the test got first (the
    others are declared with ``@sends`` and arrive as ``exchange`` / ``exchanges``)."""

    def _send(purpose: str, expect: str, **fields):
        return client.send(LoginRequest(purpose=purpose, expect=expect, **fields))

    return _send


@pytest.fixture(scope="session")
def good_login(suite: SuiteState, client: ContractClient, account: Account):
    """The first login with the configured credentials (the pre-flight's; judged by RESP-01)."""
    if suite.preflight_login is not None:
        client.block_on_captcha(suite.preflight_login)
        return client.observe(suite.preflight_login)
    return client.login(account, "login with the configured credentials", requirement="RESP-01")


@pytest.fixture(scope="session")
def session_login(good_login):
    """A successful login; checks that need a token are blocked without one."""
    if not good_login.token:
        blocked(
            f"no successful login with the configured credentials (status {good_login.status}, "
            f"error {good_login.error!r}); see RESP-01"
        )
    return good_login


@pytest.fixture(scope="session")
def user_uuid(session_login) -> str:
    return session_login.body_object.get("user_uuid")


@pytest.fixture(scope="session")
def wrong_password(send, account: Account):
    return send(
        "wrong password for the configured account",
        "failure",
        json={"email": account.email, "password": wrong_password_for(account.password)},
        real_account=True,
        requirement="AUTH-01",
    )


@pytest.fixture(scope="session")
def unknown_account(send, unknown_email: str):
    return send(
        "login to an account that does not exist",
        "failure",
        json={"email": unknown_email, "password": "Unknown-Acc0unt-Passw0rd!"},
        requirement="AUTH-02",
    )


@pytest.fixture(scope="session")
def signatures(request: pytest.FixtureRequest, suite: SuiteState, unknown_email: str, unknown_account) -> Signatures:
    """How the target answers credential and validation failures (contract_tests/judging/classification.py)."""
    local, _, domain = unknown_email.partition("@")
    *probes, repeated, by_username = suite.client.send_many([  # independent of each other: sent together
        LoginRequest("validation probe: missing password", "invalid", json={"email": unknown_email},
                     requirement="INPUT-01"),
        LoginRequest("validation probe: non-object body", "invalid", json=["not", "an", "object"],
                     requirement="INPUT-04"),
        LoginRequest("validation probe: numeric password", "invalid",
                     json={"email": unknown_email, "password": 12345}, requirement="INPUT-03"),
        LoginRequest("another account that does not exist (what changes per request)", "failure",
                     json={"email": f"{local}-2@{domain}", "password": "Other-Unknown-Acc0unt-Passw0rd?"},
                     requirement="AUTH-02"),
        LoginRequest("an account that does not exist, named by the deprecated username field", "failure",
                     json={"username": f"{local}-3@{domain}", "password": "Unknown-Acc0unt-Passw0rd!"},
                     requirement="AUTH-02"),
    ])
    credential = [unknown_account, by_username]
    if suite.settings.account is not None:
        try:  # the same exchange AUTH-01 judges; without it the unknown account's answer alone is learned
            credential.append(request.getfixturevalue("wrong_password"))
        except (pytest.skip.Exception, NotSent):
            pass
    return Signatures(probes, credential, repeated)


# -- fuzzing (contract_tests/fuzz, test_fuzz.py) ----------------------------------------------------
def pytest_configure(config: pytest.Config) -> None:
    if not _plugin_active(config):
        return  # reported at collection (below): pytest shows errors raised here as collection errors
    fuzz_settings(config)  # validates --fuzz-examples / --hypothesis-seed early
    config.addinivalue_line(
        "markers",
        "fuzz(prop, spends_budget=0): a property-based fuzzing test; it runs after the hand-written tests "
        "(prop: builds its (strategy, example) from session fixtures; spends_budget: its weight in sharing what "
        "they left of the failed-login budget on the real account).",
    )


def _plugin_active(config: pytest.Config) -> bool:
    return config.pluginmanager.has_plugin("contract_tests.plugin")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The suite runs in one fixed order, whatever shuffled the items (pytest-randomly in the user's environment):
    hand-written tests in definition order -- those that log in with the right credentials (success_path) first, so
    the account's failed logins, which may lock it, come after them -- then fuzzing (it spends what they leave of the
    request and login budgets), then the opt-in probes in their own order, the throttling probe last (README,
    Opt-in probes), then the cross-cutting requirements' items (test_invariants.py): they report what every exchange
    before showed."""
    if not _plugin_active(config):  # -p no:contract_tests, or arguments that hid the suite from the entry point
        raise pytest.UsageError(
            "hyper3d-login: the contract suite runs with its plugin: `pytest --pyargs contract_tests.suite` (the "
            "package installed), `pytest -p contract_tests.plugin ...` or `python -m contract_tests`"
        )
    catalog = load_catalog()
    probe_order = list(PROBES.values())

    for item in items:
        item.stash[_PHASE] = _phase(item, catalog, probe_order)

    def rank(item: pytest.Item) -> tuple[int, int, int]:
        return item.stash[_PHASE], success_first(item), item.stash.get(COLLECTED_ORDER, 0)

    items.sort(key=rank)


_PHASE = pytest.StashKey[int]()  # the item's phase in the run's order (_phase), set at collection


def _hand_written(item: pytest.Item) -> bool:
    return item.stash.get(_PHASE, None) == 0


def _phase(item: pytest.Item, catalog, probe_order) -> int:
    """0: hand-written checks; 1: fuzzing; 2...: the opt-in probes in their order; last: the invariants' items."""
    if item.path.name == "test_invariants.py":
        return 2 + len(probe_order)
    ids = [rid for mark in item.iter_markers("requirement") for rid in mark.args]
    opt_in = [probe_order.index(rid) if rid in probe_order else len(probe_order)
              for rid in ids if rid in catalog and catalog[rid].opt_in]
    return 2 + min(opt_in) if opt_in else 1 if item.get_closest_marker("fuzz") else 0


# xdist: each worker runs its items in the run's order, but a worker may reach fuzzing while another still has
# hand-written checks to run; fuzzing shares what those *left* of the run's budgets, so it waits for them
HAND_WRITTEN_FINISHED = "hand_written_finished"


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    client = suite_state(item.config).client
    if client is not None and client.shared is not None:
        if _hand_written(item):
            client.shared.add(HAND_WRITTEN_FINISHED)
        # the worker goes on to *nextitem* (xdist hands it over before this one starts): its frontier now
        client.run_order.finished(_position(nextitem) if nextitem is not None else None)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """xdist: the requests naming the account wait while another worker is at a check before this one
    (sending/run_order.py)."""
    client = suite_state(item.config).client
    if client is not None and client.shared is not None:
        client.run_order.running(_position(item))


_POSITIONS = pytest.StashKey[dict]()  # node ID -> position in the run's order (the same in every xdist worker)


def _position(item: pytest.Item) -> int:
    session = item.session
    positions = session.stash.get(_POSITIONS, None)
    if positions is None or len(positions) != len(session.items):
        positions = session.stash[_POSITIONS] = {it.nodeid: i for i, it in enumerate(session.items)}
    return positions[item.nodeid]


@pytest.fixture(scope="session")
def hand_written_checks_done(request: pytest.FixtureRequest, client: ContractClient) -> None:
    """On an xdist worker, set up once every worker has finished its hand-written checks (or they stopped
    progressing for longer than a request's whole back-off may take: a crashed worker finishes none)."""
    if client.shared is None:
        return
    total = sum(1 for item in request.session.items if _hand_written(item))
    limits = client.limits
    client.shared.wait_for(HAND_WRITTEN_FINISHED, total,
                           stalled_after=limits.max_retry_wait * (limits.max_retries + 1) + 60.0,
                           deadline=limits.run_deadline)


def success_first(item: pytest.Item) -> int:
    """0: only successful logins on the account; 1: a login, then failed logins; 2: the rest."""
    mark = item.get_closest_marker("success_path")
    if mark is None:
        return 2
    return 1 if mark.kwargs.get("spends_failed_logins") else 0
