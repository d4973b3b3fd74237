"""The gate: per-requirement verdicts after waivers, the final verdict of the run and its exit code.

Every output (terminal summary, conformance.json/.md/.html, the process exit code) reads the
same :class:`Outcome`, so they can never disagree.

Exit codes (documented in README, section Reports):

* ``0``: conforming at the chosen gate (waived failures, violations below the gate and, without
  ``--fail-on-inconclusive``, undecided requirements do not count);
* ``1``: violations at the gate, an expired waiver's failure, undecided requirements with
  ``--fail-on-inconclusive``, or a test of the suite that errored (a bug to report, never hidden);
* ``4``: could not test: unreachable target, TLS/DNS failure, bad configuration (also pytest's
  usage-error code, which bad options and an invalid ``--waivers`` file produce).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..results import RequirementResult, Verdict, gating
from ..waivers import Waiver, today

if TYPE_CHECKING:
    from ..plugin import SuiteState

EXIT_CONFORMING = 0
EXIT_VIOLATIONS = 1
EXIT_COULD_NOT_TEST = 4

UNDECIDED = (Verdict.INCONCLUSIVE, Verdict.BLOCKED)


@dataclass
class RequirementOutcome:
    result: RequirementResult
    verdict: Verdict  # the reported verdict: WAIVED for a failure an active waiver covers
    waiver: Waiver | None  # the waiver naming this requirement (active or expired), if any
    gating: bool  # this requirement makes the run fail

    @property
    def id(self) -> str:
        return self.result.requirement.id


@dataclass
class Outcome:
    requirements: dict[str, RequirementOutcome]
    verdict: str  # conforming | non-conforming | inconclusive | error | could-not-test
    exit_code: int
    reasons: list[str] = field(default_factory=list)  # why the run is not conforming, one line each
    expired_waivers: list[Waiver] = field(default_factory=list)
    unused_waivers: list[Waiver] = field(default_factory=list)  # active, but the requirement did not fail

    @property
    def gating(self) -> list[str]:
        return [r.id for r in self.requirements.values() if r.gating]

    @property
    def undecided(self) -> list[str]:
        return [r.id for r in self.requirements.values() if r.verdict in UNDECIDED]

    def counts(self) -> dict[str, int]:
        counts = {v.value: 0 for v in Verdict}
        for r in self.requirements.values():
            counts[r.verdict.value] += 1
        return counts


def evaluate(state: "SuiteState") -> Outcome:
    settings = state.settings
    on = today()
    waivers = {w.id: w for w in settings.waivers}
    requirements: dict[str, RequirementOutcome] = {}
    expired: list[Waiver] = []
    unused: list[Waiver] = []
    for rid, result in state.results.by_requirement().items():
        waiver = waivers.get(rid)
        verdict = result.verdict
        if waiver is not None:
            if waiver.expired(on):
                expired.append(waiver)
            elif verdict is Verdict.FAILED:
                verdict = Verdict.WAIVED
            else:
                unused.append(waiver)
        gates = verdict is Verdict.FAILED and gating(result, settings.fail_on)
        requirements[rid] = RequirementOutcome(result, verdict, waiver, gates)

    outcome = Outcome(requirements, "conforming", EXIT_CONFORMING, expired_waivers=expired, unused_waivers=unused)
    could_not_test = state.could_not_test or next(
        (w.get("could_not_test") for w in getattr(state, "workers", {}).values() if w.get("could_not_test")), None
    )
    if could_not_test:
        outcome.verdict, outcome.exit_code = "could-not-test", EXIT_COULD_NOT_TEST
        outcome.reasons.append(f"could not test: {could_not_test}")
        return outcome
    if outcome.gating:
        outcome.verdict, outcome.exit_code = "non-conforming", EXIT_VIOLATIONS
        outcome.reasons.append(f"violations at --fail-on={settings.fail_on}: {', '.join(outcome.gating)}")
        protected = [w.id for w in expired if w.id in outcome.gating]
        if protected:
            outcome.reasons.append(f"expired waiver(s) no longer protect: {', '.join(protected)}")
    if settings.fail_on_inconclusive and outcome.undecided:
        if outcome.exit_code == EXIT_CONFORMING:
            outcome.verdict, outcome.exit_code = "inconclusive", EXIT_VIOLATIONS
        outcome.reasons.append(f"undecided with --fail-on-inconclusive: {', '.join(outcome.undecided)}")
    errors = getattr(state, "unexplained_failures", 0)
    if errors:
        if outcome.exit_code == EXIT_CONFORMING:
            outcome.verdict, outcome.exit_code = "error", EXIT_VIOLATIONS
        outcome.reasons.append(f"{errors} test(s) of the suite errored (not a contract verdict; see the test output)")
    return outcome
