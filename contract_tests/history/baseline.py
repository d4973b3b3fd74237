"""--baseline FILE: what changed since an earlier run (a conformance.json, e.g. the last deployment's).

Per requirement: ``new`` (fails now, did not before), ``worse`` (failed at SHOULD before, at MUST now),
``still failing``, ``fixed`` (failed before, passes now), ``not rechecked`` (failed before, undecided or not
run now) or ``unchanged``.  The baseline's *observed* verdict counts: a failure a waiver covered is still a
known failure.  A baseline made with another catalog or spec is used (requirements are compared by ID) and
said in one line; a file that is not a conformance.json is a usage error (exit 4).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..contract.catalog import catalog_digest
from ..contract.levels import Level
from ..contract.spec import spec_digest
from ..judging.results import RequirementResult, Verdict

NEW, WORSE, STILL, FIXED, NOT_RECHECKED, UNCHANGED = (
    "new", "worse", "still failing", "fixed", "not rechecked", "unchanged")
CHANGES = (NEW, WORSE, STILL, FIXED, NOT_RECHECKED, UNCHANGED)
GATED = (NEW, WORSE)  # what --fail-on-new gates


class BaselineError(ValueError):
    """The file cannot serve as a baseline; the message is one line."""


@dataclass(frozen=True)
class Known:
    """One requirement as the baseline run saw it."""

    verdict: str  # observed verdict (before waivers)
    failed_level: str | None


@dataclass
class Baseline:
    path: Path
    requirements: dict[str, Known]
    catalog_digest: str | None
    spec_digest: str | None
    suite_version: str | None
    started: str | None
    verdict: str | None

    @property
    def mismatch(self) -> str | None:
        """One line when the baseline was made with another catalog or spec, else None."""
        what = [name for name, theirs, ours in (("catalog", self.catalog_digest, catalog_digest()),
                                                ("spec", self.spec_digest, spec_digest())) if theirs != ours]
        if not what:
            return None
        return (f"baseline {self.path.name} was made with another {' and '.join(what)} (suite "
                f"{self.suite_version or 'unknown'}): requirements are compared by ID, a changed statement or "
                "level may show as new, worse or fixed")


def load_baseline(path: str | Path) -> Baseline:
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"--baseline: {path}: no such file") from None
    except OSError as exc:
        raise BaselineError(f"--baseline: {path}: cannot read it ({exc.strerror or exc})") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BaselineError(f"--baseline: {path} is not JSON ({str(exc).splitlines()[0]})") from None
    return baseline_from_report(document, path)


def baseline_from_report(document: object, path: Path) -> Baseline:
    """A conformance.json of schema 1.x (older minor versions included)."""
    if not isinstance(document, dict) or not isinstance(document.get("requirements"), list) \
            or not isinstance(document.get("run"), dict):
        raise BaselineError(f"--baseline: {path} is not a conformance.json (no 'run' and 'requirements')")
    version = str(document.get("schema_version", ""))
    if not version.startswith("1."):
        raise BaselineError(f"--baseline: {path} has schema_version {version or '(none)'}; this suite reads 1.x")
    known: dict[str, Known] = {}
    for entry in document["requirements"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise BaselineError(f"--baseline: {path}: a requirement entry has no id")
        verdict = entry.get("observed_verdict") or entry.get("verdict")
        if verdict not in {v.value for v in Verdict}:
            raise BaselineError(f"--baseline: {path}: {entry['id']} has an unknown verdict {verdict!r}")
        known[entry["id"]] = Known(verdict, entry.get("failed_level") if verdict == "failed" else None)
    run = document["run"]
    return Baseline(path, known, run.get("catalog_digest"), run.get("spec_digest"), run.get("suite_version"),
                    run.get("started"), run.get("verdict"))


@dataclass
class Change:
    id: str
    change: str
    before: Known | None
    verdict: str  # observed now
    failed_level: str | None

    def describe(self) -> str:
        before = self.before
        was = "not in the baseline" if before is None else (
            f"{before.verdict}" + (f" at {before.failed_level}" if before.failed_level else ""))
        now = self.verdict + (f" at {self.failed_level}" if self.failed_level else "")
        return f"{was} -> {now}"


@dataclass
class Comparison:
    baseline: Baseline
    changes: dict[str, Change] = field(default_factory=dict)

    def ids(self, *kinds: str) -> list[str]:
        return [c.id for c in self.changes.values() if c.change in kinds]

    def known_failures(self) -> frozenset[str]:
        """Failing now, and already at the same level or stricter in the baseline: not gated by --fail-on-new."""
        return frozenset(self.ids(STILL))

    def counts(self) -> dict[str, int]:
        return {kind: len(self.ids(kind)) for kind in CHANGES}

    def headline(self) -> str:
        counts = self.counts()
        shown = ", ".join(f"{counts[k]} {k}" for k in CHANGES if counts[k] and k != UNCHANGED)
        return f"since baseline {self.baseline.path.name}: {shown or 'no change'}"

    def to_dict(self) -> dict:
        b = self.baseline
        return {
            "file": str(b.path),
            "started": b.started,
            "verdict": b.verdict,
            "suite_version": b.suite_version,
            "catalog_digest": b.catalog_digest,
            "spec_digest": b.spec_digest,
            "mismatch": b.mismatch,
            "counts": self.counts(),
            "changes": {rid: {"change": c.change, "before": c.before.verdict if c.before else None,
                              "before_failed_level": c.before.failed_level if c.before else None}
                        for rid, c in self.changes.items()},
        }


def change_of(before: Known | None, now: RequirementResult) -> str:
    failed_now = now.verdict is Verdict.FAILED
    failed_before = before is not None and before.verdict == Verdict.FAILED.value
    if failed_now and not failed_before:
        return NEW
    if failed_now:
        assert before is not None  # failed before: known
        level_now, level_before = now.failed_level or "MUST", before.failed_level or "MUST"
        before_known = level_before in Level.__members__  # a level no catalog has counts as MUST
        return WORSE if not Level(level_before if before_known else "MUST").at_least(level_now) else STILL
    if failed_before:
        return FIXED if now.verdict is Verdict.PASSED else NOT_RECHECKED
    return UNCHANGED


def compare(baseline: Baseline, results: dict[str, RequirementResult]) -> Comparison:
    comparison = Comparison(baseline)
    for rid, result in results.items():
        before = baseline.requirements.get(rid)
        comparison.changes[rid] = Change(rid, change_of(before, result), before, result.verdict.value,
                                         result.failed_level)
    return comparison


def record_main(argv: list[str], out=None) -> int:
    """``python -m contract_tests baseline record conformance.json -o baseline.json``: keep a run as the baseline.

    The file is checked (a conformance.json this suite can compare against) and copied whole, so the baseline also
    serves ``replay``.  Exit 0, or 4 with one line.
    """
    import argparse
    import shutil
    import sys

    out = out or sys.stdout
    parser = argparse.ArgumentParser(prog="python -m contract_tests baseline",
                                     description="Keep a run's conformance.json as the baseline of later runs "
                                                 "(--baseline FILE).")
    parser.add_argument("action", choices=("record",))
    parser.add_argument("report", help="conformance.json of the run to keep")
    parser.add_argument("-o", "--output", required=True, help="where to write the baseline")
    args = parser.parse_args(argv)
    try:
        baseline = load_baseline(args.report)
        if baseline.verdict == "could-not-test":
            raise BaselineError(f"{args.report}: that run could not test its target, it knows no verdict to keep")
        if Path(args.output).resolve() != Path(args.report).resolve():
            shutil.copyfile(args.report, args.output)
    except (BaselineError, OSError) as exc:
        print(f"ERROR: baseline: {str(exc).removeprefix('--baseline: ')}", file=out)
        return 4
    failed = sorted(rid for rid, k in baseline.requirements.items() if k.verdict == "failed")
    print(f"baseline recorded: {args.output} ({len(failed)} known failure(s){': ' + ', '.join(failed) if failed else ''}"
          f"){'; NOTE: ' + baseline.mismatch if baseline.mismatch else ''}", file=out)
    return 0
