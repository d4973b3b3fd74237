"""One contract test's report: an observation per declared requirement, the gate applied to its pytest outcome.

The verdict of a test that ends without a pass or a failure comes from the exception it ended with (a typed skip of
judging/outcomes.py, or a NotSent of the client), never from its reason's text.
"""

from __future__ import annotations

import pytest

from ..config.settings import Settings
from ..contract.levels import Level
from ..judging.gate import failed_level, gates
from ..judging.ledger import TestContext
from ..judging.outcomes import Undecided
from ..judging.results import Observation, Verdict
from ..judging.verdicts import Violation, not_sent
from ..sending.client import NotSent
from .redaction import redact_report
from .session import SuiteState


def make_report(state: SuiteState, item: pytest.Item, call: pytest.CallInfo, report: pytest.TestReport,
                ctx: TestContext) -> None:
    """Conclude *ctx*'s test on its decisive report (the call, or a setup that did not pass), gate and redact it."""
    undecided = undecided_of(call)
    if undecided is not None:
        _as_skipped(report, item, undecided,
                    typed=not (call.excinfo is not None and isinstance(call.excinfo.value, NotSent)))
    decisive = call.when == "call" or (call.when == "setup" and not report.passed)
    if decisive:
        observations, suite_error = conclude(ctx, report, call, undecided)
        # an attribute of the report's own: it travels with the report from an xdist worker to the controller
        report.hyper3d_observations = [o.to_dict() for o in observations]  # type: ignore[attr-defined]
        if not suite_error:
            apply_gate(report, ctx, state.settings.fail_on, active_waivers(state.settings),
                       known_failures(state.settings))
    redact_report(report, state.redactor)
    # one property per requirement, named by its ID, valued by its level: unambiguous for name -> value readers
    report.user_properties.extend((rid, state.catalog[rid].level) for rid in ctx.requirements if rid in state.catalog)


def undecided_of(call: pytest.CallInfo) -> Undecided | None:
    """The verdict a test that ended without a pass or a failure carries (None: a plain skip, or none)."""
    exc = call.excinfo.value if call.excinfo is not None else None
    if isinstance(exc, NotSent):
        return not_sent(exc)
    return exc if isinstance(exc, Undecided) else None


def conclude(ctx: TestContext, report: pytest.TestReport, call: pytest.CallInfo,
             undecided: Undecided | None = None) -> tuple[list[Observation], bool]:
    """One observation per declared requirement (plus the recorded ones); True if the suite itself erred."""
    observations = list(ctx.observations)
    observed = {o.requirement for o in observations}  # recorded failures, or an invariant item's own verdict
    evidence = [ex.evidence() for ex in ctx.exchanges[:2]]
    suite_error = False

    def add(verdict: Verdict, message: str, n_a: bool = False) -> None:
        for rid in ctx.requirements:
            if rid not in observed:
                observations.append(Observation(rid, verdict, ctx.nodeid, message, None, evidence, n_a))

    if report.passed and not ctx.exchanges:
        # never green without evidence: a check that judged no exchange (and recorded no verdict of its own) observed
        # nothing a pass could rest on -- a defect of the check, reported as undecided, never as a pass
        add(Verdict.INCONCLUSIVE, "the check ended without judging any exchange: nothing to rest a pass on")
    elif report.passed:
        add(Verdict.PASSED, f"{len(ctx.exchanges)} exchange(s) checked")
        if ctx.failed():
            report.outcome = "failed"
            report.longrepr = _joined(ctx.failed())
    elif report.skipped:
        reason = skip_reason(report)
        if undecided is not None:
            add(undecided.verdict, reason, undecided.not_applicable)
        else:
            add(Verdict.SKIPPED, reason)
        if ctx.failed():  # a violation seen before the block must not disappear behind it
            report.outcome = "failed"
            report.longrepr = _joined(ctx.failed()) + f"\n\n(then: {reason})"
    else:
        exc = call.excinfo.value if call.excinfo else None
        if isinstance(exc, Violation):
            add(Verdict.INCONCLUSIVE, "not reached: an earlier check of this test failed")
            others = [o for o in ctx.failed() if o is not exc.observation]
            report.longrepr = exc.observation.message
            if others:
                report.longrepr += "\n\nalso observed in this test:\n" + _brief(others)
            repeats = sum(o.repeat and o is not exc.observation for o in ctx.observations)
            if repeats:
                report.longrepr += (f"\n\n(+{repeats} more response(s) like one reported above: counted in "
                                    "conformance.json)")
        else:
            suite_error = True
            what = call.excinfo.exconly() if call.excinfo else "unknown error"
            add(Verdict.INCONCLUSIVE, f"the check could not complete: {what.splitlines()[0][:300]}")
    return observations, suite_error


def _joined(observations: list[Observation]) -> str:
    return "\n\n".join(o.message for o in observations)


def _brief(observations: list[Observation]) -> str:
    """Other failures the same test saw: headline and expected/actual only, each distinct one once, counted."""
    briefs: dict[str, int] = {}
    for o in observations:
        lines = [o.message.splitlines()[0]]
        for label, text in (("expected:  ", o.expected), ("actual:    ", o.actual)):
            if text is not None:
                lines.append(f"  {label}{text.splitlines()[0] if text else ''}")
        brief = "\n".join(lines)
        briefs[brief] = briefs.get(brief, 0) + 1
    return "\n".join(brief + (f"\n  ({n} responses)" if n > 1 else "") for brief, n in briefs.items())


def _as_skipped(report: pytest.TestReport, item: pytest.Item, undecided: Undecided, *, typed: bool) -> None:
    """A skip carrying its verdict: the reason with the verdict's word first. *typed*: the test raised the typed skip
    itself (where it did is kept); else the client could not complete the check (budget, rate limit, no answer)."""
    report.outcome = "skipped"
    longrepr = report.longrepr
    if typed and isinstance(longrepr, tuple) and len(longrepr) == 3:
        report.longrepr = (longrepr[0], longrepr[1], f"Skipped: {undecided.reason_text}")
        return
    path, lineno, _ = item.location
    report.longrepr = (str(path), (lineno or 0) + 1, f"Skipped: {undecided.reason_text}")


def skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return reason.removeprefix("Skipped: ")


def active_waivers(settings: Settings) -> dict[str, object]:
    return {w.id: w for w in settings.waivers if not w.expired()}


def known_failures(settings: Settings) -> dict[str, str]:
    """--fail-on-new: requirement -> the level it failed at in the baseline (failures no stricter do not gate)."""
    if not settings.fail_on_new or settings.baseline is None:
        return {}
    return {rid: k.failed_level or "MUST" for rid, k in settings.baseline.requirements.items() if k.verdict == "failed"}


def apply_gate(report: pytest.TestReport, ctx: TestContext, fail_on: str, waived: dict | None = None,
               known: dict[str, str] | None = None) -> None:
    """A violation below the gate level, of a waived requirement or (--fail-on-new) one the baseline already had
    shows as xfail: visible, not failing."""
    failures = ctx.failed() or ctx.failed(repeats=True)
    if not report.failed or not failures:
        return
    waived, known = waived or {}, known or {}

    def is_known(o: Observation) -> bool:
        before = known.get(o.requirement)
        return before is not None and Level(before).at_least(failed_level(o))

    counted = [o for o in failures if o.requirement not in waived and not is_known(o)]
    if any(gates(o, fail_on) for o in counted):
        return
    levels = {failed_level(o).value for o in counted}
    first = failures[0].message.splitlines()[0]
    report.outcome = "skipped"
    why = []
    if levels:
        why.append(f"non-gating {'/'.join(sorted(levels))} violation at --fail-on={fail_on}")
    ids = sorted({o.requirement for o in failures if o.requirement in waived})
    if ids:
        why.append("waived " + ", ".join(f"{i} (until {waived[i].expires})" for i in ids))
    ids = sorted({o.requirement for o in failures if o.requirement not in waived and is_known(o)})
    if ids:
        why.append(f"known from the baseline (--fail-on-new): {', '.join(ids)}")
    report.wasxfail = f"{'; '.join(why)}: {first}"
