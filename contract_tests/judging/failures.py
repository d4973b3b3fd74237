"""A failed observation as the reports show it: requirement first, what was sent, expected, came back, reproduction.

Pure construction, recorded nowhere: :mod:`.ledger` decides which test (or which requirement's own item) a failure
is charged to.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from ..contract.catalog import load_catalog
from ..sending.exchange import Exchange, visible
from ..sending.replayable import to_text
from ..sending.reproduction import exports_needed
from .results import Observation, Verdict

# Cross-cutting requirements: judged on every exchange (invariants.py) and by the fuzzing's response checks, and
# reported by their own items (suite/test_invariants.py), never as a failure of a test that does not check them.
CROSS_CUTTING = ("RESP-04", "RESP-05", "RESP-06", "INPUT-06", "SEC-02", "SEC-04", "SEC-08", "HTTP-02", "TOKEN-04")


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
    commands = [ex.curl() for ex in exchanges[:3]]
    for i, command in enumerate(commands):
        tag = "" if len(exchanges) == 1 else f" #{i + 1}"
        lines.append(f"  reproduce{tag}: {command}")
    names = exports_needed(" ".join(commands))
    if names:
        lines.append(f"  (export {' and '.join(names)} first: the command reads {'it' if len(names) == 1 else 'them'})")
    return _shown("\n".join(lines), exchanges)


def _shown(text: str, exchanges: list[Exchange]) -> str:
    """*text* as every output shows it: redacted with the run's redactor, control characters visible."""
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
    """A failed observation of *requirement*, its message complete and redacted; recorded nowhere yet.

    ``expected`` / ``actual`` are kept as fields, redacted as the message is (``actual`` is the whole response when
    the check gave no words of its own), so no reader parses them back out of the message."""
    response = exchanges[-1].describe_response() if exchanges else None
    shown_actual = actual if actual is not None else response
    return Observation(
        requirement=requirement,
        verdict=Verdict.FAILED,
        test=test,
        message=format_failure(requirement, expected, actual, exchanges, level),
        level=level,
        evidence=[ex.evidence() for ex in exchanges[:3]],
        repeat=repeat,
        replay={"requests": [to_text(ex.request, ex.redactor) for ex in exchanges[:3]]},
        expected=_shown(str(expected), exchanges),
        actual=None if shown_actual is None else _shown(str(shown_actual), exchanges),
        check=check,
    )


def check_record(check: Callable[..., Any], args: tuple, kwargs: dict, redactor) -> dict:
    """The check as ``replay`` finds it again: ``module:qualname`` and its arguments, unless they hold a secret."""
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


def specificity(requirement: str, ex: Exchange) -> int:
    """How specifically *requirement* speaks of this exchange: 2 the requirement the request was sent to check, 1 a
    requirement of its own (a test's), 0 a cross-cutting invariant (judged on every exchange)."""
    if requirement == ex.request.requirement:
        return 2
    return 0 if requirement in CROSS_CUTTING else 1


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
