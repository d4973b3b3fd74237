"""Writing the fleet report: fleet.json (the source), fleet.md and fleet.html rendered from it; the Markdown is also
appended to $GITHUB_STEP_SUMMARY when set (the deployments' own summaries are not: one table, not ten reports)."""

from __future__ import annotations

import json
from pathlib import Path

FLEET_ARTIFACTS = ("fleet.json", "fleet.md", "fleet.html")


def write_fleet_reports(report: dict, report_dir: Path) -> Path:
    from ..report.markdown import append_step_summary
    from .html import write_html
    from .markdown import write_markdown

    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "fleet.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    markdown = write_markdown(report_dir / "fleet.md", report)
    write_html(report_dir / "fleet.html", report)
    append_step_summary(markdown)
    return report_dir / "fleet.json"
