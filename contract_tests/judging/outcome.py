"""The gate: per-requirement verdicts after waivers, the scope of the run, its final verdict and exit code.

Every output (terminal summary, conformance.json/.md/.html, the process exit code) reads the
same :class:`Outcome`, so they can never disagree.

A run is CONFORMING only on evidence: every MUST requirement in scope was observed and held (or is
covered by an active waiver), and at least one did.  Exit codes (README, section Gate and exit codes):

* ``0``: conforming at the chosen gate; with ``--baseline --fail-on-new``, also "no new failures": every failure
  at the gate was already in the baseline at the same level or stricter (verdict ``no-new-failures``);
* ``1``: violations at the gate (an expired waiver protects nothing), or a test of the suite errored;
* ``4``: could not test: unreachable or unanswering target, not the login API, credentials that do not log
  in, bad configuration (also pytest's usage-error code);
* ``10``: inconclusive: some in-scope MUST requirement (with ``--fail-on-inconclusive``: any in-scope
  requirement) was not decided, no MUST requirement was observed to hold, or the run had no credentials
  (unless ``--without-credentials`` asked for the credential-free subset).
pytest's own codes for an interrupted run (2: SIGINT or SIGTERM, verdict ``interrupted``, set by the plugin), an
internal error (3) and nothing collected (5) are kept as the exit status; the verdict then says what the evidence
allows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..contract.levels import Level
from .gate import gating
from .results import NO_CREDENTIALS, NOT_ENABLED, RequirementResult, Verdict, clip
from .run_record import RunRecord
from .waivers import Waiver, today

EXIT_CONFORMING = 0
EXIT_VIOLATIONS = 1
EXIT_INTERRUPTED = 2
EXIT_INTERNAL_ERROR = 3
EXIT_COULD_NOT_TEST = 4
EXIT_NO_TESTS = 5
EXIT_INCONCLUSIVE = 10  # clear of pytest's own codes (0-6, 6 being --max-warnings since pytest 9)

UNDECIDED = (Verdict.INCONCLUSIVE, Verdict.BLOCKED)
NO_NEW_FAILURES = "no-new-failures"  # --fail-on-new: failures at the gate, all known from the baseline (exit 0)
NOT_SELECTED = "not selected"


@dataclass
class RequirementOutcome:
    result: RequirementResult
    verdict: Verdict  # the reported verdict: WAIVED for a failure an active waiver covers
    waiver: Waiver | None  # the waiver naming this requirement (active or expired), if any
    gating: bool  # this requirement makes the run fail
    out_of_scope: str | None = None  # why the run does not judge it (no credentials, opt-in, not selected)
    accepted: bool = False  # undecided, and an active waiver accepts that it cannot be observed here

    @property
    def id(self) -> str:
        return self.result.requirement.id

    @property
    def undecided(self) -> bool:
        """In scope and not decided: inconclusive, blocked, or never run."""
        if self.out_of_scope or self.accepted:
            return False
        if self.verdict in UNDECIDED:
            return True
        return self.verdict is Verdict.SKIPPED and not any(o.not_applicable for o in self.result.observations)


@dataclass
class Outcome:
    requirements: dict[str, RequirementOutcome]
    verdict: str  # conforming | non-conforming | no-new-failures | inconclusive | error | could-not-test
    exit_code: int
    reasons: list[str] = field(default_factory=list)  # why the run is not conforming, one line each
    expired_waivers: list[Waiver] = field(default_factory=list)
    unused_waivers: list[Waiver] = field(default_factory=list)  # active, but the requirement did not fail
    scope_notes: list[str] = field(default_factory=list)  # what the run left out, one line per cause

    @property
    def gating(self) -> list[str]:
        return [r.id for r in self.requirements.values() if r.gating]

    @property
    def undecided(self) -> list[str]:
        return [r.id for r in self.requirements.values() if r.undecided]

    @property
    def accepted(self) -> list[str]:
        return [r.id for r in self.requirements.values() if r.accepted]

    def out_of_scope(self, why: str | None = None) -> list[str]:
        return [r.id for r in self.requirements.values() if r.out_of_scope and (why is None or r.out_of_scope == why)]

    def counts(self) -> dict[str, int]:
        counts = {v.value: 0 for v in Verdict}
        for r in self.requirements.values():
            counts[r.verdict.value] += 1
        return counts


def _out_of_scope(record: RunRecord, result: RequirementResult) -> str | None:
    req = result.requirement
    if req.opt_in and all(o.verdict is Verdict.SKIPPED and o.message.startswith(NOT_ENABLED)
                          for o in result.observations):
        return NOT_ENABLED
    if not result.observations:
        if record.selected is not None and req.id not in record.selected:
            return NOT_SELECTED
        return None  # selected, never run: undecided
    if not record.credentials and result.verdict is Verdict.SKIPPED and any(
            o.message.startswith(NO_CREDENTIALS) for o in result.observations):
        return NO_CREDENTIALS
    return None


def _ids(ids: list[str], limit: int = 12) -> str:
    return ", ".join(ids[:limit]) + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def evaluate(record: RunRecord) -> Outcome:
    on = today()
    waivers = {w.id: w for w in record.waivers}
    requirements: dict[str, RequirementOutcome] = {}
    expired: list[Waiver] = []
    unused: list[Waiver] = []
    known: list[str] = []
    for rid, result in record.results.by_requirement().items():
        waiver = waivers.get(rid)
        verdict = result.verdict
        scope = _out_of_scope(record, result)
        accepted = False
        if waiver is not None:
            if waiver.expired(on):
                expired.append(waiver)
            elif verdict is Verdict.FAILED:
                verdict = Verdict.WAIVED
            elif verdict in UNDECIDED or (verdict is Verdict.SKIPPED and not scope):
                accepted = True  # cannot be observed on this deployment, and the team says so
            else:
                unused.append(waiver)
        gates = verdict is Verdict.FAILED and gating(result, record.fail_on)
        if gates and record.known_failures is not None and rid in record.known_failures:
            gates = False  # --fail-on-new: a failure the baseline already had is reported, not gated
            known.append(rid)
        requirements[rid] = RequirementOutcome(result, verdict, waiver, gates, scope, accepted)

    outcome = Outcome(requirements, "conforming", EXIT_CONFORMING, expired_waivers=expired, unused_waivers=unused)
    _note_scope(record, outcome)
    if record.could_not_test:
        outcome.verdict, outcome.exit_code = "could-not-test", EXIT_COULD_NOT_TEST
        outcome.reasons.append(f"could not test: {record.could_not_test}")
        return outcome
    if outcome.gating:
        outcome.verdict, outcome.exit_code = "non-conforming", EXIT_VIOLATIONS
        outcome.reasons.append(f"violations at --fail-on={record.fail_on}: {', '.join(outcome.gating)}")
        protected = [w.id for w in expired if w.id in outcome.gating]
        if protected:
            outcome.reasons.append(f"expired waiver(s) no longer protect: {', '.join(protected)}")
    elif known:
        outcome.verdict = NO_NEW_FAILURES
        outcome.reasons.append(
            f"no failure is new or worse than in the baseline (--fail-on-new); known failures, not gated: "
            f"{', '.join(known)}")
    if record.suite_errors:
        if outcome.exit_code == EXIT_CONFORMING:
            outcome.verdict, outcome.exit_code = "error", EXIT_VIOLATIONS
        outcome.reasons.append(
            f"{record.suite_errors} test(s) of the suite errored (not a contract verdict; see the test output)")
    _require_evidence(record, outcome)
    return outcome


def _note_scope(record: RunRecord, outcome: Outcome) -> None:
    not_selected = outcome.out_of_scope(NOT_SELECTED)
    if not_selected:
        how = f" ({record.selection_note})" if record.selection_note else ""
        outcome.scope_notes.append(
            f"scope narrowed{how}: {len(not_selected)} requirement(s) left out: {_ids(not_selected, 50)}")
    no_credentials = outcome.out_of_scope(NO_CREDENTIALS)
    if no_credentials:
        outcome.scope_notes.append(
            f"no credentials: {len(no_credentials)} requirement(s) not checked (set LOGIN_EMAIL and LOGIN_PASSWORD): "
            f"{_ids(no_credentials, 50)}")
    if outcome.accepted:
        outcome.scope_notes.append(
            f"accepted as not observable here (active waivers): {', '.join(outcome.accepted)}")


def _require_evidence(record: RunRecord, outcome: Outcome) -> None:
    """CONFORMING needs every in-scope MUST decided, at least one MUST observed to hold, and credentials (or the
    user's explicit --without-credentials)."""
    _require_credentials(record, outcome)
    levels = tuple(Level) if record.fail_on_inconclusive else (Level.MUST,)
    undecided = [r for r in outcome.requirements.values()
                 if r.undecided and r.result.requirement.level in levels]
    must_passed = [r for r in outcome.requirements.values()
                   if r.result.requirement.level == Level.MUST and r.verdict is Verdict.PASSED and not r.out_of_scope]
    if record.stopped:
        outcome.reasons.append(f"the run stopped early: {record.stopped}")
    if undecided:
        what = "in-scope requirement(s)" if record.fail_on_inconclusive else "in-scope MUST requirement(s)"
        outcome.reasons.append(
            f"{len(undecided)} {what} not decided: "
            + "; ".join(f"{r.id} {r.verdict.value}: {_why(r)}" for r in undecided[:8])
            + (f"; and {len(undecided) - 8} more" if len(undecided) > 8 else ""))
    elif not must_passed:
        outcome.reasons.append("no MUST requirement was observed to hold: nothing supports a CONFORMING verdict")
    if (undecided or not must_passed or record.stopped) and outcome.exit_code == EXIT_CONFORMING:
        outcome.verdict, outcome.exit_code = "inconclusive", EXIT_INCONCLUSIVE


def _require_credentials(record: RunRecord, outcome: Outcome) -> None:
    """A run without credentials checks only the credential-free subset: not a gate's evidence unless asked for."""
    missing = outcome.out_of_scope(NO_CREDENTIALS)
    if record.credentials or record.without_credentials or not missing:
        return
    outcome.reasons.append(
        f"no credentials: {len(missing)} requirement(s) need them and were not checked; set LOGIN_EMAIL and "
        "LOGIN_PASSWORD, or give --without-credentials to judge only the credential-free subset")
    if outcome.exit_code == EXIT_CONFORMING:
        outcome.verdict, outcome.exit_code = "inconclusive", EXIT_INCONCLUSIVE


def _why(r: RequirementOutcome) -> str:
    if not r.result.observations:
        return "not run"
    reason = (r.result.reason or "").splitlines()[0] if r.result.reason else ""
    for prefix in ("inconclusive: ", "blocked: "):
        reason = reason.removeprefix(prefix)
    return clip(reason, 160)
