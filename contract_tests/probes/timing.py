"""SEC-07: response time does not reveal which accounts exist (opt-in: --probe=timing)."""

from __future__ import annotations

import random
import secrets

from ..inputs.near_misses import wrong_password_for
from ..judging.verdicts import inconclusive
from ..sending.client import Account, ContractClient
from ..sending.exchange import Exchange, LoginRequest
from .outcome import ProbeOutcome, show
from .stats import TimingComparison, compare_timings


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
            inconclusive(f"the {kind}-account login did not give a credential failure ({show(ex)}), "
                         "so there is nothing to time")
        if record:
            timed[kind].append(ex.elapsed)
            kept.setdefault(kind, ex)

    def relogin() -> None:
        ex = client.send(LoginRequest(purpose="timing probe: successful login (keeps the account from locking)",
                                      expect="success", json=account.body(), requirement=rid))
        if not ex.token:
            inconclusive(f"the interleaved successful login for {account.email} failed ({show(ex)}); "
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
    found: list[tuple[str, str, list[Exchange]]] = []
    if result.verdict == "failed":
        found.append((
            f"wrong-password and unknown-account failures equally fast (a difference below "
            f"{threshold * 1000:g} ms, or none that is significant)",
            message, exchanges,
        ))
    verdict = {"failed": "failed", "passed": "passed", "inconclusive": "inconclusive"}[result.verdict]
    return ProbeOutcome(rid, verdict, message, exchanges, found,
                        {"comparison": result, "wrong": timed["wrong"], "unknown": timed["unknown"]})
