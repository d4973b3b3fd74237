"""The opt-in probes (issue 6): brute-force throttling (ABUSE-01), timing (SEC-07), captcha (CAPTCHA-01).

Each probe is a plain function of a :class:`ContractClient` that returns a :class:`ProbeOutcome` (verdict, message,
the exchanges that show it) instead of raising, so the self-tests can run it directly and repeatedly;
``contract_tests/suite/test_probes.py`` turns an outcome into the suite's verdicts with :func:`conclude`.
Every request still goes through the client (pacing, request cap, redaction, invariants).  See README, section Opt-in probes.
"""

from __future__ import annotations

import random
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from . import checks
from .client import Account, ContractClient
from .context import Violation, current, inconclusive, not_applicable, record_failure
from .exchange import Exchange, LoginRequest
from .probes import wrong_password_for
from .results import Observation, Verdict
from .stats import TimingComparison, compare_timings

NIST_LIMIT = 100  # NIST SP 800-63B §5.2.2: at most 100 consecutive failed attempts on one account
REFERENCE_THROTTLE_AFTER = 10  # the bundled server's throttle when the throttling probe switches it on
# An `error` naming a lock (not a rate limit or captcha demand, which are recognised on their own).
LOCK_ERROR = re.compile(r"lock|suspend|too.?many|throttl|rate.?limit|blocked", re.I)
INVALID_CAPTCHA_TOKEN = "conformance-invalid-captcha-token.0000000000000000"


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
    ctx = current()
    if ctx is not None:  # a passed verdict keeps the probe's numbers (the plugin's own note is only a count)
        evidence = [ex.evidence() for ex in outcome.exchanges[:3]]
        ctx.observations.append(Observation(rid, Verdict.PASSED, ctx.nodeid, outcome.message, None, evidence))
        for ex in outcome.exchanges[:3]:
            if ex not in ctx.exchanges:
                ctx.exchanges.append(ex)


def _outcome(rid: str, failures, unverified: list[str], verified: str, exchanges, **details) -> ProbeOutcome:
    if failures:
        return ProbeOutcome(rid, "failed", failures[0][1], exchanges, failures, details)
    if unverified:
        return ProbeOutcome(rid, "inconclusive", f"{verified}; not verified: {'; '.join(unverified)}", exchanges,
                            details=details)
    return ProbeOutcome(rid, "passed", verified, exchanges, details=details)


def _derived_email(base: str, tag: str) -> str:
    local, _, domain = base.partition("@")
    return f"{local}-{tag}-{secrets.token_hex(3)}@{domain or 'example.com'}"


def _show(ex: Exchange) -> str:
    error = ex.error
    text = f"{ex.status}" + (f" {error!r}" if error is not None else "")
    retry = ex.headers.get("retry-after")
    return text + (f" (Retry-After {retry})" if retry else "")


def _fingerprint_diff(a: Exchange, b: Exchange, a_label: str, b_label: str) -> str | None:
    fa, fb = checks.failure_fingerprint(a), checks.failure_fingerprint(b)
    diff = [f"{k}: {a_label} {fa[k]!r} vs {b_label} {fb[k]!r}" for k in fa if fa[k] != fb[k]]
    return "; ".join(diff) or None


# ---------------------------------------------------------------------------------------------- ABUSE-01
def throttle_signal(ex: Exchange, client: ContractClient) -> str | None:
    """What makes *ex* a throttle signal: 429 / 423, ``RATE_LIMITED``, a captcha demand, a lock error."""
    error = ex.error if isinstance(ex.error, str) else None
    if ex.status == 429:
        return "429" + (f" {error!r}" if error else "")
    if ex.status == 423:
        return "423 Locked" + (f" {error!r}" if error else "")
    if error is None:
        return None
    if error.upper() == "RATE_LIMITED":
        return f"{ex.status} 'RATE_LIMITED'"
    if client.demands_captcha(ex):
        return f"captcha demand ({ex.status} {error!r})"
    if LOCK_ERROR.search(error):
        return f"lock ({ex.status} {error!r})"
    return None


@dataclass
class Hammering:
    label: str
    email: str
    attempts: int = 0
    signal: str | None = None
    signal_at: int | None = None
    throttled: Exchange | None = None
    last: Exchange | None = None
    logged_in: Exchange | None = None
    exchanges: list[Exchange] = field(default_factory=list)


def _hammer(client: ContractClient, email: str, label: str, limit: int) -> Hammering:
    run = Hammering(label, email)
    for i in range(1, limit + 1):
        ex = client.send(LoginRequest(
            purpose=f"throttling probe: failed login {i} for {label}", expect="failure",
            json={"email": email, "password": f"Wrong-Guess-{i:03d}-Throttling-Probe!"},
            raw_rate_limit=True, allow_captcha_error=True, captcha=False, requirement="ABUSE-01",
        ))
        run.attempts, run.last = i, ex
        if i == 1:
            run.exchanges.append(ex)
        if ex.token:
            run.logged_in = ex
            return run
        signal = throttle_signal(ex, client)
        if signal:
            run.signal, run.signal_at, run.throttled = signal, i, ex
            return run
    return run


def switch_on_reference_throttle(service) -> bool:
    """The bundled server keeps its brute-force throttle off so the suite's own runs stay fast; the throttling
    probe switches it on right before it starts, as a production deployment would have it."""
    if getattr(service, "throttle_after", 0) is None:
        service.throttle_after = REFERENCE_THROTTLE_AFTER
        return True
    return False


def throttling_probe(
    client: ContractClient,
    *,
    unknown_email: str,
    throwaway: Account | None = None,
    attempts: int = NIST_LIMIT,
) -> ProbeOutcome:
    """Failed logins for an unknown account (then for the throwaway account) until the first throttle signal."""
    rid = "ABUSE-01"
    failures: list[tuple[str, str, list[Exchange]]] = []
    unverified: list[str] = []  # the core of the requirement could not be decided: inconclusive
    notes: list[str] = []  # extra clauses this configuration cannot check: said in the verdict
    runs = [_hammer(client, _derived_email(unknown_email, "throttle"), "an unknown account", attempts)]
    if throwaway is not None:
        runs.append(_hammer(client, throwaway.email, "the throwaway account", attempts))
    expect_signal = (f"a throttle signal (429, RATE_LIMITED, a lock error or a captcha demand) no later than "
                     f"failed login {NIST_LIMIT}")
    for run in runs:
        if run.logged_in is not None:
            failures.append((f"failed logins for {run.label} with wrong passwords",
                             f"failed login {run.attempts} for {run.label} issued a token", [run.logged_in]))
        elif run.signal is None:
            actual = (f"{run.attempts} failed logins for {run.label}, none throttled; the last was answered "
                      f"{_show(run.last)}")
            if attempts >= NIST_LIMIT:
                failures.append((expect_signal, actual, [run.last]))
            else:
                unverified.append(f"{actual} (--throttle-attempts={attempts} stops before attempt {NIST_LIMIT})")
        elif run.signal_at > NIST_LIMIT:
            failures.append((expect_signal, f"{run.label} was throttled only at failed login {run.signal_at}",
                             [run.throttled]))
    done = [f"throttled at failed login {run.signal_at} for {run.label} ({run.signal})"
            + (" -- already at the first: left over from an earlier run, or throttled per address"
               if run.signal_at == 1 else "")
            for run in runs if run.signal is not None]
    # evidence: the throttled answers (and the right password's) first, then each run's first answer
    exchanges = [run.throttled for run in runs if run.throttled is not None]
    right = None
    if throwaway is None:
        notes.append(
            "not checked without a throwaway account (set LOGIN_THROWAWAY_EMAIL and LOGIN_THROWAWAY_PASSWORD): "
            "that the right password is still refused once throttled, and that an existing account's throttled "
            "response looks the same"
        )
    else:
        unknown, known = runs
        if known.throttled is not None:
            right = client.send(LoginRequest(
                purpose="throttling probe: the right password of the throttled throwaway account", expect="any",
                json=throwaway.body(), raw_rate_limit=True, allow_captcha_error=True, captcha=False,
                requirement="ABUSE-01",
            ))
            exchanges.append(right)
            if right.token:
                failures.append(("the right password refused while the account is throttled",
                                 f"the right password logged in ({_show(right)}) right after {known.signal}: "
                                 "the throttle lets the password through, so guessing goes on",
                                 [known.throttled, right]))
            else:
                diff = _fingerprint_diff(known.throttled, right, "wrong password", "right password")
                if diff:
                    failures.append(("the same throttled response for the right password as for a wrong one",
                                     f"{diff} (the throttle tells a right guess apart)", [known.throttled, right]))
                else:
                    done.append(f"the right password was refused alike ({_show(right)})")
        if unknown.throttled is not None and known.throttled is not None:
            diff = _fingerprint_diff(unknown.throttled, known.throttled, "unknown account", "existing account")
            if diff:
                failures.append(("the same throttled response for an existing and an unknown account",
                                 f"{diff} (throttling reveals which accounts exist)",
                                 [unknown.throttled, known.throttled]))
            else:
                done.append("the throttled responses look the same for the existing and the unknown account")
        elif (unknown.throttled is None) != (known.throttled is None) and attempts >= NIST_LIMIT:
            throttled, other = (unknown, known) if unknown.throttled is not None else (known, unknown)
            failures.append(("throttling for existing and unknown accounts alike",
                             f"{throttled.label} was throttled at failed login {throttled.signal_at} "
                             f"({throttled.signal}), {other.label} not in {other.attempts}: throttling reveals "
                             "which accounts exist", [throttled.throttled, other.last]))
    exchanges += [run.exchanges[0] for run in runs if run.exchanges]
    details = {"runs": {run.label: (run.signal_at, run.signal) for run in runs},
               "right_password": _show(right) if right is not None else None}
    return _outcome(rid, failures, unverified, "; ".join(done + notes) or "no throttle signal", exchanges, **details)


# ---------------------------------------------------------------------------------------------- SEC-07
def timing_probe(
    client: ContractClient,
    *,
    account: Account,
    unknown_email: str,
    samples: int = 30,
    threshold: float = 0.020,
    alpha: float = 0.01,
    rng: random.Random | None = None,
) -> ProbeOutcome:
    """Interleaved wrong-password (existing *account*) and unknown-account logins, timed and compared.

    Pairs go out in random order; a successful login follows every third wrong password and the last one
    (untimed), so the account never locks; the unknown account is a fresh address per request, so no per-account
    throttle kicks in.
    """
    rid = "SEC-07"
    rng = rng or random.Random()
    wrong = wrong_password_for(account.password)
    tag = secrets.token_hex(3)
    local, _, domain = unknown_email.partition("@")
    timed: dict[str, list[float]] = {"wrong": [], "unknown": []}
    kept: dict[str, Exchange] = {}

    def send(kind: str, i: int, record: bool = True) -> None:
        if kind == "wrong":
            body = {"email": account.email, "password": wrong}
            purpose = f"timing probe: wrong password #{i}"
        else:
            body = {"email": f"{local}-timing-{tag}-{i}@{domain}", "password": wrong}
            purpose = f"timing probe: unknown account #{i}"
        ex = client.send(LoginRequest(purpose=purpose, expect="failure", json=body, requirement=rid))
        if ex.token or (ex.status or 0) >= 500:
            inconclusive(f"the {kind}-account login did not give a credential failure ({_show(ex)}), "
                         "so there is nothing to time")
        if record:
            timed[kind].append(ex.elapsed)
            kept.setdefault(kind, ex)

    def relogin() -> None:
        ex = client.send(LoginRequest(purpose="timing probe: successful login (keeps the account from locking)",
                                      expect="success", json=account.body(), requirement=rid))
        if not ex.token:
            inconclusive(f"the interleaved successful login for {account.email} failed ({_show(ex)}); "
                         "stopped before the account locks")

    send("unknown", 0, record=False)  # warm-up: connection set-up and first-request costs
    send("wrong", 0, record=False)
    failures = 1
    for i in range(1, samples + 1):
        for kind in rng.sample(["wrong", "unknown"], 2):
            send(kind, i)
        failures += 1
        if failures == 3 or i == samples:  # at the end too: leave the account with no failures counted
            relogin()
            failures = 0
    result: TimingComparison = compare_timings(timed["wrong"], timed["unknown"], threshold=threshold, alpha=alpha)
    message = result.describe("wrong password", "unknown account")
    exchanges = [kept["wrong"], kept["unknown"]]
    failures = []
    if result.verdict == "failed":
        failures.append((
            f"wrong-password and unknown-account failures equally fast (a difference below "
            f"{threshold * 1000:g} ms, or none that is significant)",
            message, exchanges,
        ))
    verdict = {"failed": "failed", "passed": "passed", "inconclusive": "inconclusive"}[result.verdict]
    return ProbeOutcome(rid, verdict, message, exchanges, failures,
                        {"comparison": result, "wrong": timed["wrong"], "unknown": timed["unknown"]})


# ---------------------------------------------------------------------------------------------- CAPTCHA-01
def captcha_probe(client: ContractClient, *, account: Account | None, unknown_email: str) -> ProbeOutcome:
    """Logins without a captcha token, with an invalid one and with a reused one (LOGIN_CAPTCHA_TOKEN, once it has
    been used), each with the right and a wrong password: every one refused with the captcha error, alike."""
    rid = "CAPTCHA-01"
    header = client.captcha_header
    configured = client.captcha_token
    unknown = {"email": _derived_email(unknown_email, "captcha"), "password": "Captcha-Probe-Passw0rd!"}
    exchanges: list[Exchange] = []
    if configured is not None and client.captcha_token_uses == 0:
        first = client.send(LoginRequest(
            purpose="captcha probe: first use of LOGIN_CAPTCHA_TOKEN (unknown account)", expect="failure",
            json=unknown, allow_captcha_error=True, requirement=rid,
        ))
        exchanges.append(first)
    cases: list[tuple[str, Any]] = [("no token", None), ("an invalid token", INVALID_CAPTCHA_TOKEN)]
    if configured is not None:
        cases.append(("a reused token", configured))
    if account is not None:
        logins = [("right password", account.body(), "any"),
                  ("wrong password", {"email": account.email, "password": wrong_password_for(account.password)},
                   "failure")]
    else:
        logins = [("unknown account", unknown, "failure")]
    answers: dict[tuple[str, str], Exchange] = {}
    for case, token in cases:
        for label, body, expect in logins:
            answers[(case, label)] = client.send(LoginRequest(
                purpose=f"captcha probe: {case}, {label}", expect=expect, json=body,
                headers={header: token} if token is not None else {}, captcha=False, allow_captcha_error=True,
                requirement=rid,
            ))
    exchanges += answers.values()
    demanded = [ex for ex in answers.values() if client.demands_captcha(ex)]
    if not demanded:
        seen = sorted({_show(ex) for ex in answers.values()})
        return ProbeOutcome(rid, "not_applicable",
                            "the target does not enforce a captcha: logins without a captcha token and with an "
                            f"invalid one got no captcha demand (answered {', '.join(seen)})", exchanges)
    failures: list[tuple[str, str, list[Exchange]]] = []
    for case, _ in cases:
        for label, _, _ in logins:
            ex = answers[(case, label)]
            if ex.token:
                failures.append((f"a login with {case} refused with the captcha error",
                                 f"{label} with {case} logged in ({_show(ex)})", [ex]))
            elif not client.demands_captcha(ex):
                failures.append((f"a login with {case} refused with the captcha error",
                                 f"{label} with {case} was answered {_show(ex)}, not with a captcha error", [ex]))
        if account is not None:
            right, wrong = answers[(case, "right password")], answers[(case, "wrong password")]
            diff = _fingerprint_diff(right, wrong, "right password", "wrong password")
            if diff and not right.token:
                failures.append((f"the same answer with {case} whether the password is right or not (the "
                                 "credentials are not checked before the captcha)", diff, [right, wrong]))
    unverified = []
    if configured is None:
        unverified.append("a reused token (set LOGIN_CAPTCHA_TOKEN to a valid token to check that a spent one is "
                          "refused)")
    elif not client.captcha_token_accepted:
        unverified.append("a reused token: LOGIN_CAPTCHA_TOKEN was refused every time it was sent in this run, "
                          "so its refusal says nothing about reuse (give a fresh, valid token)")
    if account is None:
        unverified.append("that the answer does not depend on the password (needs credentials)")
    checked = ", ".join(case for case, _ in cases)
    verified = (f"refused with the captcha error ({', '.join(sorted({_show(ex) for ex in demanded}))}) with "
                f"{checked}" + (", alike for the right and a wrong password" if account is not None else ""))
    return _outcome(rid, failures, unverified, verified, exchanges,
                    answers={f"{c}, {p}": _show(ex) for (c, p), ex in answers.items()})
