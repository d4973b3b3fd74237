"""The end of the run: every observation gathered, the held failures no item took drained once, the gate, the
reports, the terminal summary and the verdict line (the log's last)."""

from __future__ import annotations

import os
import time

import pytest

from ..judging.results import Observation, Verdict
from .record import run_record, worker_summary
from .session import EXIT_COULD_NOT_TEST, SuiteState
from .xdist import controller_of_suite, is_worker

_PYTEST_ENDINGS = {
    2: "the run was interrupted before all checks ran",  # (by SIGINT or SIGTERM: the signal is named)
    3: "pytest stopped with an internal error (see the output above)",
    5: "no contract test ran: every test was deselected or none was collected",
}


class Collector:
    """Gathers observations from reports (also those xdist workers send to the controller)."""

    def __init__(self, state: SuiteState) -> None:
        self._state = state

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        observations = getattr(report, "hyper3d_observations", None) or ()
        for data in observations:
            self._state.results.add(Observation.from_dict(data))
        if report.failed and not any(data["verdict"] == Verdict.FAILED.value for data in observations):
            self._state.unexplained_failures += 1  # a suite error, a failing teardown, a non-contract test


def finish(session: pytest.Session, state: SuiteState) -> None:
    """Judge the run, set the process's exit status and write the reports (a worker hands its part over)."""
    state.finishing = True
    state.finished = time.time()
    _write_har(session.config, state)
    # the one place held failures no item reported are drained (an item deselected or run earlier on this worker;
    # a 5xx charged to the request's own requirement during another test): they still count
    held = state.ledger.take_held()
    if is_worker(session.config):  # xdist worker: the controller reports and gates
        session.config.workeroutput["hyper3d_login"] = worker_summary(state, held)  # type: ignore[attr-defined]
        return
    if session.config.option.collectonly or not (
            state.has_contract_run or state.collected_contract
            or (state.settings.report_dir is not None and controller_of_suite(session.config))):
        return  # not a run of the contract suite (e.g. the suite's own self-tests): no verdict
    from ..report import EXIT_INCONCLUSIVE, evaluate, write_reports

    status = int(session.exitstatus)
    for obs in held:
        state.results.add(obs)
    record = run_record(state)
    ending = _PYTEST_ENDINGS.get(status)
    interrupted = status == 2 and not state.stopped  # 2 with state.stopped: the suite itself stopped the run
    if interrupted and ending:
        ending = ending.replace("interrupted", f"interrupted ({state.interrupted_by or 'SIGINT'})")
    if ending and not record.could_not_test:
        record.stopped = record.stopped or ending
    outcome = evaluate(record)
    if record.could_not_test:
        final = EXIT_COULD_NOT_TEST
    elif status in (0, 1) or not interrupted and status == 2:
        final = outcome.exit_code
    else:  # pytest's own ending (interrupted, internal error, nothing ran): the process exits with it
        final = status
        if status == 3:
            outcome.verdict = "error"
        elif interrupted:
            outcome.verdict, outcome.exit_code = "interrupted", status
        elif outcome.verdict == "conforming":
            outcome.verdict, outcome.exit_code = "inconclusive", EXIT_INCONCLUSIVE
    session.exitstatus = final
    record.exit_status = final
    state.outcome, state.final_record = outcome, record
    if state.settings.report_dir is not None:
        try:
            write_reports(record, outcome, state.settings.report_dir)
        except OSError as exc:  # checked before the first request; the disk may still fill up or go away
            state.report_error = f"--report-dir {state.settings.report_dir}: the reports could not be written ({exc})"


def _write_har(config: pytest.Config, state: SuiteState) -> None:
    """--har: a worker writes its part, the controller (or a serial run) the file, merging the workers' parts."""
    path = state.settings.har_file
    if path is None:
        return
    from ..sending.har import HarRecorder, merge_parts, part_path

    worker = getattr(config, "workerinput", {}).get("workerid")
    recorder = state.har if state.har is not None else HarRecorder()
    try:
        if worker:
            recorder.write(part_path(path, worker))
            return
        recorder.write(path, comment=f"hyper3d-login-conformance run against {state.target_label}")
        merge_parts(path)
    except OSError as exc:
        state.config.get_terminal_writer().line(f"hyper3d-login: --har {path}: cannot write it ({exc})", red=True)


def terminal_summary(terminalreporter, config: pytest.Config, state: SuiteState) -> None:
    if state.outcome is None or state.final_record is None:
        return
    from ..report.terminal import write_summary

    # the failures are named by requirement (ID, level, title) in the summary, not by test file path; pytest's own
    # FAILED lines only where -r asks for them
    words = [str(a) for a in config.invocation_params.args] + os.environ.get("PYTEST_ADDOPTS", "").split()
    if not any(w.startswith("-r") for w in words):
        terminalreporter.reportchars = terminalreporter.reportchars.replace("f", "")
    write_summary(terminalreporter, state.final_record, state.outcome,
                  None if state.report_error else state.settings.report_dir, state.settings.notes)


def verdict_line(config: pytest.Config, state: SuiteState) -> None:
    """The run's verdict, the log's last line."""
    if state.outcome is None or state.final_record is None or config.pluginmanager.get_plugin("terminalreporter") is None:
        return
    from ..report.terminal import verdict_line as line_of

    line, markup = line_of(state.final_record, state.outcome,
                           None if state.report_error else state.settings.report_dir)
    writer = config.get_terminal_writer()
    if state.report_error:
        writer.line(f"hyper3d-login: {state.report_error}", red=True)
    writer.line(line, **markup)
