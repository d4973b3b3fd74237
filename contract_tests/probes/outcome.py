"""What an opt-in probe found, and how it becomes the running test's verdict.

Each probe is a plain function of a :class:`ContractClient` that returns a :class:`ProbeOutcome` (verdict, message,
the exchanges that show it) instead of raising, so the self-tests can run it directly and repeatedly;
``contract_tests/suite/test_probes.py`` turns an outcome into the suite's verdicts with :func:`conclude`.
Every request still goes through the client (pacing, request cap, redaction, invariants).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from ..judging import checks
from ..judging.results import Observation, Verdict
from ..judging.verdicts import Violation, inconclusive, ledger_of, not_applicable, record_failure
from ..sending.exchange import Exchange


@dataclass
class ProbeOutcome:
    requirement: str
    verdict: str  # passed | failed | inconclusive | not_applicable
    message: str
    exchanges: list[Exchange] = field(default_factory=list)
    failures: list[tuple[str, str, list[Exchange]]] = field(default_factory=list)  # (expected, actual, exchanges)
    details: dict[str, Any] = field(default_factory=dict)


def conclude(outcome: ProbeOutcome) -> None:
    """Turn an outcome into the running test's verdict (failures carry expected / actual / reproduction)."""
    rid = outcome.requirement
    if outcome.failures:
        observations = [record_failure(rid, exchanges, expected, actual)
                        for expected, actual, exchanges in outcome.failures]
        raise Violation(observations[0])
    if outcome.verdict == "not_applicable":
        not_applicable(outcome.message)
    if outcome.verdict == "inconclusive":
        inconclusive(outcome.message)
    ledger = ledger_of(outcome.exchanges)
    ctx = ledger.current if ledger is not None else None
    if ctx is not None:  # a passed verdict keeps the probe's numbers (the plugin's own note is only a count)
        evidence = [ex.evidence() for ex in outcome.exchanges[:3]]
        ctx.observations.append(Observation(rid, Verdict.PASSED, ctx.nodeid, outcome.message, None, evidence))
        for ex in outcome.exchanges[:3]:
            if ex not in ctx.exchanges:
                ctx.exchanges.append(ex)


def outcome_of(rid: str, failures, unverified: list[str], verified: str, exchanges, **details) -> ProbeOutcome:
    if failures:
        return ProbeOutcome(rid, "failed", failures[0][1], exchanges, failures, details)
    if unverified:
        return ProbeOutcome(rid, "inconclusive", f"{verified}; not verified: {'; '.join(unverified)}", exchanges,
                            details=details)
    return ProbeOutcome(rid, "passed", verified, exchanges, details=details)


def derived_email(base: str, tag: str) -> str:
    local, _, domain = base.partition("@")
    return f"{local}-{tag}-{secrets.token_hex(3)}@{domain or 'example.com'}"


def show(ex: Exchange) -> str:
    error = ex.error
    text = f"{ex.status}" + (f" {error!r}" if error is not None else "")
    retry = ex.headers.get("retry-after")
    return text + (f" (Retry-After {retry})" if retry else "")


def fingerprint_diff(a: Exchange, b: Exchange, a_label: str, b_label: str) -> str | None:
    fa, fb = checks.failure_fingerprint(a), checks.failure_fingerprint(b)
    diff = [f"{k}: {a_label} {fa[k]!r} vs {b_label} {fb[k]!r}" for k in fa if fa[k] != fb[k]]
    return "; ".join(diff) or None
