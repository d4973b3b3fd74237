"""Report writers: the terminal summary and the files written into ``--report-dir``.

``conformance.json`` is the source document (schema: ``conformance.schema.json``);
``conformance.md`` and ``conformance.html`` are rendered from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .json_report import SCHEMA_FILE, SCHEMA_VERSION, build_report, load_schema, write_json
from .outcome import Outcome, evaluate

if TYPE_CHECKING:
    from ..plugin import SuiteState

ARTIFACTS = ("conformance.json", "conformance.md", "conformance.html")


def write_reports(state: "SuiteState", exitstatus: int | None = None, outcome: Outcome | None = None) -> dict:
    """Write the three report files; append the Markdown to $GITHUB_STEP_SUMMARY when set."""
    from .html import write_html
    from .markdown import append_step_summary, write_markdown

    report_dir = state.settings.report_dir
    report_dir.mkdir(parents=True, exist_ok=True)
    report = build_report(state, exitstatus, outcome)
    write_json(report_dir / "conformance.json", report)
    markdown = write_markdown(report_dir / "conformance.md", report)
    write_html(report_dir / "conformance.html", report)
    append_step_summary(markdown)
    return report


__all__ = [
    "ARTIFACTS", "Outcome", "SCHEMA_FILE", "SCHEMA_VERSION", "build_report", "evaluate", "load_schema",
    "write_json", "write_reports",
]
