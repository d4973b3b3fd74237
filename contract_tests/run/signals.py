"""SIGTERM (what CI runners send on a timeout or a cancel) ends the run as SIGINT does: the checks stop, the partial
results are judged and reported, verdict "interrupted", exit 2."""

from __future__ import annotations

import signal
import threading

import pytest

from .session import SuiteState

_PREVIOUS_HANDLERS = pytest.StashKey[dict]()


def install(state: SuiteState) -> None:
    if (not state.runs_suite or threading.current_thread() is not threading.main_thread()
            or hasattr(state.config, "workerinput")):
        return

    def interrupt(signum, frame) -> None:
        if state.finishing:
            return  # the reports are being written: let them finish
        state.interrupted_by = signal.Signals(signum).name
        raise KeyboardInterrupt

    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(signum) in (signal.default_int_handler, signal.SIG_DFL):
            previous[signum] = signal.signal(signum, interrupt)
    state.config.stash[_PREVIOUS_HANDLERS] = previous


def restore(state: SuiteState) -> None:
    for signum, handler in state.config.stash.get(_PREVIOUS_HANDLERS, {}).items():
        signal.signal(signum, handler)
