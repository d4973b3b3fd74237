"""Second lane of the fault-injection self-test (tests/test_faults.py): one process that runs several contract-suite
runs in-process, one after the other, so the start-up cost is paid once.

    python tests/selftest_lane.py OUTDIR CASES_JSON

CASES_JSON is a JSON list of [kind, name, [args...]]. For each case the suite runs with
``pytest.main(SUITE + args + --report-dir=OUTDIR/kind-name/out)``; its terminal output goes to
``OUTDIR/kind-name/output.txt``. After each case one line ``DONE <kind> <name> <exit code> <seconds>`` is printed
(flushed), which the self-test reads.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    import pytest

    outdir, cases, suite = Path(argv[0]), json.loads(argv[1]), json.loads(argv[2])
    os.chdir(outdir)  # no ini file here: the suite is loaded with -p / --pyargs, as users outside a checkout do
    for kind, name, args in cases:
        workdir = outdir / f"{kind}-{name}"
        workdir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        with open(workdir / "output.txt", "w", encoding="utf-8") as log, contextlib.redirect_stdout(log), \
                contextlib.redirect_stderr(log):
            try:
                code = int(pytest.main([*suite, *args, f"--report-dir={workdir / 'out'}"]))
            except BaseException as exc:  # noqa: BLE001 - reported through the exit code and the log
                print(f"lane: {exc!r}")
                code = 99
        print(f"DONE {kind} {name} {code} {time.perf_counter() - started:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
