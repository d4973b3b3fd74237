"""bench/run_bench.py (run by hand, never timed here): its options parse and one tiny iteration of the latency
benchmark runs end to end (server process with an added latency, the installed suite, the floor replay)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "run_bench.py"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCH.parent))  # by name: the server process (spawned) imports it again
    try:
        yield importlib.import_module("run_bench")
    finally:
        sys.path.remove(str(BENCH.parent))
        sys.modules.pop("run_bench", None)


def test_bad_option_is_an_argparse_error(bench):
    with pytest.raises(SystemExit) as exc:
        bench.main(["--repeat", "many"])
    assert exc.value.code == 2


def test_one_tiny_iteration(bench, capsys, tmp_path):
    assert bench.main(["--latencies", "0,20", "--repeat", "1", "--no-startup", "--no-schemathesis",
                       "--suite-args", "--fuzz-examples=0 --requirement=RESP-01", "--plot", str(tmp_path / "p.png")]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith(("| 0 ms |", "| 20 ms |"))]
    assert len(rows) == 2
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        suite, floor = cells[1], cells[2]
        # the floor replays exactly the requests the suite sent, counted at the server
        assert suite.split("(")[1] == floor.split("(")[1] and int(suite.split("(")[1].rstrip(")")) > 0
