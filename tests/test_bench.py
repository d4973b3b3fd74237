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


def test_the_comparison_needs_the_shared_benchmark_document(bench, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        bench.main(["--schemathesis-spec", str(tmp_path / "missing.json"), "--no-startup"])
    assert exc.value.code == 2 and "missing.json" in capsys.readouterr().err
    assert bench.BENCHMARK_SPEC.name == "login.benchmark.openapi.json" and bench.BENCHMARK_SPEC.parent.name == "perf"


def test_ratios_are_medians_of_per_round_pairs_with_theirspread(bench):
    suite, schemathesis = bench.Measure("suite", walls=[2.0, 3.0, 10.0]), bench.Measure("st", walls=[4.0, 4.0, 5.0])
    ratios = bench.pair_ratios(suite, schemathesis)
    assert ratios == [0.5, 0.75, 2.0]
    assert bench.spread(ratios) == "0.75 [0.50-2.00]" and bench.spread([1.0]) == "1.00"


def test_one_tiny_iteration(bench, capsys, tmp_path):
    assert bench.main(["--latencies", "0,20", "--repeat", "1", "--no-startup", "--no-schemathesis",
                       "--suite-args", "--fuzz-examples=0 --requirement=RESP-01", "--plot", str(tmp_path / "p.png")]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    head = [c.strip() for c in next(line for line in lines if line.startswith("| added latency |")).strip("|").split("|")]
    rows = [line for line in lines if line.startswith(("| 0 ms |", "| 20 ms |"))]
    assert len(rows) == 2
    for row in rows:
        cells = dict(zip(head, (c.strip() for c in row.strip("|").split("|"))))
        suite, floor = cells["installed suite, default: wall s (requests)"], cells["floor (bare httpx replay): wall s (requests)"]
        checkout = cells["checkout `python -m pytest`: wall s (requests)"]
        assert checkout.split("(")[1] == suite.split("(")[1]  # the same requests, started from the checkout
        # the floor replays exactly the requests the suite sent, counted at the server
        assert suite.split("(")[1] == floor.split("(")[1] and int(suite.split("(")[1].rstrip(")")) > 0
    assert "* 20 ms: " in out and "name the account" in out  # the account chain of each latency


def _entry(start: float, ms: float, body: str = "", url: str = "http://t/api/user/login") -> dict:
    import datetime as dt

    started = dt.datetime.fromtimestamp(start, dt.timezone.utc).isoformat(timespec="milliseconds")
    return {"startedDateTime": started, "time": ms, "request": {"url": url, "postData": {"text": body}}}


def test_the_account_chain_counts_the_time_a_request_naming_the_account_is_in_flight(bench):
    email = "demo@hyper3d.test"
    har = {"log": {"entries": [
        _entry(100.0, 100, '{"email": "demo@hyper3d.test", "password": "x"}'),        # 100.0-100.1
        _entry(100.05, 100, '{"email": "demo@hyper3d.test", "password": "y"}'),       # overlaps: to 100.15
        _entry(100.2, 300, '{"email": "other@example.com", "password": "x"}'),        # not the account
        _entry(100.3, 100, "email=demo%40hyper3d.test&password=x"),                   # a form value: 100.3-100.4
        _entry(100.45, 50, '{"email": "demo@hyper3d.test\'--", "password": "x"}'),    # an injection: not the account
        _entry(100.5, 10, "", url="http://t/api/user/login?email=demo%40hyper3d.test"),  # in the query
    ]}}
    chain = bench.account_chain(har, email)
    assert (chain["requests"], chain["account"]) == (6, 4)
    assert chain["chain"] == pytest.approx(0.15 + 0.1 + 0.01, abs=0.002)
    assert chain["span"] == pytest.approx(0.51, abs=0.002)
    assert not bench.names_account(_entry(0, 1, '{"email": "demo@hyper3d.test.", "password": "x"}'), email)
    assert bench.account_chain({"log": {"entries": []}}, email)["account"] == 0
