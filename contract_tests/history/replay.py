"""``python -m contract_tests replay conformance.json --base-url URL``: send the recorded failing requests again.

Each failed requirement's ``replay`` entries (conformance.json schema 1.2) are sent through the same
:class:`ContractClient` (budgets, back-off, redaction) with the same invariants observing, and the check that failed
is run again on the answer.  Per requirement: ``fixed`` (no recorded failure recurs), ``still failing``, or
undecided (not sent: budget, rate limit, a request the report could not keep; not re-judged: the test compared
several exchanges itself).  Secrets come from the environment (LOGIN_EMAIL, LOGIN_PASSWORD, LOGIN_CAPTCHA_TOKEN),
never from the report; a value built from a token the target issued during the recorded run (the bearer AUTH-07
presents, AUTH-06's forgeries of it) is rebuilt from a fresh login with those credentials, through the same client.
Exit codes as a run: 0 all fixed, 1 a failure at the gate recurs, 4 could not test
(bad report, unreachable target), 10 a failure at the gate could not be rechecked.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import ssl
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..contract.catalog import load_catalog
from ..inputs.near_misses import near_misses
from ..judging import invariants, verdicts
from ..judging.outcome import EXIT_CONFORMING, EXIT_COULD_NOT_TEST, EXIT_INCONCLUSIVE, EXIT_VIOLATIONS
from ..judging.gate import gates
from ..sending.client import Account, ClientLimits, ContractClient, NotSent, TargetError
from ..sending.exchange import visible
from ..sending.replayable import Unavailable, from_text
from ..sending.secrets import Redactor, Secret, password_secret
from ..sending.target_url import base_url_problem, shown_url, url_password
from ..sending.transport import trust_store_problem

ENV_EMAIL, ENV_PASSWORD, ENV_CAPTCHA = "LOGIN_EMAIL", "LOGIN_PASSWORD", "LOGIN_CAPTCHA_TOKEN"
FIXED, STILL_FAILING, UNDECIDED = "fixed", "still failing", "not rechecked"


class ReplayError(Exception):
    """Replay cannot start; one line, exit 4."""


@dataclass
class Entry:
    outcome: str  # fixed | still failing | not rechecked
    note: str


@dataclass
class RequirementReplay:
    id: str
    title: str
    level: str  # the level the recorded failure was at
    entries: list[Entry] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        kinds = {e.outcome for e in self.entries}
        if STILL_FAILING in kinds:
            return STILL_FAILING
        if not kinds or UNDECIDED in kinds:
            return UNDECIDED
        return FIXED

    def note(self) -> str:
        first = next((e for e in self.entries if e.outcome == self.outcome), None)
        counts = ", ".join(f"{sum(e.outcome == k for e in self.entries)} {k}" for k in (STILL_FAILING, FIXED, UNDECIDED)
                           if any(e.outcome == k for e in self.entries))
        return f"{counts or 'nothing recorded to replay'}" + (f": {first.note}" if first and first.note else "")


def _secrets(env: dict[str, str]) -> dict[str, Secret]:
    """Labels the report may hold, with their values from the environment (never from the report)."""
    known: dict[str, Secret] = {}
    if env.get(ENV_PASSWORD):
        password = password_secret(env[ENV_PASSWORD])
        known[password.label] = password
        known.update({s.label: s for s in near_misses(password).values() if isinstance(s, Secret)})
    if env.get(ENV_CAPTCHA):
        known["<LOGIN_CAPTCHA_TOKEN>"] = Secret(env[ENV_CAPTCHA], "<LOGIN_CAPTCHA_TOKEN>", '"$LOGIN_CAPTCHA_TOKEN"')
    return known


def _password_variants(exchange, password: str) -> list:
    # the contract test's own list (imported by name like every check: history sits below the suite)
    return [importlib.import_module("contract_tests.suite.test_token").password_variants(password)]


def _echo_candidates(exchange, password: str) -> list:
    return [[password, *invariants.submitted_passwords(exchange)]]


# Checks whose recorded arguments were withheld (derived from the password): rebuilt from LOGIN_PASSWORD and the
# replayed exchange, as the test and the invariants built them.
REBUILT_ARGUMENTS: dict[str, Callable] = {
    "contract_tests.judging.checks.token:no_credential_material": _password_variants,
    "contract_tests.judging.checks.security:no_password_echo": _echo_candidates,
}


def _bearer_of(token: str) -> list[Secret]:
    # the label and shell form test_auth.test_login_while_presenting_token gives the token it presents
    return [Secret(f"Bearer {token}", "<Bearer issued token>", '"Bearer $LOGIN_TOKEN"')]


def _forgeries_of(token: str) -> list[Secret]:
    # the contract test's own forgeries of an issued token (imported by name: history sits below the suite)
    return list(importlib.import_module("contract_tests.suite.test_auth")._forged_tokens(token).values())


# Values the recorded run built from a token the target issued then: the report keeps their labels, the replay
# rebuilds them from a token issued now (a login with the configured credentials), as the tests built them.
FROM_ISSUED_TOKEN: dict[str, Callable[[str], list[Secret]]] = {
    "<Bearer issued token>": _bearer_of,
    "<forged bearer: ": _forgeries_of,
}


def _from_issued_token(label: str) -> Callable[[str], list[Secret]] | None:
    return next((build for prefix, build in FROM_ISSUED_TOKEN.items() if label.startswith(prefix)), None)


def _resolve(name: str) -> Callable:
    module, _, qualname = name.partition(":")
    if not module.startswith("contract_tests.") or not qualname:
        raise Unavailable(f"unknown check {name!r}")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def load_report(path: Path) -> dict:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReplayError(f"{path}: no such file") from None
    except OSError as exc:
        raise ReplayError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ReplayError(f"{path} is not JSON ({str(exc).splitlines()[0]})") from None
    if not isinstance(document, dict) or not isinstance(document.get("requirements"), list):
        raise ReplayError(f"{path} is not a conformance.json (no 'requirements')")
    return document


def failed_requirements(document: dict, only: set[str] | None = None) -> list[dict]:
    return [r for r in document["requirements"]
            if (r.get("observed_verdict") or r.get("verdict")) == "failed" and (not only or r.get("id") in only)]


class Replayer:
    def __init__(self, client: ContractClient, secrets: dict[str, Secret], account: Account | None = None) -> None:
        self.client = client
        self.ledger = verdicts.Ledger()  # the replay's own: its checks and invariants record here
        self.client.ledger = self.ledger
        self.client.observer = invariants.Observer(self.ledger)
        self.secrets = secrets
        self.account = account  # LOGIN_EMAIL / LOGIN_PASSWORD: renews the tokens a recorded request carried
        self._renewed: dict[str, Secret] = {}  # values rebuilt from the token issued for the request being replayed

    def requirement(self, entry: dict) -> RequirementReplay:
        rid = entry["id"]
        result = RequirementReplay(rid, entry.get("title", ""), entry.get("failed_level") or entry.get("level", "MUST"))
        recorded = entry.get("replay")
        if recorded is None:
            result.entries.append(Entry(UNDECIDED, "the report holds no replayable requests (written before "
                                                   "schema 1.2): re-run the suite"))
        for item in recorded or ():
            result.entries.append(self._one(rid, item))
        return result

    def _one(self, rid: str, item: dict) -> Entry:
        check = item.get("check")
        if not check:
            return Entry(UNDECIDED, f"{item.get('test', 'the test')} judged several exchanges itself: "
                                    f"re-run the suite with --requirement {rid}")
        rebuild = REBUILT_ARGUMENTS.get(check.get("name", ""))
        if check.get("withheld") and rebuild is None:
            return Entry(UNDECIDED, f"the check's {check['withheld']}: re-run the suite with --requirement {rid}")
        if check.get("withheld") and "<LOGIN_PASSWORD>" not in self.secrets:
            return Entry(UNDECIDED, f"the check's arguments come from the password: export {ENV_PASSWORD}")
        self._renewed = {}  # each replayed request presents a token issued just before it, as in the recorded run
        try:
            fn = _resolve(check["name"])
            requests = [from_text(text, self.secret) for text in item.get("requests", [])]
        except (Unavailable, ImportError, AttributeError, ValueError, KeyError) as exc:
            return Entry(UNDECIDED, f"cannot be sent again: {exc}")
        except NotSent as exc:  # the login renewing the issued token was not answered
            return Entry(UNDECIDED, f"cannot be sent again: renewing the issued token: {verdicts.not_sent_verdict(exc)}")
        if len(requests) != 1:
            return Entry(UNDECIDED, f"{len(requests)} recorded requests for one check: re-run the suite")
        ctx = verdicts.TestContext(f"replay::{item.get('test', rid)}", (rid,))
        self.ledger.begin(ctx)
        try:
            exchange = self.client.send(requests[0])
            args, kwargs = check.get("args") or [], check.get("kwargs") or {}
            if check.get("withheld"):
                assert rebuild is not None  # a withheld check without one was left undecided above
                args, kwargs = rebuild(exchange, self.secrets["<LOGIN_PASSWORD>"].value), {}
            verdicts.verify(rid, exchange, fn, *args, level=item.get("level"), **kwargs)
        except NotSent as exc:
            return Entry(UNDECIDED, verdicts.not_sent_verdict(exc))
        finally:
            self.ledger.begin(None)
        failures = ctx.failed(rid, repeats=True)
        if failures:
            first = failures[0]
            detail = f"actual:    {first.actual}".strip().splitlines()[0]
            return Entry(STILL_FAILING, detail)
        return Entry(FIXED, "")

    def secret(self, label: str) -> Secret:
        """The value *label* stands for in a recorded request; :class:`Unavailable` says why it cannot be had."""
        secret = self.secrets.get(label) or self._renewed.get(label)
        if secret is not None:
            return secret
        build = _from_issued_token(label)
        if build is not None:
            return self._renew(label, build)
        hint = f" (export {ENV_PASSWORD})" if "LOGIN_PASSWORD" in label else (
            f" (export {ENV_CAPTCHA})" if "CAPTCHA" in label else ": it only existed during the recorded run")
        raise Unavailable(f"it needs {label}{hint}")

    def _renew(self, label: str, build: Callable[[str], list[Secret]]) -> Secret:
        """*label*'s value rebuilt from a token issued now: a login with the configured credentials, sent through
        the same client (request cap, back-off, the token registered with the redactor)."""
        if self.account is None:
            raise Unavailable(f"it needs {label}, built from a token the target issued during the recorded run: "
                              f"export {ENV_EMAIL} and {ENV_PASSWORD} to log in and renew it")
        login = self.client.login(self.account, f"a login renewing the token the recorded request carried ({label})")
        if not login.token:
            answer = login.transport_error or f"status {login.status}" + (
                f", error {login.error!r}" if login.error is not None else "")
            raise Unavailable(f"it needs {label}, and the login renewing the token issued none ({answer})")
        self._renewed = {s.label: s for s in build(login.token)}
        for secret in self._renewed.values():
            self.client.redactor.add(secret)
        if label not in self._renewed:
            raise Unavailable(f"it needs {label}, which a fresh token does not give")
        return self._renewed[label]


def _number(text: str, name: str, integer: bool = False) -> float:
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        raise ReplayError(f"{name} must be a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ReplayError(f"{name} must be a finite number >= 0, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m contract_tests replay",
        description="Send the failing requests recorded in a conformance.json again and judge them with the same "
                    "checks: per requirement fixed / still failing. Secrets come from LOGIN_EMAIL, LOGIN_PASSWORD, "
                    "LOGIN_CAPTCHA_TOKEN. Exit: 0 fixed, 1 still failing at the gate, 4 could not test, "
                    "10 not rechecked at the gate.")
    p.add_argument("report", help="conformance.json of the run whose failures to replay")
    p.add_argument("--base-url", required=True, help="server root to send them to (the same target or another)")
    p.add_argument("--requirement", action="append", default=[], metavar="IDS",
                   help="replay only these requirement IDs (comma-separated, repeatable)")
    p.add_argument("--fail-on", choices=("must", "should"), default=None,
                   help="gate level (default: the recorded run's)")
    p.add_argument("--timeout", default="10", help="hard deadline of each request, seconds (default: 10)")
    p.add_argument("--max-requests", default="100", help="request cap (default: 100)")
    p.add_argument("--max-failed-logins", default="25", help="failed-login budget on the account (default: 25)")
    p.add_argument("--max-retry-wait", default="30", help="longest back-off on 429, seconds (default: 30)")
    p.add_argument("--captcha-header", default="cf-turnstile-response")
    p.add_argument("--insecure", action="store_true", help="do not verify the TLS certificate")
    return p


def main(argv: list[str], env: dict[str, str] | None = None, out=None) -> int:
    out = out or sys.stdout
    env = dict(os.environ if env is None else env)
    args = _parser().parse_args(argv)
    redactor = Redactor()
    try:
        problem = base_url_problem(str(args.base_url))
        if problem is not None:
            raise ReplayError(f"--base-url must be an http(s) URL of the server root ({problem}), "
                              f"got {shown_url(str(args.base_url))!r}")
        limits = ClientLimits(timeout=_number(args.timeout, "--timeout") or 10.0,
                              max_requests=int(_number(args.max_requests, "--max-requests", True)),
                              failed_login_budget=int(_number(args.max_failed_logins, "--max-failed-logins", True)),
                              max_retry_wait=_number(args.max_retry_wait, "--max-retry-wait"),
                              verify_tls=not args.insecure)
        document = load_report(Path(args.report))
        only = {i.strip() for chunk in args.requirement for i in chunk.split(",") if i.strip()}
        unknown = sorted(only - set(load_catalog()))
        if unknown:
            raise ReplayError(f"--requirement: unknown requirement ID(s) {', '.join(unknown)}")
        failed = failed_requirements(document, only)
        email, password = env.get(ENV_EMAIL), env.get(ENV_PASSWORD)
        if bool(email) != bool(password):
            raise ReplayError(f"credentials are incomplete: set {ENV_PASSWORD if email else ENV_EMAIL} too, or neither")
        secrets = _secrets(env)
        for secret in secrets.values():
            redactor.add(secret)
        account = Account.from_values(email, password) if email and password else None
        redactor.add(url_password(str(args.base_url)) or "", "<url-password>")
        try:
            client = ContractClient(args.base_url, redactor, limits, captcha_header=args.captcha_header,
                                    captcha_token=secrets.get("<LOGIN_CAPTCHA_TOKEN>"), account=account)
        except (OSError, ssl.SSLError) as exc:  # the TLS context, made with the client, reads SSL_CERT_FILE
            raise ReplayError(trust_store_problem(exc)) from None
    except ReplayError as exc:
        print(f"ERROR: replay: {visible(redactor(str(exc)))}", file=out)
        return EXIT_COULD_NOT_TEST
    fail_on = args.fail_on or (document.get("run") or {}).get("gate") or "must"
    try:
        if not failed:
            print(f"replay: {args.report} records no failed requirement{' among ' + ', '.join(sorted(only)) if only else ''}: "
                  "nothing to replay (exit 0)", file=out)
            return EXIT_CONFORMING
        try:
            client.probe()
        except TargetError as exc:
            print(f"ERROR: replay: could not test {shown_url(str(args.base_url))}: {visible(redactor(str(exc)))}",
                  file=out)
            return EXIT_COULD_NOT_TEST
        replayer = Replayer(client, secrets, account)
        results = [replayer.requirement(entry) for entry in failed]
    finally:
        client.close()
    return report(results, args, fail_on, client, redactor, out)


def report(results: list[RequirementReplay], args, fail_on: str, client: ContractClient, redactor: Redactor,
           out) -> int:
    print(f"replay of {args.report} against {args.base_url}: {client.requests_sent} request(s) sent", file=out)
    for r in results:
        line = f"{r.id:<10} {r.level:<7} {r.title:<40} {r.outcome.upper():<14} {r.note()}"
        print(visible(redactor(line))[:400], file=out)
    still = [r.id for r in results if r.outcome == STILL_FAILING and gates(r.level, fail_on)]
    undecided = [r.id for r in results if r.outcome == UNDECIDED and gates(r.level, fail_on)]
    fixed = [r.id for r in results if r.outcome == FIXED]
    if still:
        verdict, code = f"STILL FAILING: {', '.join(still)}", EXIT_VIOLATIONS
    elif undecided:
        verdict, code = f"INCONCLUSIVE: not rechecked: {', '.join(undecided)}", EXIT_INCONCLUSIVE
    else:
        verdict, code = "FIXED" if fixed else "nothing at the gate", EXIT_CONFORMING
    print(f"replay --fail-on={fail_on}: {verdict}; fixed: {', '.join(fixed) or 'none'} (exit {code})", file=out)
    return code


__all__ = ["main", "Replayer", "RequirementReplay", "ReplayError"]
