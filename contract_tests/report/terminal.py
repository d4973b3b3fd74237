"""The requirement table printed at the end of a run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..results import Verdict
from .json_report import _split_message, run_facts
from .outcome import Outcome, evaluate

if TYPE_CHECKING:
    from ..plugin import SuiteState

_MARKUP = {
    Verdict.PASSED: {"green": True},
    Verdict.FAILED: {"red": True, "bold": True},
    Verdict.INCONCLUSIVE: {"yellow": True},
    Verdict.BLOCKED: {"yellow": True},
    Verdict.SKIPPED: {},
    Verdict.WAIVED: {"cyan": True},
}


def _note(r, state: "SuiteState") -> str:
    result = r.result
    if r.verdict is Verdict.PASSED and not result.requirement.opt_in:  # opt-in probes: show their numbers
        return ""
    failures = [o for o in result.observations if o.verdict is Verdict.FAILED]
    if failures:
        expected, actual = _split_message(sorted(failures, key=lambda o: o.repeat)[0].message)
        if expected:
            note = f"expected {expected}; actual {actual or '(see above)'}"
            if r.verdict is Verdict.WAIVED:
                note = f"waived until {r.waiver.expires}: {r.waiver.reason} | {note}"
            return state.redactor(note)
    reason = result.reason.splitlines()[0] if result.reason else ""
    for prefix in ("inconclusive: ", "blocked: "):  # the verdict column already says so
        reason = reason.removeprefix(prefix)
    return state.redactor(reason)


def write_summary(tr, state: "SuiteState", outcome: Outcome | None = None) -> None:
    outcome = outcome or evaluate(state)
    tr.write_sep("=", "Hyper3D login conformance")
    tr.write_line(f"target: {state.target_label}")
    if outcome.verdict == "could-not-test":
        tr.write_line(f"COULD NOT TEST: {outcome.reasons[0].removeprefix('could not test: ')}", red=True, bold=True)
        return
    facts = run_facts(state)
    limits = state.settings.limits
    per_worker = f" over {facts['workers']} xdist workers (limits shared by the run)" if facts["workers"] else ""
    tr.write_line(
        f"requests sent: {facts['requests']} (cap {limits.max_requests}); failed logins on the "
        f"account: {facts['failed_logins']} (budget {limits.failed_login_budget}){per_worker}"
    )
    results = outcome.requirements
    width = max((len(r.result.requirement.title) for r in results.values()), default=10)
    for r in results.values():
        req = r.result.requirement
        failed_level = r.result.failed_level
        verdict = r.verdict.value + (f" ({failed_level})" if failed_level and failed_level != req.level else "")
        tr.write(f"{req.id:<10} {req.level:<7} {req.title:<{width}}  ")
        tr.write(f"{verdict:<14}", **_MARKUP[r.verdict])
        tr.write_line(f" {_note(r, state)[:110]}")
    counts = {v: n for v, n in outcome.counts().items() if n}
    tr.write_line("verdicts: " + ", ".join(f"{n} {v}" for v, n in counts.items()))
    if state.settings.account is None:
        skipped = sum(
            1 for r in results.values()
            if r.result.requirement.credentials != "none" and r.verdict is not Verdict.PASSED
        )
        tr.write_line(
            f"not checked without credentials: {skipped} requirement(s); set LOGIN_EMAIL and LOGIN_PASSWORD",
            yellow=True,
        )
    for waiver in outcome.expired_waivers:
        tr.write_line(
            f"waiver for {waiver.id} EXPIRED on {waiver.expires} and no longer protects it: {waiver.reason}",
            red=True,
        )
    for waiver in outcome.unused_waivers:
        tr.write_line(f"waiver for {waiver.id} unused: the requirement did not fail (remove it?)", yellow=True)
    settings = state.settings
    gate = f"--fail-on={settings.fail_on}" + (" --fail-on-inconclusive" if settings.fail_on_inconclusive else "")
    verdict = outcome.verdict.upper()
    if outcome.gating:
        tr.write_line(f"gate {gate}: {verdict}: {', '.join(outcome.gating)}", red=True, bold=True)
    else:
        tr.write_line(f"gate {gate}: {verdict}", green=outcome.verdict == "conforming", bold=True,
                      red=outcome.exit_code != 0)
    for reason in outcome.reasons:
        if not reason.startswith("violations at"):
            tr.write_line(f"  {reason}", red=outcome.exit_code != 0)
    if settings.report_dir:
        tr.write_line(
            f"report: {settings.report_dir / 'conformance.json'} (+ conformance.md, conformance.html); "
            f"exit {outcome.exit_code}"
        )
