"""Work a run will need later, done while its first checks wait on the network.

Importing hypothesis and schemathesis, loading the login operation and drawing the first examples of schemathesis's
strategies cost over a second of CPU; compiling the HTML report's template about 0.2 s. The pre-flight and the
success-path checks send one request at a time and mostly wait, so the run does that work then, a step at a time,
on the main thread while it waits for an answer (the client's ``while_waiting``), instead of in its first fuzzing
test and at its end. Not in a thread: CPython 3.11 cannot build ASTs in two threads at once (imports without
cached bytecode, pytest's assertion rewriting, hypothesis reading local constants), and a step that has not run
by the time its result is needed is simply done there, or dropped (:func:`drop`). Once the fuzzing session exists,
its properties that do not name the account are planned the same way, one per step (:meth:`WarmUp.repeat`): their
requests go while the account's requests pass the account gate a group at a time.
"""

from __future__ import annotations

from typing import Callable


class WarmUp:
    """The steps one run will need, done one at a time while it waits (each run has its own)."""

    def __init__(self) -> None:
        self._steps: list[tuple[str, Callable[[], object]]] = []
        self._repeated: set[str] = set()

    def prepare(self, *, fuzzing: bool, html: bool) -> None:
        """The steps this run will need, in the order they are needed."""
        self._steps = _needed(fuzzing=fuzzing, html=html)

    def step(self) -> bool:
        """Run the next step; False when none is left."""
        if not self._steps:
            return False
        kind, work = self._steps.pop(0)
        try:
            again = work() is True and kind in self._repeated
        except Exception:  # noqa: BLE001 -- done again where it is needed, and reported there
            again = False
        if again:
            self._steps.insert(0, (kind, work))
        return True

    def once(self, kind: str, work: Callable[[], object]) -> None:
        """A step done once, after those already there."""
        self._steps.append((kind, work))

    def repeat(self, kind: str, work: Callable[[], bool]) -> None:
        """A step done again and again while the run waits, for as long as it reports work done (True), after the
        steps already there (the fuzzing session's properties planned ahead of their tests)."""
        self._repeated.add(kind)
        self._steps.append((kind, work))

    def drop(self, kind: str) -> None:
        """The steps of *kind* are not needed any more (their results are being built where they are used)."""
        self._steps = [(k, work) for k, work in self._steps if k != kind]


def _needed(*, fuzzing: bool, html: bool) -> list[tuple[str, Callable[[], object]]]:
    steps: list[tuple[str, Callable[[], object]]] = []
    if fuzzing:
        steps.extend([
            ("fuzzing", lambda: __import__("hypothesis.strategies")),
            ("fuzzing", lambda: __import__("schemathesis")),
            ("fuzzing", _fuzz_modules),
            ("fuzzing", lambda: _fuzz_modules().login_operation()),
            ("fuzzing", lambda: _fuzz_modules().prepare("positive")),
            ("fuzzing", lambda: _fuzz_modules().prepare("negative")),
        ])
    if html:
        steps.append(("html", _html_template))
    return steps


def _fuzz_modules():
    from .fuzz import properties, responses, runner, strategies  # noqa: F401

    return strategies


def _html_template() -> None:
    from .report import html

    html.prepare()
