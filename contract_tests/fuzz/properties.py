"""The fuzzing properties: what one generated example sends and how its answer is judged, as data.

Each ``*_example`` function takes the generated value and a :class:`~contract_tests.fuzz.trial.Trial` and returns
its :class:`Plan` -- the one request the value stands for and the judge of its answer -- or None when the value is
not an example of the property. It sends nothing: the runner sends the request (or takes the answer sent ahead for
it: the requests of a property are known from its values alone, fuzz/planned.py) and calls the judge, which records
violations with :func:`contract_tests.judging.verdicts.verify` / :func:`~contract_tests.judging.verdicts.record_failure`,
so a fuzzing failure reads like any other failure of the suite (requirement, sent, expected, actual, reproduce).

On top of the checks below, the client's invariants judge every exchange (RESP-04, RESP-05, RESP-06 for
failures and invalid requests, INPUT-06 for invalid requests, SEC-02, SEC-04, HTTP-02, and a 5xx against
the requirement of the request's kind).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..judging import checks
from ..judging.checks import Mismatch
from ..sending.client import Account
from ..judging.verdicts import record_failure, verify
from ..sending.exchange import Exchange, LoginRequest
from ..judging.classification import Signatures
from .passwords import NearMiss
from .responses import schema_findings
from .trial import Trial
from .strategies import CredentialMisuse
from .wire import Shape, Wire, classify, unmistakably_not_an_email

STAND_IN_PASSWORD = "Unknown-Acc0unt-Passw0rd!"  # the password sent with an unknown account


@dataclass(frozen=True)
class Plan:
    """One example as data: the request it sends, and the judge of the answer."""

    request: LoginRequest
    judge: Callable[[Exchange], None]


Example = Callable[[Any, Trial], "Plan | None"]


def documented_status(ex: Exchange) -> None:
    """201, or a failure signalled with 200/201 + error or a 4xx (clarification failure-signalling)."""
    if ex.status is None or ex.status in (200, 201) or 400 <= ex.status < 600:
        return  # 5xx is judged as a server error, by the request's own requirement
    raise Mismatch("a documented status: 201, or a failure as 4xx or 200/201 with error", f"status {ex.status}")


def judge_response(trial: Trial, ex: Exchange, owner: str) -> None:
    """Schemathesis's applicable built-in checks plus the documented-status rule."""
    findings = schema_findings(ex, owner)
    for f in findings:
        record_failure(f.requirement, ex, f.expected, f.actual, level=f.level)
    failed = {f.requirement for f in findings}
    if "RESP-04" not in failed:
        trial.checked_for("RESP-04", ex)
    if verify("RESP-05", ex, documented_status) and "RESP-05" not in failed and not ex.token:
        trial.checked_for("RESP-05", ex)


def judge_invalid(trial: Trial, ex: Exchange, shape: Shape, wire: Wire, signatures: Signatures | None) -> None:
    """A schema-invalid request: never 5xx, never a token; plus the checks of its kind's requirement."""
    rid = shape.requirement
    ok = verify(rid, ex, checks.not_5xx)
    if verify("RESP-06", ex, checks.no_token):
        trial.checked_for("RESP-06", ex)
    else:
        ok = False
    if rid in ("INPUT-01", "INPUT-02", "INPUT-03", "INPUT-04", "INPUT-07"):
        ok &= verify(rid, ex, checks.no_token)  # "rejected ... with no token" (its `error` is RESP-05's)
    if rid == "INPUT-04":
        ok &= verify(rid, ex, checks.is_4xx, level="SHOULD")
    if rid == "INPUT-07":
        ok &= verify(rid, ex, checks.status_in, (415, 400), "415 Unsupported Media Type (400 tolerated)")
    if rid in ("INPUT-05", "DEPR-03") and signatures is not None:
        email = wire.json.get("email") if isinstance(wire.json, dict) else None
        judged = rid == "DEPR-03" or unmistakably_not_an_email(email)
        if judged and signatures.classify(ex) == "credential":  # over maxLength accepted: DEPR-03's SHOULD clause
            record_failure(rid, ex, f"a validation failure ({signatures.describe()})",
                           "a credential failure: " + ex.describe_response(200),
                           level="SHOULD" if rid == "DEPR-03" else None)  # accepting a long username breaks no client
            ok = False
    if ok:
        trial.checked_for(rid, ex)
    judge_response(trial, ex, rid)


# ---------------------------------------------------------------------------------------- schema-driven
def schema_valid_example(wire: Wire, trial: Trial) -> Plan | None:
    """Schema-valid request, random credentials: never 5xx, never a token or JWT-shaped string; the answer
    is a JSON object matching the success schema or the failure shape; status 201, 200 or 4xx."""
    shape = classify(wire)
    if not shape.valid:
        return None

    def judge(ex: Exchange) -> None:
        if verify(shape.requirement, ex, checks.not_5xx):
            trial.checked_for(shape.requirement, ex)
        if verify("RESP-06", ex, checks.no_token):
            trial.checked_for("RESP-06", ex)
        judge_response(trial, ex, shape.requirement)

    return Plan(wire.request(f"fuzz: schema-valid request, random credentials ({wire.note})", "failure",
                             shape.requirement), judge)


def schema_invalid_example(signatures: Signatures | None) -> Example:
    def example(wire: Wire, trial: Trial) -> Plan | None:
        shape = classify(wire)
        if shape.valid:
            return None
        return Plan(wire.request(f"fuzz: {shape.what} ({wire.note})", "invalid", shape.requirement),
                    lambda ex: judge_invalid(trial, ex, shape, wire, signatures))

    return example


# ---------------------------------------------------------------------------------------- credentialed
def near_miss_example(account: Account) -> Example:
    """A near-miss of the real password never logs in (AUTH-03); once the budget share is spent, the same
    near-miss goes to an unknown account (which must not log in either: AUTH-02)."""

    def example(miss: NearMiss, trial: Trial) -> Plan:
        secret = miss.secret(account.password)
        real = trial.real_account()
        rid = "AUTH-03" if real else "AUTH-02"
        email = account.email if real else trial.unknown_email()

        def judge(ex: Exchange) -> None:
            if verify(rid, ex, checks.no_token):
                trial.checked_for(rid, ex)
            judge_response(trial, ex, rid)

        return Plan(LoginRequest(
            purpose=f"fuzz: near-miss password ({miss.kind}: LOGIN_PASSWORD {miss.description})"
                    + ("" if real else " for an unknown account (failed-login budget spent)"),
            expect="failure", json={"email": email, "password": secret}, real_account=real, requirement=rid,
        ), judge)

    return example


def extra_properties_example(account: Account, user_uuid: str) -> Example:
    """The right credentials plus arbitrary unknown properties log in the same account or get a 4xx (INPUT-10)."""

    def example(extras: dict[str, Any], trial: Trial) -> Plan:
        if trial.real_account():
            def judge_real(ex: Exchange) -> None:
                if verify("INPUT-10", ex, checks.same_account_or_4xx, user_uuid):
                    trial.checked_for("INPUT-10", ex)
                judge_response(trial, ex, "INPUT-10")

            return Plan(LoginRequest(
                purpose="fuzz: right credentials plus unknown properties", expect="any",
                json=account.body(**extras), real_account=True, requirement="INPUT-10",
            ), judge_real)

        def judge_unknown(ex: Exchange) -> None:
            if verify("AUTH-02", ex, checks.no_token):
                trial.checked_for("AUTH-02", ex)
            judge_response(trial, ex, "AUTH-02")

        return Plan(LoginRequest(
            purpose="fuzz: unknown account plus unknown properties (failed-login budget spent)", expect="failure",
            json={"email": trial.unknown_email(), "password": STAND_IN_PASSWORD, **extras}, requirement="AUTH-02",
        ), judge_unknown)

    return example


def credential_misuse_example(account: Account) -> Example:
    """The right credentials in a schema-invalid request never log in (RESP-06), never cause a 5xx, and get the
    rejection the request's kind requires (INPUT-01/02/03/04/07)."""

    def example(misuse: CredentialMisuse, trial: Trial) -> Plan | None:
        real = trial.real_account()
        email, password = (account.email, account.password) if real else (trial.unknown_email(), STAND_IN_PASSWORD)
        wire = misuse.wire(email, password)
        shape = classify(wire)
        if shape.valid:
            return None
        who = "the right credentials" if real else "an unknown account (failed-login budget spent)"
        return Plan(wire.request(f"fuzz: {who}, {shape.what} ({misuse!r})", "invalid", shape.requirement,
                                 real_account=real),
                    lambda ex: judge_invalid(trial, ex, shape, wire, None))

    return example
