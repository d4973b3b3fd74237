"""The requirement table printed at the end of a run."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from pathlib import Path

from ..sending.exchange import visible
from ..judging.results import Verdict, clip, failed_clause
from ..judging.run_record import RunRecord
from .json_report import backoff_line, expected_actual, gateway_line, latency, latency_line, not_run_reason
from ..judging.outcome import Outcome

if TYPE_CHECKING:
    from ..history.baseline import Comparison

_MARKUP = {
    Verdict.PASSED: {"green": True},
    Verdict.FAILED: {"red": True, "bold": True},
    Verdict.INCONCLUSIVE: {"yellow": True},
    Verdict.BLOCKED: {"yellow": True},
    Verdict.SKIPPED: {},
    Verdict.WAIVED: {"cyan": True},
}


def _note(r, record: RunRecord, outcome: Outcome) -> str:
    result = r.result
    if r.verdict is Verdict.PASSED and not result.requirement.opt_in:  # opt-in probes: show their numbers
        return ""
    if result.headline is not None:  # a failure at the failed level (results.aggregate)
        expected, actual = expected_actual(result.headline)
        if expected:
            note = f"expected {expected}; actual {actual or '(see above)'}"
            clause = failed_clause(result.requirement.level, result.failed_level)
            if clause:
                note = f"{clause}: {note}"
            if r.verdict is Verdict.WAIVED:
                note = f"waived until {r.waiver.expires}: {r.waiver.reason} | {note}"
            return visible(record.redactor(note))
    reason = not_run_reason(r, record, outcome) or (result.reason.splitlines()[0] if result.reason else "")
    for prefix in ("inconclusive: ", "blocked: "):  # the verdict column already says so
        reason = reason.removeprefix(prefix)
    if r.out_of_scope and not reason:
        reason = f"out of scope: {r.out_of_scope}"
    if r.accepted:
        reason = f"accepted (waiver until {r.waiver.expires}: {r.waiver.reason}) | {reason}"
    return visible(record.redactor(reason))


def write_summary(tr, record: RunRecord, outcome: Outcome, report_dir: Path | None = None,
                  notes: tuple[str, ...] = ()) -> None:
    """*notes*: what the suite changed of the options given (a --timeout capped at the run deadline)."""
    tr.write_sep("=", "Hyper3D login conformance")
    tr.write_line(f"target: {record.target_label or record.target}")
    for note in notes:
        tr.write_line(f"NOTE: {note}", yellow=True)
    if record.reference_server:
        tr.write_line("NOTE: this run tested the BUNDLED REFERENCE SERVER, not a deployment (no --base-url)",
                      yellow=True, bold=True)
    status = outcome.exit_code if record.exit_status is None else record.exit_status
    if outcome.verdict == "could-not-test":  # why: the run's last line (verdict_line), said once
        tr.write_line(f"COULD NOT TEST: nothing was judged (requests sent: {record.requests}; failed logins on the "
                      f"account: {record.failed_logins})", red=True, bold=True)
        _report_line(tr, report_dir, status)
        return
    per_worker = f" over {record.workers} xdist workers (limits shared by the run)" if record.workers else ""
    unused = f", {record.unused_ahead} of them not needed" if record.unused_ahead else ""
    ahead = (f"; {record.sent_ahead} sent ahead{unused}, up to {record.in_flight} in flight" if record.sent_ahead
             else "")
    tr.write_line(
        f"requests sent: {record.requests} (cap {record.max_requests}{ahead}); failed logins on the "
        f"account: {record.failed_logins} (budget {record.failed_login_budget}){per_worker}"
    )
    backoff = backoff_line({"rate_limited": record.rate_limited, "locked_out": record.locked_out,
                            "backoff_s": round(record.backoff_seconds, 1)})
    if backoff:
        tr.write_line(f"rate limits and lockouts: {backoff}", yellow=True)
    gateway = gateway_line({"gateway_retries": record.gateway_retries, "gateway_blips": record.gateway_blips})
    if gateway:
        tr.write_line(f"gateway answers: {gateway}", yellow=True)
    answers = latency(record)
    if answers:
        duration = (record.finished or record.started) - record.started
        tr.write_line(f"answer latency: {latency_line({'latency': answers, 'duration_s': duration})}",
                      yellow=answers["dominates"])
    _write_baseline(tr, record)
    results = outcome.requirements
    width = max((len(r.result.requirement.title) for r in results.values()), default=10)
    for r in results.values():
        req = r.result.requirement
        failed_level = r.result.failed_level
        verdict = r.verdict.value + (f" ({failed_level})" if failed_level and failed_level != req.level else "")
        tr.write(f"{req.id:<10} {req.level:<7} {req.title:<{width}}  ")
        tr.write(f"{verdict:<14}", **_MARKUP[r.verdict])
        tr.write_line(f" {clip(_note(r, record, outcome), 110)}")
    counts = {v: n for v, n in outcome.counts().items() if n}
    tr.write_line("verdicts: " + ", ".join(f"{n} {v}" for v, n in counts.items()))
    for note in outcome.scope_notes:
        tr.write_line(note, yellow=True)
    for waiver in outcome.expired_waivers:
        tr.write_line(
            f"waiver for {waiver.id} EXPIRED on {waiver.expires} and no longer protects it: {waiver.reason}",
            red=True,
        )
    for waiver in outcome.unused_waivers:
        tr.write_line(f"waiver for {waiver.id} unused: the requirement did not fail (remove it?)", yellow=True)
    _write_failures(tr, outcome, record)
    gate = _gate(record)
    verdict = outcome.verdict.upper() + _subset(record)
    if outcome.gating:
        tr.write_line(f"gate {gate}: {verdict}: {', '.join(outcome.gating)} (exit {status})", red=True, bold=True)
    else:
        tr.write_line(f"gate {gate}: {verdict} (exit {status})", green=outcome.verdict == "conforming", bold=True,
                      red=status != 0)
    for reason in outcome.reasons:
        if not reason.startswith("violations at"):
            tr.write_line(f"  {visible(record.redactor(reason))}", red=status != 0)
    _report_line(tr, report_dir, status)


def _gate(record: RunRecord) -> str:
    gate = f"--fail-on={record.fail_on}" + (" --fail-on-inconclusive" if record.fail_on_inconclusive else "")
    return gate + (" --fail-on-new" if record.known_failures is not None else "")


def _subset(record: RunRecord) -> str:
    """The verdict of a run without credentials judges the credential-free subset only: it says so."""
    return " (credential-free subset, --without-credentials)" if (
        record.without_credentials and not record.credentials) else ""


def _write_failures(tr, outcome: Outcome, record: RunRecord) -> None:
    """One FAILED line per failure that gates: the requirement's ID, the level it failed at, its title and what was
    wrong (in place of pytest's FAILED lines, which name test files). A failure below the gate, waived or known from
    the baseline is in the table above, as pytest shows it as xfail: not FAILED."""
    for r in outcome.requirements.values():
        if not r.gating:
            continue
        req = r.result.requirement
        level = r.result.failed_level or req.level
        note = clip(_note(r, record, outcome), 120)
        tr.write_line(f"FAILED {req.id} [{level}] {req.title}" + (f": {note}" if note else ""), red=True)


def verdict_line(record: RunRecord, outcome: Outcome, report_dir: Path | None) -> tuple[str, dict]:
    """The run's last line: the verdict, why in brief, the exit status and where the report is."""
    status = outcome.exit_code if record.exit_status is None else record.exit_status
    verdict = "COULD NOT TEST" if outcome.verdict == "could-not-test" else outcome.verdict.upper()
    if outcome.verdict == "could-not-test":
        why = ": " + outcome.reasons[0].removeprefix("could not test: ")
    elif outcome.verdict == "interrupted":
        why = f": {record.stopped}" + (f"; violations so far: {', '.join(outcome.gating)}" if outcome.gating else "")
    elif outcome.gating:
        why = f" at {_gate(record)}: " + ", ".join(
            f"{rid} {outcome.requirements[rid].result.requirement.title}" for rid in outcome.gating[:5]) + (
            f" and {len(outcome.gating) - 5} more" if len(outcome.gating) > 5 else "")
    elif outcome.verdict in ("conforming", "no-new-failures"):
        why = f" at {_gate(record)}{_subset(record)}"
    else:
        why = f": {outcome.reasons[0]}" if outcome.reasons else ""
    where = f"; report: {Path(report_dir) / 'conformance.json'}" if report_dir else ""
    if outcome.verdict != "could-not-test":  # its reason is the one line that says what to fix: whole
        why = why[0] + clip(why, 300) if why.startswith(" ") else clip(why, 300)
    line = visible(record.redactor(f"hyper3d-login: {verdict}{why} (exit {status}{where})"))
    return line, {"bold": True, "green": status == 0, "red": status != 0}


def _write_baseline(tr, record: RunRecord) -> None:
    """--baseline: the changes first (new and worse in red), one line per changed requirement."""
    comparison = cast("Comparison | None", record.baseline)
    if comparison is None:
        return
    from ..history.baseline import FIXED, NEW, NOT_RECHECKED, STILL, WORSE

    tr.write_line(comparison.headline(), bold=True)
    if comparison.baseline.mismatch:
        tr.write_line(f"  NOTE: {comparison.baseline.mismatch}", yellow=True)
    colours = {NEW: {"red": True}, WORSE: {"red": True}, FIXED: {"green": True}, STILL: {}, NOT_RECHECKED: {"yellow": True}}
    for kind, markup in colours.items():
        for change in comparison.changes.values():
            if change.change == kind:
                tr.write_line(f"  {kind:<14} {change.id:<10} {change.describe()}", **markup)


def _report_line(tr, report_dir: Path | None, status: int) -> None:
    if report_dir:
        tr.write_line(
            f"report: {Path(report_dir) / 'conformance.json'} (+ conformance.md, conformance.html); exit {status}"
        )
