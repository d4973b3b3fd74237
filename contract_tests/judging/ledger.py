"""The run's judging ledger: which test is running, what it observed, and the failures held for another item.

One :class:`Ledger` per run, kept in the pytest config's stash by the plugin (as pytest-html and schemathesis keep
their state) and handed to the client, which stamps it on every exchange it makes: the call-site API
(:mod:`.verdicts`) records into the ledger of the exchange it judges. Nothing here is process-wide, so a pytester
session inside a session, or a self-test, has a ledger of its own.

One cause, one requirement: a violation of a requirement the running test does not check is held for that
requirement's own item (suite/test_invariants.py), keyed by the exchange's sequence number; the same check failing
on the same exchange for several requirements is charged to the most specific one (:func:`.failures.specificity`),
the others named on it as "also affects".
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Iterator

from ..contract.catalog import load_catalog
from ..contract.levels import Level
from ..sending.exchange import Exchange
from .failures import CROSS_CUTTING, also_affects, failure_observation, specificity
from .results import Observation, Verdict


@dataclass
class TestContext:
    """What one contract test declared, sent and observed."""

    nodeid: str
    requirements: tuple[str, ...]
    exchanges: list[Exchange] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    seen: dict[tuple[str, int], Observation] = field(default_factory=dict, repr=False)  # (requirement, exchange seq)

    def failed(self, requirement: str | None = None, *, repeats: bool = False) -> list[Observation]:
        """Failures recorded by this test; repeats of an earlier report only when asked."""
        return [
            o
            for o in self.observations
            if o.verdict is Verdict.FAILED
            and (requirement is None or o.requirement == requirement)
            and (repeats or not o.repeat)
        ]

    def note(self, exchange: Exchange) -> None:
        """Keep *exchange* (made by a shared fixture, say) as evidence of this test."""
        if exchange not in self.exchanges:
            self.exchanges.append(exchange)


class Ledger:
    """The judging state of one run: the running test, the failures held for their requirement's item, the causes
    already charged."""

    def __init__(self) -> None:
        self.current: TestContext | None = None
        # failures held for their requirement's item, by (requirement, exchange sequence number)
        self._held: dict[tuple[str, int], Observation] = {}
        self._taken: set[tuple[str, int]] = set()  # held once and already reported: never counted twice
        # the failures charged for each (exchange sequence number, name of the check that failed)
        self._causes: dict[tuple[int, str], list[Observation]] = {}
        self._unkeyed = 0  # held failures with no exchange get keys of their own (negative: no exchange has one)

    # -- the running test ---------------------------------------------------------------------------------------------
    def begin(self, ctx: TestContext | None) -> None:
        self.current = ctx

    @contextlib.contextmanager
    def running(self, ctx: TestContext | None) -> Iterator[TestContext | None]:
        """*ctx* is the running test inside the block; the one before it again afterwards."""
        before, self.current = self.current, ctx
        try:
            yield ctx
        finally:
            self.current = before

    def note(self, exchange: Exchange) -> None:
        if self.current is not None:
            self.current.note(exchange)

    # -- held failures ------------------------------------------------------------------------------------------------
    def take_held(self, requirement: str | None = None) -> list[Observation]:
        """The failures held for *requirement* (all when None), removed from the ledger: a requirement's item takes
        its own; what none took is drained once, at the end of the run (or of an xdist worker)."""
        keys = [k for k in self._held if requirement is None or k[0] == requirement]
        self._taken.update(keys)
        return [self._held.pop(k) for k in keys]

    # -- recording ----------------------------------------------------------------------------------------------------
    def record_failure(self, requirement: str, exchanges: list[Exchange], expected: str, actual: str | None = None,
                       *, level: str | None = None, repeat: bool = False, hold: bool | None = None,
                       check: dict | None = None) -> Observation:
        """Record a failed observation (see :func:`.verdicts.record_failure`)."""
        cause = (check or {}).get("name")
        if not exchanges or not cause:
            return self._record(requirement, exchanges, expected, actual, level, repeat, hold, check)
        ex = exchanges[0]
        key = (ex.seq, cause)
        charged = [o for o in self._causes.get(key, ()) if self._still_recorded(o)]
        mine = _level(requirement, level)
        for other in charged:
            if other.requirement == requirement:
                continue
            if specificity(other.requirement, ex) > specificity(requirement, ex) and \
                    _level(other.requirement, other.level).at_least(mine):
                also_affects(other, requirement)  # the more specific requirement already carries this cause
                return other
        obs = self._record(requirement, exchanges, expected, actual, level, repeat, hold, check)
        for other in charged:
            if other is obs or other.requirement == requirement:
                continue
            if specificity(requirement, ex) > specificity(other.requirement, ex) and \
                    mine.at_least(_level(other.requirement, other.level)) and self._withdraw(other):
                for rid in (other.requirement, *other.also_affects):
                    also_affects(obs, rid)
        kept = [o for o in charged if self._still_recorded(o)]
        self._causes[key] = kept + ([obs] if obs not in kept else [])
        return obs

    def passed(self, requirement: str, exchanges: list[Exchange], how: str) -> None:
        """Record that *requirement* held on *exchanges*, saying *how*, for the running test."""
        ctx = self.current
        if ctx is None:
            return
        for ex in exchanges:
            ctx.note(ex)
        ctx.observations.append(Observation(requirement, Verdict.PASSED, ctx.nodeid, how, None,
                                            [ex.evidence() for ex in exchanges[:2]]))

    def _still_recorded(self, obs: Observation) -> bool:
        """The observation is still held, or still among the running test's (a fuzzing example rolled back is not)."""
        if any(held is obs for held in self._held.values()):
            return True
        return self.current is not None and any(o is obs for o in self.current.observations)

    def _withdraw(self, obs: Observation) -> bool:
        """Take back a failure charged to a less specific requirement (held, or the running test's own); False when
        it is no longer ours to take back (reported by a finished test)."""
        for key, held in list(self._held.items()):
            if held is obs:
                del self._held[key]
                return True
        ctx = self.current
        if ctx is not None and any(o is obs for o in ctx.observations):
            ctx.observations[:] = [o for o in ctx.observations if o is not obs]
            for key, seen in list(ctx.seen.items()):
                if seen is obs:
                    del ctx.seen[key]
            return True
        return False

    def _record(self, requirement: str, exchanges: list[Exchange], expected: str, actual: str | None,
                level: str | None, repeat: bool, hold: bool | None, check: dict | None) -> Observation:
        if hold is None:
            hold = requirement in CROSS_CUTTING
        ctx = self.current
        test = ctx.nodeid if ctx is not None else "<session>"
        key = (requirement, exchanges[0].seq) if exchanges else None
        if ctx is None or (hold and requirement not in ctx.requirements):
            if key is not None and key in self._held:  # another check of the same requirement on the same exchange
                self._held[key].repeat = self._held[key].repeat and repeat
                return self._held[key]
            if key is not None and key in self._taken:  # already reported by the requirement's item
                return failure_observation(requirement, exchanges, expected, actual, level=level, check=check)
            obs = failure_observation(requirement, exchanges, expected, actual, level=level, repeat=repeat,
                                      test=test, check=check)
            if key is None:
                self._unkeyed -= 1
                key = (requirement, self._unkeyed)
            self._held[key] = obs
            return obs
        for ex in exchanges:
            ctx.note(ex)
        if key is not None and key in ctx.seen:
            seen = ctx.seen[key]  # an invariant already failed this exchange on this requirement
            seen.repeat = seen.repeat and repeat
            return seen
        if key is not None and key in self._held:  # held by an earlier test; this one checks it: it is its own now
            repeat = self._held.pop(key).repeat and repeat
        obs = failure_observation(requirement, exchanges, expected, actual, level=level, repeat=repeat,
                                  test=test, check=check)
        ctx.observations.append(obs)
        if key is not None:
            ctx.seen[key] = obs
        return obs


def _level(requirement: str, level: str | None) -> Level:
    return Level(level or load_catalog()[requirement].level)
