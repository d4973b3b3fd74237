"""Report writers: the terminal summary and the files written into ``--report-dir``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .json_report import build_report, write_json

if TYPE_CHECKING:
    from ..plugin import SuiteState


def write_reports(state: "SuiteState", exitstatus: int) -> None:
    state.settings.report_dir.mkdir(parents=True, exist_ok=True)
    write_json(state.settings.report_dir / "conformance.json", build_report(state, exitstatus))


__all__ = ["build_report", "write_json", "write_reports"]
