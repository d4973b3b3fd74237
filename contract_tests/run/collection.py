"""Collection: the suite's markers, every contract test declaring known requirements, each test's judging context,
the definition order, and what the selection left of the catalog (the run's scope)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .. import declared as declared_requests
from ..judging.ledger import TestContext
from ..probes import settings as probe_settings
from .session import SuiteState

MARKER = "requirement"
CONTEXT = pytest.StashKey[TestContext]()  # each contract test's judging context
COLLECTED_ORDER = pytest.StashKey[int]()  # definition order: the suite runs in it whatever reorders items
_COLLECTED = pytest.StashKey[int]()
_SUITE_DIR = Path(__file__).resolve().parent.parent / "suite"


def register_markers(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(*ids): the requirement IDs (spec/requirements.yaml) a contract test checks."
    )
    config.addinivalue_line(
        "markers", f"{declared_requests.MARKER}(factory): the requests a contract test needs, as data "
        "(contract_tests/declared.py); the test receives their answers as `exchange` / `exchanges`."
    )
    config.addinivalue_line(  # with the requirement marker: the suite's modules are imported by self-tests too
        "markers",
        "success_path(spends_failed_logins=False): the test logs in with the right credentials; it runs before the "
        "failed logins are spent on the account, so a lockout policy the suite's own failures trigger cannot reach it.",
    )


def declared(item: pytest.Item) -> tuple[str, ...]:
    ids: list[str] = []
    for mark in item.iter_markers(MARKER):
        ids.extend(mark.args)
    return tuple(dict.fromkeys(ids))


def is_contract(item: pytest.Item) -> bool:
    return item.get_closest_marker(MARKER) is not None or "contract_tests/suite/" in item.nodeid.replace("\\", "/")


def context_of(item: pytest.Item) -> TestContext | None:
    return item.stash.get(CONTEXT, None)


def note_order(item: pytest.Item) -> None:
    item.stash[COLLECTED_ORDER] = item.session.stash.get(_COLLECTED, 0)
    item.session.stash[_COLLECTED] = item.stash[COLLECTED_ORDER] + 1


def check_coverage(state: SuiteState, session: pytest.Session, items: list[pytest.Item]) -> None:
    """Every contract test declares known requirements; every requirement has a test."""
    contract = [item for item in items if is_contract(item)]
    if not contract:
        return
    problems = []
    covered: set[str] = set()
    for item in contract:
        ids = declared(item)
        if not ids:
            problems.append(f"{item.nodeid}: no @pytest.mark.{MARKER}(...) naming the requirement it checks")
        unknown = [i for i in ids if i not in state.catalog]
        if unknown:
            problems.append(f"{item.nodeid}: unknown requirement ID(s) {unknown} (not in spec/requirements.yaml)")
        covered.update(ids)
    whole_suite = _whole_suite_collected(contract)
    if whole_suite:
        missing = [rid for rid in state.catalog if rid not in covered]
        if missing:
            problems.append(f"requirements with no test: {', '.join(missing)}")
    if problems:
        raise pytest.UsageError("requirement coverage is broken:\n  " + "\n  ".join(problems))
    probe_settings.gate_items(items, declared, state.catalog, state.settings.probes)  # skipped unless --probe
    for item in contract:
        item.stash[CONTEXT] = TestContext(item.nodeid, declared(item))
        item.extra_keyword_matches.update(declared(item))  # -k AUTH-01 selects the tests of AUTH-01
    state.collected_contract = len(contract)
    state.whole_suite = whole_suite


def note_scope(state: SuiteState, session: pytest.Session) -> None:
    """What the selection (-k, -m, --deselect, a subset of paths) left of the catalog: the run's scope."""
    contract = [item for item in session.items if context_of(item) is not None]
    state.contract_items = len(contract)
    if not state.collected_contract:
        return
    selected = frozenset(rid for item in contract for rid in declared(item))
    opt = session.config.option
    how = [f"--requirement {','.join(state.selection['patterns'])}" if state.selection else "",
           f"-k {opt.keyword!r}" if getattr(opt, "keyword", "") else "",
           f"-m {opt.markexpr!r}" if getattr(opt, "markexpr", "") else "",
           "--deselect" if getattr(opt, "deselect", None) else "",
           "" if state.whole_suite else "a subset of the suite's test files"]
    if selected >= set(state.catalog) and state.whole_suite:
        return
    state.selected = selected
    state.selection_note = ", ".join(h for h in how if h) or None


def _whole_suite_collected(contract: list[pytest.Item]) -> bool:
    modules = {p.resolve() for p in _SUITE_DIR.glob("test_*.py")}
    seen = {Path(str(item.path)).resolve() for item in contract}
    return bool(modules) and modules <= seen
