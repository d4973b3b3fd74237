"""pytest-xdist: the controller hands its workers the run's shared tally and merges what each worker reported."""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING

import pytest

from ..judging.results import Observation
from ..sending.client import SharedTally

if TYPE_CHECKING:
    from .session import SuiteState


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def worker_tally(config: pytest.Config) -> SharedTally | None:
    """A worker's view of the run's shared tally (budgets, pause and locks per run, not per worker); None elsewhere."""
    tally = getattr(config, "workerinput", {}).get("hyper3d_tally")
    return SharedTally(tally) if tally else None


def controller_of_suite(config: pytest.Config) -> bool:
    """The xdist controller (it collects nothing itself) of a run that targets the contract suite."""
    if is_worker(config) or not config.pluginmanager.has_plugin("dsession") or config.option.collectonly:
        return False
    args = [str(a) for a in config.args]
    return config.args_source == pytest.Config.ArgsSource.TESTPATHS or any("contract_tests" in a for a in args)


class WorkerMerge:
    """xdist controller: collects what each worker's suite state reported (request counts, target)."""

    def __init__(self, state: "SuiteState") -> None:
        self._state = state
        self._tally: str | None = None

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node) -> None:
        """Every worker counts requests and failed logins in one file, and keeps the pause, the locks and the
        account gate there (sending/shared_tally.py): the budgets and the gate are per run."""
        if self._tally is None:
            import tempfile

            fd, self._tally = tempfile.mkstemp(prefix="hyper3d-login-tally-", suffix=".json")
            os.close(fd)
        node.workerinput["hyper3d_tally"] = self._tally

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        for path in (self._tally, f"{self._tally}.lock") if self._tally else ():  # (the tally's file lock)
            with contextlib.suppress(OSError):
                os.unlink(path)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error) -> None:
        summary = dict((getattr(node, "workeroutput", None) or {}).get("hyper3d_login") or {})
        for data in summary.pop("held", None) or ():  # each worker judged its own exchanges
            self._state.results.add(Observation.from_dict(data))
        if summary:
            self._state.workers[str(node.gateway.id)] = summary
