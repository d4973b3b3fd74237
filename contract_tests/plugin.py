"""pytest plugin of the Hyper3D login contract suite: hooks translating pytest's events into calls on the run's own
objects (contract_tests/run/: session, configuration, collection, planning, per-test verdicts, reporting, xdist,
redaction, signals)."""

from __future__ import annotations

import pytest

from .config.selection import RequirementSelection
from .config.settings import add_options
from .run import collection, configuration, per_test, planning, redaction, reporting, signals
from .run.collection import COLLECTED_ORDER, MARKER, context_of
from .run.session import EXIT_COULD_NOT_TEST, SuiteState, Untestable, suite_state, suite_state_or_none
from .run.xdist import WorkerMerge, controller_of_suite

__all__ = ["COLLECTED_ORDER", "EXIT_COULD_NOT_TEST", "MARKER", "SuiteState", "suite_state"]


# -- configuration ---------------------------------------------------------------------------
def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    add_options(parser, pluginmanager)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    collection.register_markers(config)
    if config.option.help or config.option.version:  # pytest's help or version: no run to set up
        return
    configuration.given_base_url(config)
    state = configuration.configure(config)
    config.pluginmanager.register(RequirementSelection(state), "hyper3d-login-selection")
    config.pluginmanager.register(reporting.Collector(state), "hyper3d-login-collector")
    config.pluginmanager.register(WorkerMerge(state), "hyper3d-login-xdist-merge")
    redaction.redact_loggers(state.redactor)


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    state = suite_state(session.config)
    state.session = session
    signals.install(state)
    redaction.redact_log_handlers(session.config, state.redactor)


def pytest_report_header(config: pytest.Config) -> list[str]:
    return configuration.report_header(config, suite_state(config))


# -- collection ------------------------------------------------------------------------------
def pytest_itemcollected(item: pytest.Item) -> None:
    collection.note_order(item)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every contract test declares known requirements; every requirement has a test."""
    collection.check_coverage(suite_state(config), session, items)


def pytest_collection_finish(session: pytest.Session) -> None:
    collection.note_scope(suite_state(session.config), session)


# -- running ---------------------------------------------------------------------------------
@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> bool | None:
    state = suite_state(session.config)
    try:
        if state.contract_items and not session.config.option.collectonly:
            state.open()
        elif controller_of_suite(session.config) and state.settings.base_url:
            state.open()  # an unreachable target: one line and exit 4 here, not a crash in every worker
    except Untestable:
        return True  # no check runs; the summary and the reports say why (pytest_sessionfinish)
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem):
    with suite_state(item.config).ledger.running(context_of(item)):  # what is judged meanwhile is charged to it
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef, request: pytest.FixtureRequest):
    state = suite_state_or_none(request.config)
    client = state.client if state is not None else None
    if client is not None and fixturedef.scope == "session" and not hasattr(request, "param"):
        with client.run_once.setting_up(fixturedef.argname):  # xdist: what it sends naming the account, once a run
            value = yield
    else:
        value = yield
    if state is not None:
        planning.planner(request.config, state).fixture_set_up(fixturedef, request, value)
    return value


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    state = suite_state(item.config)
    if state.client is None or context_of(item) is None:
        return (yield)
    with planning.planner(item.config, state).around_call(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    ctx = context_of(item)
    if ctx is not None:
        per_test.make_report(suite_state(item.config), item, call, report, ctx)
    return report


# -- reporting and gate ----------------------------------------------------------------------
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporting.finish(session, suite_state(session.config))


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    reporting.terminal_summary(terminalreporter, config, suite_state(config))


@pytest.hookimpl(trylast=True)  # after pytest's own closing lines: the verdict is the log's last line
def pytest_unconfigure(config: pytest.Config) -> None:
    state = suite_state_or_none(config)
    if state is None:
        return
    signals.restore(state)
    state.close()
    reporting.verdict_line(config, state)
