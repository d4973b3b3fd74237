"""The call-site API of the contract tests: tag a check with its requirement, record the verdict.

``expect("RESP-01", exchange, checks.status_is, 201)`` runs a tiny check and, when it does not
hold, records a failed observation for RESP-01 and raises :class:`Violation` whose message says
what was sent, what was expected, what came back and how to reproduce it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, NoReturn

import pytest

from ..contract.catalog import load_catalog
from .checks import Mismatch
from ..sending.client import NoAnswer, NotSent
from ..sending.exchange import Exchange, visible
from ..sending.replayable import to_text
from .results import Observation, Verdict


@dataclass
class TestContext:
    """What one contract test declared, sent and observed."""

    nodeid: str
    requirements: tuple[str, ...]
    exchanges: list[Exchange] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    seen: dict[tuple[str, int], Observation] = field(default_factory=dict, repr=False)

    def failed(self, requirement: str | None = None, *, repeats: bool = False) -> list[Observation]:
        """Failures recorded by this test; repeats of an earlier report only when asked."""
        return [
            o
            for o in self.observations
            if o.verdict is Verdict.FAILED
            and (requirement is None or o.requirement == requirement)
            and (repeats or not o.repeat)
        ]


_current: TestContext | None = None

# Cross-cutting requirements: judged on every exchange (invariants.py) and by the fuzzing's response checks, and
# reported by their own items (suite/test_invariants.py), never as a failure of a test that does not check them.
CROSS_CUTTING = ("RESP-04", "RESP-05", "RESP-06", "INPUT-06", "SEC-02", "SEC-04", "SEC-08", "HTTP-02", "TOKEN-04")
_held: dict[tuple[str, int | None], Observation] = {}  # failures held for their requirement's item, by exchange
_taken: set[tuple[str, int | None]] = set()  # held once and already reported: never counted twice
# One cause, one requirement: the failures charged for each (exchange, check that failed), so a general requirement
# that fails on an exchange for the same reason as a more specific one is shown as "also affects" on it instead of
# being charged again (_one_cause). The exchange is kept with them: its id is never reused meanwhile.
_causes: dict[tuple[int, str], tuple[Exchange, list[Observation]]] = {}


def take_held(requirement: str | None = None) -> list[Observation]:
    """The failures held for *requirement* (all when None), removed from the store."""
    keys = [k for k in _held if requirement is None or k[0] == requirement]
    _taken.update(keys)
    return [_held.pop(k) for k in keys]


def reset_held() -> None:
    """A new run: nothing held (pytester runs many sessions in one process)."""
    _held.clear()
    _taken.clear()
    _causes.clear()


def begin(ctx: TestContext | None) -> None:
    global _current
    _current = ctx


def current() -> TestContext | None:
    return _current


class Violation(AssertionError):
    """A contract violation; its message is complete and already redacted."""

    def __init__(self, observation: Observation) -> None:
        super().__init__(observation.message)
        self.observation = observation


def format_failure(
    requirement: str,
    expected: str,
    actual: str | None,
    exchanges: list[Exchange],
    level: str | None = None,
) -> str:
    req = load_catalog()[requirement]
    level = level or req.level
    lines = [f"{req.id} [{level}] {req.statement_at(level)}"]
    if req.source.ref:
        lines.append(f"  source:    {req.source.kind} {req.source.ref}")
    for i, ex in enumerate(exchanges[:3]):
        tag = "" if len(exchanges) == 1 else f" #{i + 1}"
        lines.append(f"  sent{tag}:{' ' * (6 - len(tag))}{ex.describe_request()}")
    lines.append(f"  expected:  {expected}")
    response = exchanges[-1].describe_response() if exchanges else None
    if actual is None:
        lines.append(f"  actual:    {response}")
    else:  # the check's own words first, then the whole response as evidence
        lines.append(f"  actual:    {actual}")
        if response is not None:
            lines.append(f"  response:  {response}")
    for i, ex in enumerate(exchanges[:3]):
        tag = "" if len(exchanges) == 1 else f" #{i + 1}"
        lines.append(f"  reproduce{tag}: {ex.curl()}")
    text = "\n".join(lines)
    if exchanges:
        text = exchanges[0].redactor(text)
    return visible(text)


def failure_observation(
    requirement: str,
    exchanges: list[Exchange],
    expected: str,
    actual: str | None = None,
    *,
    level: str | None = None,
    repeat: bool = False,
    test: str = "<session>",
    check: dict | None = None,
) -> Observation:
    """A failed observation of *requirement*, its message complete and redacted; recorded nowhere yet."""
    return Observation(
        requirement=requirement,
        verdict=Verdict.FAILED,
        test=test,
        message=format_failure(requirement, expected, actual, exchanges, level),
        level=level,
        evidence=[ex.evidence() for ex in exchanges[:3]],
        repeat=repeat,
        replay={"check": check, "requests": [to_text(ex.request, ex.redactor) for ex in exchanges[:3]]},
    )


def record_failure(
    requirement: str,
    exchange: Exchange | list[Exchange] | None,
    expected: str,
    actual: str | None = None,
    *,
    level: str | None = None,
    repeat: bool = False,
    hold: bool | None = None,
    check: dict | None = None,
) -> Observation:
    """Record a failed observation without stopping the test (used by invariants).

    A failure of a requirement the running test does not check is held for that requirement's own item (a
    cross-cutting one, or *hold*), so the test that merely sent the request keeps its own verdict.
    *check*: the check that failed (:func:`check_record`), kept with the requests so ``replay`` can judge again.

    One cause, one requirement: when the same check fails on the same exchange for two requirements, only the more
    specific one for that exchange (:func:`specificity`) is charged, provided its level is at least as strict;
    the other is named on it as "also affects".
    """
    exchanges = [] if exchange is None else exchange if isinstance(exchange, list) else [exchange]
    cause = (check or {}).get("name")
    if not exchanges or not cause:
        return _record(requirement, exchanges, expected, actual, level, repeat, hold, check)
    ex = exchanges[0]
    key = (id(ex), cause)
    entry = _causes.get(key)
    charged = [o for o in entry[1] if _still_recorded(o)] if entry is not None and entry[0] is ex else []
    mine = _level(requirement, level)
    for other in charged:
        if other.requirement == requirement:
            continue
        if specificity(other.requirement, ex) > specificity(requirement, ex) and \
                _at_least(_level(other.requirement, other.level), mine):
            also_affects(other, requirement)  # the more specific requirement already carries this cause
            return other
    obs = _record(requirement, exchanges, expected, actual, level, repeat, hold, check)
    for other in charged:
        if other is obs or other.requirement == requirement:
            continue
        if specificity(requirement, ex) > specificity(other.requirement, ex) and \
                _at_least(mine, _level(other.requirement, other.level)) and _withdraw(other):
            for rid in (other.requirement, *other.also_affects):
                also_affects(obs, rid)
    kept = [o for o in charged if _still_recorded(o)]
    _causes[key] = (ex, kept + ([obs] if obs not in kept else []))
    return obs


def specificity(requirement: str, ex: Exchange) -> int:
    """How specifically *requirement* speaks of this exchange: 2 the requirement the request was sent to check, 1 a
    requirement of its own (a test's), 0 a cross-cutting invariant (judged on every exchange)."""
    if requirement == ex.request.requirement:
        return 2
    return 0 if requirement in CROSS_CUTTING else 1


_LEVELS = ("MUST", "SHOULD", "MAY")


def _level(requirement: str, level: str | None) -> str:
    return level or load_catalog()[requirement].level


def _at_least(level: str, other: str) -> bool:
    """*level* is as strict as *other* or stricter (charging only the first never lowers the gate)."""
    return _LEVELS.index(level) <= _LEVELS.index(other)


def also_affects(obs: Observation, requirement: str) -> None:
    """Name *requirement* on *obs*: the same answer breaks its statement too, charged once, on *obs*."""
    if requirement == obs.requirement or requirement in obs.also_affects:
        return
    obs.also_affects.append(requirement)
    catalog = load_catalog()
    line = ("  also affects: " + ", ".join(f"{rid} ({catalog[rid].title})" for rid in obs.also_affects)
            + f" -- the same answer, charged once to {obs.requirement}, its most specific requirement")
    lines = [ln for ln in obs.message.split("\n") if not ln.startswith("  also affects: ")]
    at = next((i for i, ln in enumerate(lines) if ln.startswith("  reproduce")), len(lines))
    obs.message = "\n".join([*lines[:at], line, *lines[at:]])


def _still_recorded(obs: Observation) -> bool:
    """The observation is still held, or still among the running test's (a fuzzing example rolled back is not)."""
    if any(held is obs for held in _held.values()):
        return True
    return _current is not None and any(o is obs for o in _current.observations)


def _withdraw(obs: Observation) -> bool:
    """Take back a failure charged to a less specific requirement (held, or the running test's own); False when it
    is no longer ours to take back (reported by a finished test)."""
    for key, held in list(_held.items()):
        if held is obs:
            del _held[key]
            return True
    if _current is not None and any(o is obs for o in _current.observations):
        _current.observations[:] = [o for o in _current.observations if o is not obs]
        for key, seen in list(_current.seen.items()):
            if seen is obs:
                del _current.seen[key]
        return True
    return False


def _record(requirement: str, exchanges: list[Exchange], expected: str, actual: str | None, level: str | None,
            repeat: bool, hold: bool | None, check: dict | None) -> Observation:
    if hold is None:
        hold = requirement in CROSS_CUTTING
    if _current is None or (hold and requirement not in _current.requirements):
        key = (requirement, id(exchanges[0]) if exchanges else None)
        if key in _held:  # another check of the same requirement on the same exchange: one failure
            _held[key].repeat = _held[key].repeat and repeat
            return _held[key]
        if key[1] is not None and key in _taken:  # already reported by the requirement's item
            return failure_observation(requirement, exchanges, expected, actual, level=level, check=check)
        obs = failure_observation(requirement, exchanges, expected, actual, level=level, repeat=repeat,
                                  test=_current.nodeid if _current else "<session>", check=check)
        _held[key if key[1] is not None else (requirement, id(obs))] = obs
        return obs
    if _current is not None:
        for ex in exchanges:
            if ex not in _current.exchanges:
                _current.exchanges.append(ex)
        key = (requirement, id(exchanges[0]) if exchanges else None)
        if key[1] is not None and key in _current.seen:
            seen = _current.seen[key]  # an invariant already failed this exchange on this requirement
            seen.repeat = seen.repeat and repeat
            return seen
        if key[1] is not None and key in _held:  # held by an earlier test; this one checks it: it is its own now
            repeat = _held.pop(key).repeat and repeat
    obs = failure_observation(requirement, exchanges, expected, actual, level=level, repeat=repeat,
                              test=_current.nodeid if _current else "<session>", check=check)
    if _current is not None:
        _current.observations.append(obs)
        if exchanges:
            _current.seen[(requirement, id(exchanges[0]))] = obs
    return obs


def fail(
    requirement: str,
    exchange: Exchange | list[Exchange] | None,
    expected: str,
    actual: str | None = None,
    *,
    level: str | None = None,
) -> NoReturn:
    raise Violation(record_failure(requirement, exchange, expected, actual, level=level, hold=False))


def expect(
    requirement: str,
    exchange: Exchange,
    check: Callable[..., Any],
    *args: Any,
    level: str | None = None,
    **kwargs: Any,
) -> None:
    """Run ``check(exchange, *args)``; a :class:`Mismatch` becomes a violation of *requirement*."""
    _note(exchange)
    try:
        check(exchange, *args, **kwargs)
    except Mismatch as m:
        raise Violation(record_failure(requirement, exchange, m.expected, m.actual, level=level, hold=False,
                                       check=check_record(check, args, kwargs, exchange.redactor))) from None


def verify(
    requirement: str,
    exchange: Exchange,
    check: Callable[..., Any],
    *args: Any,
    level: str | None = None,
    **kwargs: Any,
) -> bool:
    """Like :func:`expect`, but records the violation and lets the test go on (the test still fails)."""
    _note(exchange)
    try:
        check(exchange, *args, **kwargs)
    except Mismatch as m:
        record_failure(requirement, exchange, m.expected, m.actual, level=level,
                       check=check_record(check, args, kwargs, exchange.redactor))
        return False
    return True


def check_record(check: Callable[..., Any], args: tuple, kwargs: dict, redactor) -> dict:
    """The check as ``replay`` finds it again: ``module:qualname`` and its arguments, unless they hold a secret."""
    import json

    record: dict[str, Any] = {"name": f"{check.__module__}:{check.__qualname__}", "args": None, "kwargs": None}
    try:
        text = json.dumps([list(args), kwargs], ensure_ascii=True, allow_nan=False)
    except (TypeError, ValueError):
        record["withheld"] = "arguments that are not JSON"
        return record
    if redactor(text) != text:
        record["withheld"] = "arguments derived from a secret (the report never keeps them)"
        return record
    record["args"], record["kwargs"] = json.loads(text)
    return record


def _note(exchange: Exchange) -> None:
    """Keep exchanges made by shared fixtures as evidence of the test that judges them."""
    if _current is not None and exchange not in _current.exchanges:
        _current.exchanges.append(exchange)


def passed(requirement: str, exchanges: list[Exchange], how: str) -> None:
    """Record that *requirement* held, saying *how* (a pass that needs saying: a refusal seen only as a reset)."""
    if _current is None:
        return
    for ex in exchanges:
        _note(ex)
    _current.observations.append(Observation(requirement, Verdict.PASSED, _current.nodeid, visible(how), None,
                                             [ex.evidence() for ex in exchanges[:2]]))


def blocked(reason: str) -> NoReturn:
    """The target kept the suite from observing this (rate limit, captcha, budget)."""
    pytest.skip(f"blocked: {reason}")


def inconclusive(reason: str) -> NoReturn:
    """Observed, but the observation cannot decide the requirement."""
    pytest.skip(f"inconclusive: {reason}")


def not_applicable(reason: str) -> NoReturn:
    """The requirement does not apply to this target (e.g. HSTS on plain http)."""
    pytest.skip(f"n/a: {reason}")


def not_sent_verdict(exc: NotSent) -> str:
    """The skip reason (with its verdict prefix) for a check the client could not complete.

    No answer to a request leaves the check undecided (inconclusive); a budget, a rate limit, a lockout, a captcha
    or a stopped run kept the suite from observing (blocked).
    """
    return f"{'inconclusive' if isinstance(exc, NoAnswer) else 'blocked'}: {exc.reason}"
