"""``fleet.html``: the fleet report as one self-contained page (inline CSS and JS, no fetches): the deployments with
their verdicts and exit codes, what changed since the baseline, what differs, and the requirements × deployments
matrix (filterable: by text, differing rows, failing rows). Rendered with Jinja2 (autoescaped) from fleet.json."""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2

TEMPLATE = "fleet.html.j2"
SYMBOLS = {"passed": "✓", "failed": "✗", "waived": "W", "inconclusive": "?", "blocked": "B", "skipped": "–"}


def symbol(cell: dict | None) -> str:
    if not cell:
        return "·"
    shown = SYMBOLS.get(cell["verdict"], cell["verdict"])
    if cell["verdict"] == "failed" and cell.get("failed_level") not in (None, "MUST"):
        return f"{shown} {cell['failed_level']}"
    return shown


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(Path(__file__).with_name("templates"))),
                             autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals["symbol"] = symbol
    return env


def render_html(report: dict) -> str:
    failing = {row["id"] for row in report["requirements"]
               if any(c and c["verdict"] == "failed" for c in row["cells"].values())}
    return _environment().get_template(TEMPLATE).render(
        report=report, differing={d["id"] for d in report["differences"]}, failing=failing)


def write_html(path: Path, report: dict) -> None:
    path.write_text(render_html(report), encoding="utf-8")
