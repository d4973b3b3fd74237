"""The call-site API of the contract tests: tag a check with its requirement, record the verdict.

``expect("RESP-01", exchange, checks.status_is, 201)`` runs a tiny check and, when it does not
hold, records a failed observation for RESP-01 and raises :class:`Violation` whose message says
what was sent, what was expected, what came back and how to reproduce it.

A failure is recorded in the ledger of the run that made the exchange (:mod:`.ledger`; the client stamps it on each
exchange); :func:`blocked`, :func:`inconclusive` and :func:`not_applicable` raise exceptions that carry their
verdict (:mod:`.outcomes`).
"""

from __future__ import annotations

from typing import Any, Callable, NoReturn

from ..sending.client import NoAnswer, NotSent
from ..sending.exchange import Exchange, visible
from .checks import Mismatch
from .failures import CROSS_CUTTING, also_affects, check_record, failure_observation, specificity
from .ledger import Ledger, TestContext
from .outcomes import Blocked, Inconclusive, NotApplicable, Undecided
from .results import Observation

__all__ = [
    "CROSS_CUTTING", "Ledger", "TestContext", "Violation", "also_affects", "blocked", "check_record", "expect",
    "fail", "failure_observation", "inconclusive", "ledger_of", "not_applicable", "not_sent", "not_sent_verdict",
    "passed", "record_failure", "specificity", "verify",
]


class Violation(AssertionError):
    """A contract violation; its message is complete and already redacted."""

    def __init__(self, observation: Observation) -> None:
        super().__init__(observation.message)
        self.observation = observation


def ledger_of(exchanges: list[Exchange]) -> Ledger | None:
    """The ledger of the run that made *exchanges* (None: judged outside any run, recorded nowhere)."""
    return next((ex.ledger for ex in exchanges if isinstance(ex.ledger, Ledger)), None)


def _as_list(exchange: Exchange | list[Exchange] | None) -> list[Exchange]:
    return [] if exchange is None else exchange if isinstance(exchange, list) else [exchange]


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
    ledger: Ledger | None = None,
) -> Observation:
    """Record a failed observation without stopping the test (used by invariants).

    A failure of a requirement the running test does not check is held for that requirement's own item (a
    cross-cutting one, or *hold*), so the test that merely sent the request keeps its own verdict.
    *check*: the check that failed (:func:`check_record`), kept with the requests so ``replay`` can judge again.
    *ledger*: where to record it (default: the ledger of the run that made the exchange).

    One cause, one requirement: when the same check fails on the same exchange for two requirements, only the more
    specific one for that exchange (:func:`specificity`) is charged, provided its level is at least as strict;
    the other is named on it as "also affects".
    """
    exchanges = _as_list(exchange)
    ledger = ledger or ledger_of(exchanges)
    if ledger is None:
        return failure_observation(requirement, exchanges, expected, actual, level=level, repeat=repeat, check=check)
    return ledger.record_failure(requirement, exchanges, expected, actual, level=level, repeat=repeat, hold=hold,
                                 check=check)


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


def _note(exchange: Exchange) -> None:
    """Keep exchanges made by shared fixtures as evidence of the test that judges them."""
    ledger = ledger_of([exchange])
    if ledger is not None:
        ledger.note(exchange)


def passed(requirement: str, exchanges: list[Exchange], how: str) -> None:
    """Record that *requirement* held, saying *how* (a pass that needs saying: a refusal seen only as a reset)."""
    ledger = ledger_of(exchanges)
    if ledger is not None:
        ledger.passed(requirement, exchanges, visible(how))


def blocked(reason: str) -> NoReturn:
    """The target kept the suite from observing this (rate limit, captcha, budget)."""
    raise Blocked(reason)


def inconclusive(reason: str) -> NoReturn:
    """Observed, but the observation cannot decide the requirement."""
    raise Inconclusive(reason)


def not_applicable(reason: str) -> NoReturn:
    """The requirement does not apply to this target (e.g. HSTS on plain http)."""
    raise NotApplicable(reason)


def not_sent(exc: NotSent) -> Undecided:
    """What a check the client could not complete is: no answer to a request leaves it undecided (inconclusive); a
    budget, a rate limit, a lockout, a captcha or a stopped run kept the suite from observing (blocked)."""
    return Inconclusive(exc.reason) if isinstance(exc, NoAnswer) else Blocked(exc.reason)


def not_sent_verdict(exc: NotSent) -> str:
    """The skip reason (the verdict's word first, as pytest shows it) for a check the client could not complete."""
    return not_sent(exc).reason_text
