"""The gate rule, written once: does a failure at this level make the run (or the test) fail at ``--fail-on``?

Used by the per-test verdict (the plugin's reporting), the run's outcome (:mod:`.outcome`), ``replay`` and the
baseline comparison; the order of the levels is :class:`contract_tests.contract.levels.Level`'s.
"""

from __future__ import annotations

from ..contract.catalog import load_catalog
from ..contract.levels import Level
from .results import Observation, RequirementResult, Verdict

# --fail-on: the laxest level that still gates
GATE_LEVELS = {"must": Level.MUST, "should": Level.SHOULD}


def failed_level(observation: Observation) -> Level:
    """The level *observation* failed at: its clause's, else its requirement's."""
    return Level(observation.level or load_catalog()[observation.requirement].level)


def gates(observation_or_level: Observation | Level | str | None, gate: str) -> bool:
    """Whether a failure (an observation, or the level it failed at) gates at ``--fail-on=gate``: ``must`` gates
    MUST failures, ``should`` MUST and SHOULD ones. No level (nothing failed) never gates."""
    if isinstance(observation_or_level, Observation):
        level = failed_level(observation_or_level)
    elif not observation_or_level:
        return False
    else:
        try:
            level = Level(observation_or_level)
        except ValueError:  # a level no catalog has (a report edited by hand): nothing this gate knows
            return False
    return level.at_least(GATE_LEVELS[gate])


def gating(result: RequirementResult, fail_on: str) -> bool:
    """Whether a failed requirement makes the run fail at the chosen gate."""
    return result.verdict is Verdict.FAILED and gates(result.failed_level, fail_on)
