"""Report writers: the terminal summary and the files written into ``--report-dir``.

``conformance.json`` is the source document (schema: ``conformance.schema.json``);
``conformance.md`` and ``conformance.html`` are rendered from it.  Every writer reads a
:class:`~contract_tests.judging.run_record.RunRecord` and its :class:`Outcome`, never the pytest plugin.
"""

from __future__ import annotations

from pathlib import Path

from ..judging.run_record import RunRecord
from .json_report import SCHEMA_FILE, SCHEMA_VERSION, build_report, load_schema, write_json
from ..judging.outcome import EXIT_COULD_NOT_TEST, EXIT_INCONCLUSIVE, Outcome, evaluate

ARTIFACTS = ("conformance.json", "conformance.md", "conformance.html")


def write_reports(record: RunRecord, outcome: Outcome, report_dir: Path) -> dict:
    """Write the three report files; append the Markdown to $GITHUB_STEP_SUMMARY when set."""
    from .html import write_html
    from .markdown import append_step_summary, write_markdown

    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    report = build_report(record, outcome)
    write_json(report_dir / "conformance.json", report)
    markdown = write_markdown(report_dir / "conformance.md", report)
    write_html(report_dir / "conformance.html", report)
    append_step_summary(markdown)
    return report


__all__ = [
    "ARTIFACTS", "EXIT_COULD_NOT_TEST", "EXIT_INCONCLUSIVE", "Outcome", "SCHEMA_FILE", "SCHEMA_VERSION",
    "build_report", "evaluate", "load_schema", "write_json", "write_reports",
]
