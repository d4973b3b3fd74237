"""CAPTCHA-01: the captcha is checked before the credentials (opt-in: --probe=captcha)."""

from __future__ import annotations

from typing import Any

from ..inputs.near_misses import wrong_password_for
from ..sending.client import Account, ContractClient
from ..sending.exchange import Exchange, Expect, LoginRequest
from .outcome import ProbeOutcome, derived_email, fingerprint_diff, outcome_of, show

INVALID_CAPTCHA_TOKEN = "conformance-invalid-captcha-token.0000000000000000"


def captcha_probe(client: ContractClient, *, account: Account | None, unknown_email: str) -> ProbeOutcome:
    """Logins without a captcha token, with an invalid one and with a reused one (LOGIN_CAPTCHA_TOKEN, once it has
    been used), each with the right and a wrong password: every one refused with the captcha error, alike."""
    rid = "CAPTCHA-01"
    header = client.captcha_header
    configured = client.captcha_token
    unknown = {"email": derived_email(unknown_email, "captcha"), "password": "Captcha-Probe-Passw0rd!"}
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
        logins: list[tuple[str, Any, Expect]] = [("right password", account.body(), "any"),
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
        seen = sorted({show(ex) for ex in answers.values()})
        return ProbeOutcome(rid, "not_applicable",
                            "the target does not enforce a captcha: logins without a captcha token and with an "
                            f"invalid one got no captcha demand (answered {', '.join(seen)})", exchanges)
    failures: list[tuple[str, str, list[Exchange]]] = []
    for case, _ in cases:
        for label, _, _ in logins:
            ex = answers[(case, label)]
            if ex.token:
                failures.append((f"a login with {case} refused with the captcha error",
                                 f"{label} with {case} logged in ({show(ex)})", [ex]))
            elif not client.demands_captcha(ex):
                failures.append((f"a login with {case} refused with the captcha error",
                                 f"{label} with {case} was answered {show(ex)}, not with a captcha error", [ex]))
        if account is not None:
            right, wrong = answers[(case, "right password")], answers[(case, "wrong password")]
            diff = fingerprint_diff(right, wrong, "right password", "wrong password")
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
    verified = (f"refused with the captcha error ({', '.join(sorted({show(ex) for ex in demanded}))}) with "
                f"{checked}" + (", alike for the right and a wrong password" if account is not None else ""))
    return outcome_of(rid, failures, unverified, verified, exchanges,
                    answers={f"{c}, {p}": show(ex) for (c, p), ex in answers.items()})
