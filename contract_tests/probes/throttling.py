"""ABUSE-01: repeated failed logins are throttled (opt-in: --probe=throttling).

Failed logins for an unknown account, then for a throwaway account, until the first throttle signal; NIST SP
800-63B §5.2.2 allows at most 100 consecutive failed attempts on one account.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..sending.client import Account, ContractClient
from ..sending.exchange import Exchange, LoginRequest
from .outcome import ProbeOutcome, derived_email, fingerprint_diff, outcome_of, show

NIST_LIMIT = 100  # NIST SP 800-63B §5.2.2: at most 100 consecutive failed attempts on one account
# An `error` naming a lock (not a rate limit or captcha demand, which are recognised on their own).
LOCK_ERROR = re.compile(r"lock|suspend|too.?many|throttl|rate.?limit|blocked", re.I)


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
    runs = [_hammer(client, derived_email(unknown_email, "throttle"), "an unknown account", attempts)]
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
                      f"{show(run.last)}")
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
                                 f"the right password logged in ({show(right)}) right after {known.signal}: "
                                 "the throttle lets the password through, so guessing goes on",
                                 [known.throttled, right]))
            else:
                diff = fingerprint_diff(known.throttled, right, "wrong password", "right password")
                if diff:
                    failures.append(("the same throttled response for the right password as for a wrong one",
                                     f"{diff} (the throttle tells a right guess apart)", [known.throttled, right]))
                else:
                    done.append(f"the right password was refused alike ({show(right)})")
        if unknown.throttled is not None and known.throttled is not None:
            diff = fingerprint_diff(unknown.throttled, known.throttled, "unknown account", "existing account")
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
               "right_password": show(right) if right is not None else None}
    return outcome_of(rid, failures, unverified, "; ".join(done + notes) or "no throttle signal", exchanges, **details)
