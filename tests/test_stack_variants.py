"""The suite judges servers nobody here wrote: one default run of the contract suite per stack
variant of the reference server (NestJS, FastAPI contract-aware and defaults, Express, behind nginx, with an account
lockout), its verdict compared requirement by requirement with tests/stack_expectations.yaml.

Each (variant, requirement) is its own case. Where today's suite disagrees with the expectation the case is a strict
xfail naming the judging fix that flips it; it fails if the suite says anything other than the recorded
`today` verdict, and XPASSes (a failure, strict) once the judging is fixed -- then delete `today`/`fixed_by`.

Runs are split over two lanes like tests/test_faults.py: this process runs its share in-process (pytest.main), a
second process (tests/selftest_lane.py) runs the rest, started when the first case asks. The table "variant x
requirement" (found, with the expectation where they differ) is written to ``reports/selftest/stacks.md``
(``$HYPER3D_STACK_TABLE`` overrides) and, with ``HYPER3D_STACK_DOC=docs/self-checks.md``, into that page's generated block.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from stack_table import STACK_DOC_BEGIN, STACK_DOC_END, findings, load_expectations, read_verdicts, stack_table
from test_faults import LANE_SCRIPT, RUN_TIMEOUT, SUITE, _clean_environ, run_in_process, update_doc

from contract_tests.contract.catalog import load_catalog
from contract_tests.reference import STACKS

CATALOG = load_catalog()
LEVELS = {rid: req.level for rid, req in CATALOG.items()}
EXPECTED = load_expectations(list(STACKS), list(CATALOG))
# waits by design (Retry-After, 429 back-off) go to the second lane, so this one is not held up by them
LANE = [] if "PYTEST_XDIST_WORKER" in os.environ else ["lockout", "nginx-front", "express", "validation-as-credentials"]
HERE = [name for name in STACKS if name not in LANE]
TABLE_ENV, DOC_ENV = "HYPER3D_STACK_TABLE", "HYPER3D_STACK_DOC"


class KnownDisagreement(AssertionError):
    """Today's suite gives the verdict recorded as `today` (a judging fix will change it)."""


@dataclass
class StackRun:
    name: str
    exit_code: int | None = None
    verdicts: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    requests: int | None = None
    seconds: float = 0.0
    where: str = "in-process"
    problem: str | None = None


def _read(run: StackRun, report_dir: Path, log: Path) -> StackRun:
    if not (report_dir / "conformance.json").exists():
        run.problem = f"no conformance.json (exit {run.exit_code}); output: " + log.read_text(errors="replace")[-1500:]
        return run
    run.verdicts, run.reasons, section = read_verdicts(report_dir)
    run.requests = section.get("requests")
    if section.get("could_not_test"):
        run.problem = f"could not test: {section['could_not_test']}"
    return run


class StackRuns:
    """Runs each variant once, on first demand: in this process, or by collecting the second lane's result."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.runs: dict[str, StackRun] = {}
        self.proc: subprocess.Popen | None = None
        self.lane_log = base / "lane.txt"
        self.started = time.perf_counter()
        self.finished: float | None = None

    def start_lane(self) -> None:
        if not LANE or self.proc is not None:
            return
        payload = json.dumps([["stack", name, [f"--reference-variant={name}"]] for name in LANE])
        with open(self.lane_log, "w", encoding="utf-8") as log:
            self.proc = subprocess.Popen([sys.executable, str(LANE_SCRIPT), str(self.base), payload, json.dumps(SUITE)],
                                         cwd=self.base, env=_clean_environ(), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        self.lane_started = time.perf_counter()

    def get(self, name: str) -> StackRun:
        if name not in self.runs:
            self.runs[name] = self._collect(name) if name in LANE else self._run_here(name)
        return self.runs[name]

    def _run_here(self, name: str) -> StackRun:
        workdir = self.base / f"here-{name}"
        workdir.mkdir()
        code, seconds = run_in_process(workdir, [f"--reference-variant={name}"])
        run = StackRun(name, exit_code=code, seconds=seconds)
        return _read(run, workdir / "out", workdir / "output.txt")

    def _collect(self, name: str) -> StackRun:
        assert self.proc is not None
        try:
            self.proc.wait(RUN_TIMEOUT * len(LANE))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        done = {}
        for line in self.lane_log.read_text(errors="replace").splitlines():
            parts = line.split()
            if len(parts) == 5 and parts[:2] == ["DONE", "stack"]:
                done[parts[2]] = (int(parts[3]), float(parts[4]))
        workdir = self.base / f"stack-{name}"
        if name not in done:
            return StackRun(name, where="second lane", problem=f"the second lane exited {self.proc.returncode} "
                            f"without running it: {self.lane_log.read_text(errors='replace')[-1500:]}")
        run = StackRun(name, exit_code=done[name][0], seconds=done[name][1], where="second lane")
        return _read(run, workdir / "out", workdir / "output.txt")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.finished = time.perf_counter()

    # ------------------------------------------------------------------------------------------- the table
    def totals(self) -> list[str]:
        runs = [self.runs[n] for n in STACKS if n in self.runs]
        agree = sum(1 for (v, rid), e in EXPECTED.items()
                    if v in self.runs and self.runs[v].verdicts.get(rid) == e.expect)
        known = [e for e in EXPECTED.values() if e.today and e.variant in self.runs
                 and self.runs[e.variant].verdicts.get(e.requirement) == e.today]
        lanes = []
        for where in ("in-process", "second lane"):
            mine = [r for r in runs if r.where == where]
            if mine:
                lanes.append(f"{where}: {', '.join(f'{r.name} {r.seconds:.1f} s' for r in mine)}")
        wall = (self.finished or time.perf_counter()) - self.started
        return [f"- (variant, requirement) verdicts as expected: **{agree}/{len(runs) * len(CATALOG)}**; known "
                f"disagreements waiting for a judging fix: {len(known)}",
                f"- {len(runs)} suite runs, {sum(r.requests or 0 for r in runs)} requests ({'; '.join(lanes)}); "
                f"{wall:.1f} s wall for the whole self-test ({platform.python_implementation()} "
                f"{platform.python_version()}, {os.cpu_count()} CPUs)"]

    def markdown(self) -> str:
        actual = {name: run.verdicts for name, run in self.runs.items()}
        ran = {key: e for key, e in EXPECTED.items() if key[0] in self.runs}
        return (stack_table(ran, LEVELS, actual) + "\n" + "\n".join(self.totals()) + "\n\nExpected findings:\n\n"
                + "\n".join(findings(ran)) + "\n")

    def write(self, rootdir: Path) -> Path | None:
        if not self.runs:
            return None
        text = self.markdown()
        target = Path(os.environ.get(TABLE_ENV) or rootdir / "reports" / "selftest" / "stacks.md")
        target = target if target.is_absolute() else rootdir / target
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("# Stack-variant self-test: variant x requirement\n\nGenerated by "
                          "`python -m pytest tests/test_stack_variants.py`.\n\n" + text, encoding="utf-8")
        doc = os.environ.get(DOC_ENV)
        if doc:
            update_doc(Path(doc) if Path(doc).is_absolute() else rootdir / doc, text, STACK_DOC_BEGIN, STACK_DOC_END)
        return target

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.runs:
            return
        tr = terminalreporter
        tr.write_sep("=", "stack variants: verdicts found vs expected")
        for name in STACKS:
            run = self.runs.get(name)
            if run is None:
                continue
            off = [f"{rid} {run.verdicts.get(rid)} (expected {e.expect}{', known' if e.today else ''})"
                   for (v, rid), e in EXPECTED.items() if v == name and run.verdicts.get(rid) != e.expect]
            tr.write_line(f"{name:<17} exit {run.exit_code} {run.seconds:5.1f} s  "
                          + (run.problem or ("; ".join(off) if off else "all as expected")),
                          red=bool(run.problem or any("known" not in o for o in off)))
        for line in self.totals():
            tr.write_line(line.replace("**", ""))
        if getattr(self, "path", None):
            tr.write_line(f"table: {self.path}")


@pytest.fixture(scope="module")
def stack_runs(request, tmp_path_factory):
    runs = StackRuns(tmp_path_factory.mktemp("stack-variants"))
    request.config.pluginmanager.register(runs, f"hyper3d-stack-runs-{id(runs)}")
    runs.start_lane()
    try:
        yield runs
    finally:
        runs.stop()
        runs.path = runs.write(request.config.rootpath)


def _case(variant: str, rid: str):
    expectation = EXPECTED[(variant, rid)]
    marks = []
    if expectation.today:
        marks.append(pytest.mark.xfail(strict=True, raises=KnownDisagreement,
                                       reason=f"{expectation.fixed_by} (today: {expectation.today})"))
    return pytest.param(variant, rid, marks=marks, id=f"{variant}:{rid}")


CASES = [_case(variant, rid) for variant in [*HERE, *LANE] for rid in CATALOG]


@pytest.mark.parametrize(("variant", "requirement"), CASES)
def test_verdict_matches_expectation(variant, requirement, stack_runs):
    """The suite's verdict on one requirement for one stack variant is the expected one."""
    expectation = EXPECTED[(variant, requirement)]
    run = stack_runs.get(variant)
    assert run.problem is None, f"{variant}: {run.problem}"
    actual = run.verdicts.get(requirement, "(no verdict)")
    detail = (f"{variant} {requirement}: expected {expectation.expect} ({expectation.why}); "
              f"actual {actual}: {run.reasons.get(requirement, '')[:300]}")
    if expectation.today and actual == expectation.today:
        raise KnownDisagreement(detail)
    assert actual == expectation.expect, detail


def test_expectations_cover_every_stack_variant_and_requirement():
    """The table is complete, and every expected failure, lockout or n/a says why."""
    assert {v for v, _ in EXPECTED} == set(STACKS)
    assert len(EXPECTED) == len(STACKS) * len(CATALOG)
    for expectation in EXPECTED.values():
        if expectation.expect != "passed" or expectation.today:
            assert len(expectation.why) > 20, expectation  # a sentence, not a label


def test_table_flags_disagreements():
    levels = {"RESP-01": "MUST", "RESP-02": "MUST"}
    expectations = {(v, rid): e for (v, rid), e in EXPECTED.items() if rid in levels and v in ("nestjs", "lockout")}
    table = stack_table(expectations, levels, {"nestjs": {"RESP-01": "passed", "RESP-02": "passed"},
                                               "lockout": {"RESP-01": "failed(MUST)", "RESP-02": "blocked"}})
    assert table.splitlines()[0] == "| requirement | `nestjs` | `lockout` |"
    assert "| RESP-01 (MUST) | pass | **FAIL MUST** (expected pass) |" in table
    assert "| RESP-02 (MUST) | pass | blocked (expected pass) |" in table
    expected_only = stack_table(expectations, levels)
    assert "expected" not in expected_only and expected_only.count("| pass") == 4
