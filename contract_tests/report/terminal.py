"""The requirement table printed at the end of a run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..results import Verdict, gating
from .json_report import final_verdict

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


def write_summary(tr, state: "SuiteState") -> None:
    results = state.results.by_requirement()
    tr.write_sep("=", "Hyper3D login conformance")
    tr.write_line(f"target: {state.target_label}")
    if state.could_not_test:
        tr.write_line(f"COULD NOT TEST: {state.could_not_test}", red=True, bold=True)
        return
    client = state.client
    if client is not None:
        tr.write_line(
            f"requests sent: {client.requests_sent} (cap {client.limits.max_requests}); failed logins on the "
            f"account: {client.failed_logins} (budget {client.limits.failed_login_budget})"
        )
    width = max((len(r.requirement.title) for r in results.values()), default=10)
    for r in results.values():
        req = r.requirement
        verdict = r.verdict.value + (f" ({r.failed_level})" if r.failed_level and r.failed_level != req.level else "")
        tr.write(f"{req.id:<10} {req.level:<7} {req.title:<{width}}  ")
        tr.write(f"{verdict:<14}", **_MARKUP[r.verdict])
        note = "" if r.verdict is Verdict.PASSED else state.redactor(r.reason.splitlines()[0] if r.reason else "")
        tr.write_line(f" {note[:110]}")
    counts: dict[str, int] = {}
    for r in results.values():
        counts[r.verdict.value] = counts.get(r.verdict.value, 0) + 1
    tr.write_line("verdicts: " + ", ".join(f"{n} {v}" for v, n in counts.items()))
    if state.settings.account is None:
        skipped = sum(
            1 for r in results.values() if r.requirement.credentials != "none" and r.verdict is not Verdict.PASSED
        )
        tr.write_line(
            f"not checked without credentials: {skipped} requirement(s); set LOGIN_EMAIL and LOGIN_PASSWORD",
            yellow=True,
        )
    gate = state.settings.fail_on
    failing = [r.id for r in results.values() if gating(r, gate)]
    verdict = final_verdict(state)
    if failing:
        tr.write_line(f"gate --fail-on={gate}: {verdict.upper()}: {', '.join(failing)}", red=True, bold=True)
    else:
        tr.write_line(f"gate --fail-on={gate}: {verdict.upper()}", green=verdict == "conforming", bold=True)
    if state.settings.report_dir:
        tr.write_line(f"report: {state.settings.report_dir / 'conformance.json'}")
