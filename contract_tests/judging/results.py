"""The result model: observations made by tests, aggregated into one verdict per requirement."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Iterable

from ..contract.catalog import Requirement
from ..contract.levels import Level


class Verdict(str, enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    INCONCLUSIVE = "inconclusive"
    BLOCKED = "blocked"
    SKIPPED = "skipped"
    WAIVED = "waived"

    def __str__(self) -> str:
        return self.value


# Why a requirement was skipped, as the skip reason begins (the gate reads these: out of scope, not undecided)
NOT_ENABLED = "opt-in, not enabled"  # an opt-in probe's test without its --probe
NO_CREDENTIALS = "no credentials"  # a credentialed check without LOGIN_EMAIL / LOGIN_PASSWORD


@dataclass
class Observation:
    """One test's (or one invariant's) finding about one requirement."""

    requirement: str
    verdict: Verdict
    test: str
    message: str = ""
    level: str | None = None  # the level of the clause that failed, when narrower than the requirement's
    evidence: list[dict] = field(default_factory=list)
    not_applicable: bool = False
    repeat: bool = False  # same violation, same kind of response, already reported earlier in the run
    # failed observations: the requests `replay` sends again ({"requests"}; judging/failures.py)
    replay: dict | None = None
    # requirements whose statements the same answer breaks for the same reason, charged here once (ledger.py)
    also_affects: list[str] = field(default_factory=list)
    # failed observations: what was expected and what came back (redacted, as the message shows them), and the check
    # that failed as `replay` finds it again ({"name", "args", "kwargs"} or "withheld"; judging/failures.py)
    expected: str | None = None
    actual: str | None = None
    check: dict | None = None

    def to_dict(self) -> dict:
        data = asdict(self)
        data["verdict"] = self.verdict.value
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Observation":
        return cls(**{**data, "verdict": Verdict(data["verdict"])})


@dataclass
class RequirementResult:
    requirement: Requirement
    verdict: Verdict
    reason: str
    failed_level: str | None
    observations: list[Observation]
    headline: Observation | None = None  # a failed one: the first first-hand report at the failed level

    @property
    def failed_statement(self) -> str | None:
        """The statement of the clause that failed (the SHOULD clause of a MUST requirement failed at SHOULD)."""
        return self.requirement.statement_at(self.failed_level) if self.failed_level else None

    @property
    def id(self) -> str:
        return self.requirement.id


def _rank(obs: Observation) -> int:
    order = {
        Verdict.FAILED: 0,
        Verdict.BLOCKED: 1,
        Verdict.INCONCLUSIVE: 2,
        Verdict.SKIPPED: 3,
        Verdict.PASSED: 4,
    }
    if obs.verdict is Verdict.SKIPPED and obs.not_applicable:
        return 5  # "does not apply here" never hides a pass made elsewhere
    return order[obs.verdict]


def aggregate(requirement: Requirement, observations: Iterable[Observation]) -> RequirementResult:
    """failed > blocked > inconclusive > skipped (not observed) > passed > skipped (n/a)."""
    obs = list(observations)
    if not obs:
        return RequirementResult(requirement, Verdict.SKIPPED, "not run (deselected)", None, [])
    worst = min(obs, key=_rank)
    if worst.verdict is not Verdict.FAILED:
        return RequirementResult(requirement, worst.verdict, worst.message, None, obs)
    failed = [o for o in obs if o.verdict is Verdict.FAILED]
    failed_level = Level.strictest(o.level or requirement.level for o in failed).value
    # the headline is a violation at the failed level, a first-hand report before a repeat
    headline = min((o for o in failed if (o.level or requirement.level) == failed_level), key=lambda o: o.repeat)
    reason = headline.message.splitlines()[0] if headline.message else "failed"
    if len(failed) > 1:
        reason += f" (+{len(failed) - 1} more)"
    return RequirementResult(requirement, worst.verdict, reason, failed_level, obs, headline)


class Results:
    """Every observation of the run, and the per-requirement verdicts derived from them."""

    def __init__(self, catalog: dict[str, Requirement]) -> None:
        self.catalog = catalog
        self.observations: list[Observation] = []

    def add(self, obs: Observation) -> None:
        if obs.requirement not in self.catalog:
            raise KeyError(f"unknown requirement {obs.requirement!r}")
        self.observations.append(obs)

    def by_requirement(self) -> dict[str, RequirementResult]:
        grouped: dict[str, list[Observation]] = {rid: [] for rid in self.catalog}
        for obs in self.observations:
            grouped[obs.requirement].append(obs)
        return {rid: aggregate(self.catalog[rid], grouped[rid]) for rid in self.catalog}


def clip(text: str, limit: int) -> str:
    """*text* on one line in at most *limit* characters, cut at a word boundary with an ellipsis, never mid-token
    ("... failed login 10" must not stand for 100)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if text[limit - 1] != " " and " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"


def failed_clause(level: str, failed_level: str | None) -> str | None:
    """A failure below the requirement's own level, in words ("MUST requirement, failed its SHOULD clause"): the
    table shows the requirement's level and the failure card the clause's, and neither alone says which failed."""
    if failed_level and failed_level != level:
        return f"{level} requirement, failed its {failed_level} clause"
    return None

