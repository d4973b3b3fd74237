"""Which requirements a run checks: ``--requirement`` (ID glob patterns) as deselection at collection, and
``--list-requirements``.

A test is kept when any requirement it declares is selected: a test that checks several requirements (the fuzzing
properties) still reports all of them, so a requirement outside the selection may get partial evidence.  The
suite state records the selection (``state.selection``) for the summary and the reports.
"""

from __future__ import annotations

import fnmatch

import pytest

MARKER = "requirement"


def parse_patterns(values: list[str] | None) -> list[str]:
    """``["AUTH-0*,INPUT-04", "SEC-01"]`` -> ``["AUTH-0*", "INPUT-04", "SEC-01"]`` (upper-cased, in order)."""
    patterns: list[str] = []
    for value in values or ():
        patterns.extend(p.strip().upper() for p in value.split(",") if p.strip())
    return list(dict.fromkeys(patterns))


def select(patterns: list[str], catalog_ids: list[str]) -> list[str]:
    """The catalog IDs the patterns match, in catalog order; a pattern that matches nothing is a usage error."""
    unmatched = [p for p in patterns if not any(fnmatch.fnmatchcase(rid, p) for rid in catalog_ids)]
    if unmatched:
        raise pytest.UsageError(
            f"--requirement: {', '.join(unmatched)} matches no requirement of the catalog "
            "(--list-requirements shows them)"
        )
    return [rid for rid in catalog_ids if any(fnmatch.fnmatchcase(rid, p) for p in patterns)]


def selection_from_config(config: pytest.Config, catalog_ids: list[str]) -> dict | None:
    """``{"patterns", "selected", "excluded"}`` for ``--requirement``, or None when everything is in scope."""
    patterns = parse_patterns(config.getoption("requirement", None))
    if not patterns:
        return None
    selected = select(patterns, catalog_ids)
    return {"patterns": patterns, "selected": selected, "excluded": [r for r in catalog_ids if r not in selected]}


class RequirementSelection:
    """Deselects the contract tests that check none of the selected requirements (registered by the plugin)."""

    def __init__(self, state) -> None:
        self._state = state

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        selection = self._state.selection
        if selection is None:
            return
        selected = set(selection["selected"])
        kept: list[pytest.Item] = []
        deselected: list[pytest.Item] = []
        for item in items:
            ids = {rid for mark in item.iter_markers(MARKER) for rid in mark.args}
            (deselected if ids and not ids & selected else kept).append(item)
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = kept
            self._state.contract_items = max(0, self._state.contract_items - len(deselected))


def list_requirements(catalog: dict, patterns: list[str]) -> str:
    """The catalog as a table: ID, level, credentials, opt-in, title (only those the patterns select)."""
    ids = select(patterns, list(catalog)) if patterns else list(catalog)
    rows = [("ID", "LEVEL", "CREDENTIALS", "OPT-IN", "TITLE")]
    rows += [(r.id, r.level, r.credentials, "yes" if r.opt_in else "no", r.title) for r in (catalog[rid] for rid in ids)]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join([*(cell.ljust(w) for cell, w in zip(row, widths)), row[4]]) for row in rows]
    return "\n".join(lines) + f"\n{len(ids)} of {len(catalog)} requirements\n"
