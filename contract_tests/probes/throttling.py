"""ABUSE-01: repeated failed logins are throttled (opt-in: --probe=throttling).

Failed logins for an unknown account, then for a throwaway account, until the first throttle signal; NIST SP
800-63B §5.2.2 allows at most 100 consecutive failed attempts on one account.

A throttle signal is followed at once by a failed login for a fresh identifier (the control). Throttled alike, the
signal came from a limit on the whole address (a request-rate limiter, often drained by the checks before): the
probe pauses as told (Retry-After, else 1, 2, 4 ... s, within --max-retry-wait) and goes on with the same account.
A request-rate limit that keeps lifting lets guessing go on at its rate, so it does not count as throttling the
account: failed, when the account's failed logins reach attempt 100, or the rate it lets through would within an
hour. Only the control getting through while the account is throttled shows a per-account throttle.
"""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass, field

from ..sending.client import Account, ContractClient
from ..sending.exchange import Exchange, LoginRequest
from .settings import THROTTLE_MAX_PAUSES as MAX_PAUSES
from .outcome import ProbeOutcome, derived_email, fingerprint_diff, outcome_of, show

NIST_LIMIT = 100  # NIST SP 800-63B §5.2.2: at most 100 consecutive failed attempts on one account
GUESSING_WINDOW = 3600.0  # seconds: an address-wide rate that lets 100 failures through within it does not protect
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


def _present(*exchanges: Exchange | None) -> list[Exchange]:
    return [e for e in exchanges if e is not None]


@dataclass
class Hammering:
    label: str
    email: str
    attempts: int = 0  # failed logins the target evaluated (throttled answers not counted)
    signal: str | None = None
    signal_at: int | None = None
    throttled: Exchange | None = None
    scope: str | None = None  # PER_ACCOUNT, ADDRESS_HELD or ADDRESS_RATE once a throttle signal was seen
    last: Exchange | None = None
    logged_in: Exchange | None = None
    exchanges: list[Exchange] = field(default_factory=list)
    address_wide: list[tuple[int, str, float]] = field(default_factory=list)  # (at attempt, signal, paused s)
    control: Exchange | None = None  # the last control answer
    seconds: float = 0.0  # from the first failed login to the last

    @property
    def rate(self) -> float:
        """Failed logins evaluated per second, pauses included."""
        return self.attempts / self.seconds if self.seconds > 0 else float("inf")


PER_ACCOUNT = "per account"  # the control got through while the account was throttled
ADDRESS_HELD = "address-wide, held"  # every identifier throttled alike, past every pause --max-retry-wait allows
ADDRESS_RATE = "address-wide, lifting"  # every identifier throttled alike, lifted after each pause


def _failed_login(client: ContractClient, email: str, purpose: str, password: str) -> Exchange:
    return client.send(LoginRequest(
        purpose=purpose, expect="failure", json={"email": email, "password": password},
        raw_rate_limit=True, allow_captcha_error=True, captcha=False, requirement="ABUSE-01",
    ))


def _hammer(client: ContractClient, email: str, label: str, limit: int, control_email: str) -> Hammering:
    run = Hammering(label, email)
    started = time.monotonic()
    sent, waited = 0, 0.0
    while run.attempts < limit:
        sent += 1
        ex = _failed_login(client, email, f"throttling probe: failed login {run.attempts + 1} for {label}",
                           f"Wrong-Guess-{sent:03d}-Throttling-Probe!")
        run.last, run.seconds = ex, time.monotonic() - started
        if sent == 1:
            run.exchanges.append(ex)
        if ex.token:
            run.logged_in = ex
            return run
        signal = throttle_signal(ex, client)
        if not signal:
            run.attempts += 1
            waited = 0.0  # the throttle lifted: a new episode may start
            continue
        run.signal, run.signal_at, run.throttled = signal, run.attempts + 1, ex
        run.control = _failed_login(client, control_email, f"throttling probe: control, a failed login for another "
                                    f"identifier right after {label} was throttled", "Wrong-Guess-Control-Probe!")
        if throttle_signal(run.control, client) is None:
            run.scope = PER_ACCOUNT
            return run
        if len(run.address_wide) == MAX_PAUSES:
            run.scope = ADDRESS_RATE
            return run
        pause = client.back_off(ex, len(run.address_wide), waited)  # the whole address is throttled: wait, go on
        if pause is None:
            run.scope = ADDRESS_HELD
            return run
        waited += pause
        run.address_wide.append((run.attempts + 1, signal, pause))
    if run.address_wide:
        run.scope = ADDRESS_RATE
    return run


def request_rate_only(run: Hammering) -> str | None:
    """The only throttle seen limits the request rate of the whole address and keeps lifting, at a rate that lets
    more than 100 failed logins for one account through within an hour: what is wrong with it (else None)."""
    if run.scope != ADDRESS_RATE or (run.attempts < NIST_LIMIT and run.rate * GUESSING_WINDOW <= NIST_LIMIT):
        return None
    at = pauses_said_once(run.address_wide)
    return (f"only a request-rate limit: every identifier was throttled alike {at}, and after each pause the failed "
            f"logins for {run.label} went on: {run.attempts} evaluated in {run.seconds:.1f} s, about "
            f"{run.rate * 86400:,.0f} a day; nothing limits the failed logins per account")


def pauses_said_once(address_wide: list[tuple[int, str, float]]) -> str:
    """The address-wide throttles waited out, each failed login and signal said once: the probe pauses at the same
    failed login until the throttle lifts, so a repeat is a count, not another clause."""
    said = []
    for (at, signal), group in itertools.groupby(address_wide, key=lambda entry: entry[:2]):
        pauses = [pause for _, _, pause in group]
        if len(pauses) == 1:
            said.append(f"at failed login {at} ({signal}, paused {pauses[0]:g} s)")
        elif len(set(pauses)) == 1:
            said.append(f"at failed login {at} ({signal}, {len(pauses)} times, paused {pauses[0]:g} s each)")
        else:
            said.append(f"at failed login {at} ({signal}, {len(pauses)} times, paused "
                        f"{' + '.join(f'{pause:g}' for pause in pauses)} s)")
    return "; ".join(said)


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
    runs = [_hammer(client, derived_email(unknown_email, "throttle"), "an unknown account", attempts,
                    derived_email(unknown_email, "control"))]
    if throwaway is not None:
        runs.append(_hammer(client, throwaway.email, "the throwaway account", attempts,
                            derived_email(unknown_email, "control")))
    expect_signal = (f"a throttle signal (429, RATE_LIMITED, a lock error or a captcha demand) no later than "
                     f"failed login {NIST_LIMIT}")
    for run in runs:
        rate_only = request_rate_only(run)
        if run.logged_in is not None:
            failures.append((f"failed logins for {run.label} with wrong passwords",
                             f"failed login {run.attempts} for {run.label} issued a token", [run.logged_in]))
        elif rate_only:
            failures.append((f"failed logins for one account throttled no later than failed login {NIST_LIMIT}, "
                             "not only the request rate of the whole address", rate_only,
                             _present(run.throttled, run.control, run.last)))
        elif run.signal is None:
            last = show(run.last) if run.last is not None else "nothing (not sent)"
            actual = f"{run.attempts} failed logins for {run.label}, none throttled; the last was answered {last}"
            if attempts >= NIST_LIMIT:
                failures.append((expect_signal, actual, _present(run.last)))
            else:
                unverified.append(f"{actual} (--throttle-attempts={attempts} stops before attempt {NIST_LIMIT})")
        elif (run.signal_at or 0) > NIST_LIMIT:
            failures.append((expect_signal, f"{run.label} was throttled only at failed login {run.signal_at}",
                             _present(run.throttled)))
    done = [describe(run) for run in runs if run.signal is not None and not request_rate_only(run)]
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
                             "which accounts exist", _present(throttled.throttled, other.last)))
    exchanges += [run.exchanges[0] for run in runs if run.exchanges]
    details = {"runs": {run.label: (run.signal_at, run.signal) for run in runs},
               "right_password": show(right) if right is not None else None}
    return outcome_of(rid, failures, unverified, "; ".join(done + notes) or "no throttle signal", exchanges, **details)


def describe(run: Hammering) -> str:
    """What throttled the failed logins of *run*, and whether it was shown to be per account."""
    before = (f" (after {len(run.address_wide)} address-wide rate limit(s) waited out)" if run.address_wide
              and run.scope != ADDRESS_RATE else "")
    if run.scope == PER_ACCOUNT:
        return (f"throttled at failed login {run.signal_at} for {run.label} ({run.signal}), per account: another "
                f"identifier got through right after{before}")
    if run.scope == ADDRESS_HELD:
        return (f"throttled at failed login {run.signal_at} for {run.label} ({run.signal}) for every identifier from "
                f"this address, still after the pauses --max-retry-wait allows{before}: an address-wide lock, not "
                "shown to be per account")
    return (f"only an address-wide rate limit ({run.signal}), slow enough: {run.attempts} failed logins for "
            f"{run.label} in {run.seconds:.0f} s, about {run.rate * GUESSING_WINDOW:.0f} an hour")

