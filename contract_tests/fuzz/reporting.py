"""What a property's run leaves in its test's report: the shrunk failing example's observations, with how to generate
it again (:func:`report_failure`), and a passed observation per requirement its passing examples were judged under
(:func:`record_passes`)."""

from __future__ import annotations

from ..judging.results import Observation, Verdict
from .property_state import Outcome, PropertyState


def report_failure(state: PropertyState, outcome: Outcome, note: str) -> None:
    s = state.session.settings
    text = state.client.redactor(
        f"\n  fuzz:      shrunk example {outcome.description[:300]}"
        f"\n             found with hypothesis seed {s.seed!r}, {s.examples} examples per property "
        f"({state.examples} sent, {state.shrink_steps} while shrinking{note}); the same seed and options "
        "generate it again"
    )
    own = state.ctx.requirements  # the test's own requirements first, then what the invariants saw
    for obs in sorted(outcome.observations, key=lambda o: o.requirement not in own):
        if obs.verdict is Verdict.FAILED:
            obs.message += text
        state.ctx.observations.append(obs)


def record_passes(state: PropertyState) -> None:
    s = state.session.settings
    for requirement, exchanges in state.passes.items():
        if state.ctx.failed(requirement, repeats=True):
            continue
        state.ctx.observations.append(Observation(
            requirement=requirement,
            verdict=Verdict.PASSED,
            test=state.ctx.nodeid,
            message=f"fuzz: {len(exchanges)} generated request(s) of this kind answered as required "
                    f"(hypothesis seed {s.seed!r})",
            evidence=[ex.evidence() for ex in exchanges[:2]],
        ))


__all__ = ["record_passes", "report_failure"]
