"""Work a run will need later, done in a background thread while its first checks wait on the network.

Importing hypothesis and schemathesis, loading the login operation and drawing the first examples of schemathesis's
strategies cost over a second of CPU; compiling the HTML report's template about 0.2 s. The pre-flight and the
success-path checks send one request at a time and mostly wait, so a run does that work then, in a thread
(:func:`start`), instead of in its first fuzzing test and at its end. Whoever needs it waits for the thread first
(:func:`wait`), so nothing is loaded twice at once; should anything fail here, it is done again where it is needed
and fails there, with its own message.
"""

from __future__ import annotations

import threading

_thread: threading.Thread | None = None


def start(*, fuzzing: bool, html: bool) -> None:
    global _thread
    if _thread is None and (fuzzing or html):
        _thread = threading.Thread(target=_prepare, args=(fuzzing, html), name="hyper3d-warm-up", daemon=True)
        _thread.start()


def wait() -> None:
    if _thread is not None:
        _thread.join()


def _prepare(fuzzing: bool, html: bool) -> None:
    try:
        if fuzzing:
            from .fuzz import properties, responses, runner, strategies  # noqa: F401

            strategies.prepare()
        if html:
            from .report import html as html_report

            html_report.prepare()
    except Exception:  # noqa: BLE001 -- done again where it is needed, and reported there
        pass
