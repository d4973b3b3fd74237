"""Secrets never reach an output: the run's redactor on the loggers, pytest's log handlers and each test report."""

from __future__ import annotations

import logging

import pytest

from ..sending.secrets import Redactor

_LOGGERS = ("httpx", "httpcore", "hypothesis", "schemathesis")
_HANDLERS = ("caplog_handler", "report_handler", "log_file_handler", "log_cli_handler")


class RedactingFilter(logging.Filter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._redactor(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            import traceback

            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = self._redactor(record.exc_text)
        return True


def redact_loggers(redactor: Redactor) -> None:
    """The libraries' own loggers (what they log about requests) pass through the redactor."""
    redacting = RedactingFilter(redactor)
    for name in _LOGGERS:
        logging.getLogger(name).addFilter(redacting)


def redact_log_handlers(config: pytest.Config, redactor: Redactor) -> None:
    """Redact at pytest's log handlers too: records of child loggers (httpcore.http11, ...) skip logger filters."""
    logging_plugin = config.pluginmanager.get_plugin("logging-plugin")
    redacting = RedactingFilter(redactor)
    for name in _HANDLERS:
        handler = getattr(logging_plugin, name, None)
        if isinstance(handler, logging.Handler):
            handler.addFilter(redacting)


def redact_report(report: pytest.TestReport, redactor: Redactor) -> None:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        report.longrepr = (longrepr[0], longrepr[1], redactor(longrepr[2]))
    elif longrepr is not None:
        report.longrepr = redactor(str(longrepr))
    report.sections = [(title, redactor(content)) for title, content in report.sections]
    if hasattr(report, "wasxfail"):
        report.wasxfail = redactor(report.wasxfail)
