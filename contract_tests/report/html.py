"""``conformance.html``: one self-contained page (inline CSS and JS, no network fetches).

A summary bar, the failures spelled out at the top (visible without clicking), a filterable
requirement table and expandable evidence per requirement.  Rendered with Jinja2 (autoescaped)
from the conformance.json document.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from ..contract.levels import Level
from ..judging.results import clip, failed_clause
from ..sending.reproduction import export_hint
from .json_report import backoff_line, gateway_line, latency_line

# Plain symbols every font has (a CI machine has no colour-emoji font).
ICONS = {"conforming": "✓", "non-conforming": "✗", "inconclusive": "?", "error": "!", "could-not-test": "⊘",
         "no-new-failures": "✓"}
CHANGE_ORDER = ("new", "worse", "fixed", "still failing", "not rechecked")

TEMPLATE = "conformance.html.j2"
_TEMPLATES = Path(__file__).with_name("templates")

VERDICT_ORDER = ["failed", "waived", "inconclusive", "blocked", "skipped", "passed"]


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["clip"] = lambda s, n=300: s if s is None else clip(s, n)
    env.filters["codespans"] = codespans
    env.filters["export_hint"] = export_hint
    env.globals["failed_clause"] = failed_clause
    return env


def prepare() -> None:
    """Compile the template ahead (contract_tests/warm_up.py: while the run waits on the network)."""
    _environment().get_template(TEMPLATE)


def codespans(value: str | None) -> Markup:
    """Escape, then show the catalog's `backtick` spans as <code>."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(value or ""))))


def render_html(report: dict) -> str:
    reqs = report["requirements"]
    failed = sorted((r for r in reqs if r["verdict"] == "failed"), key=lambda r: (not r["gating"], r["id"]))
    return _environment().get_template(TEMPLATE).render(
        report=report,
        run=report["run"],
        backoff=backoff_line(report["run"]),
        gateway=gateway_line(report["run"]),
        answers=latency_line(report["run"]),
        counts=report["summary"],
        total=len(reqs),
        verdict_order=[v for v in VERDICT_ORDER if v in report["summary"]],
        failed=failed,
        undecided=[r for r in reqs if r["verdict"] in ("inconclusive", "blocked")],
        waived=[r for r in reqs if r["verdict"] == "waived"],
        expired=[w for w in report["waivers"] if w["status"] == "expired"],
        levels=sorted({r["level"] for r in reqs}, key=Level.sort_key),
        icon=ICONS.get(report["run"]["verdict"], ""),
        baseline=report.get("baseline"),
        changes=_changes(report),
    )


def _changes(report: dict) -> list[tuple[str, dict, dict | None]]:
    """--baseline: (kind, change, requirement) for every changed requirement, new and worse first."""
    baseline = report.get("baseline")
    if not baseline:
        return []
    by_id = {r["id"]: r for r in report["requirements"]}
    return [(kind, c, by_id.get(rid)) for kind in CHANGE_ORDER for rid, c in baseline["changes"].items()
            if c["change"] == kind]


def write_html(path: Path, report: dict) -> None:
    path.write_text(render_html(report), encoding="utf-8")
