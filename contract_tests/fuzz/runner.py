"""Drives hypothesis inside a contract test, one generated example at a time, through the suite's client.

How a property runs (:meth:`Fuzz.run`):

* Every request goes through :class:`~contract_tests.sending.client.ContractClient` (pacing, 429 back-off, request
  cap, failed-login budget, redaction, invariants).  An example's checks record observations in the
  running test's :class:`~contract_tests.judging.verdicts.TestContext`, exactly like a hand-written test.
* An example that records a (non-repeated) failed observation falsifies the property.  Hypothesis then
  shrinks it; every example's observations are rolled back, so only the final, shrunk example's failure
  is reported, with its own curl reproduction.  Its result is kept, so hypothesis's closing replay of
  the shrunk example re-reports it instead of sending it again (no extra request, no failed login, and
  no "flaky" verdict from a rate limiter or a spent budget).
* Requests are bounded: each property gets a fair share of what is left of ``--max-requests`` and at
  most ``examples + shrink allowance``; when the share is spent, generation ends (the examples run so far
  count) or shrinking ends (the smallest failing example so far is reported).
* Credentialed properties draw failed logins on the real account from the client's per-run budget, in
  shares (weighted by their ``fuzz(spends_budget=N)`` marker) of what is left for the properties still to
  run; once a property's share is spent, its remaining examples run against an unknown account (never
  blocked, never failed for that).  A right login, the bug they look for, spends nothing.
* The examples are repeatable: hypothesis is seeded (``--hypothesis-seed``, default fixed), keeps no
  example database, and runs no phase that depends on earlier runs.
* Sent ahead (``--in-flight`` above 1): because the examples depend only on the seed, the property is first run
  dry -- the same seed, each example stopped at its request, which is sent ahead at once (those naming the
  configured account through the client's account gate) -- then the examples are judged in order, each handed the
  answer to its very request (a request that differs is sent then), and hypothesis runs again only to shrink a
  failure. While the requests of a property naming the account wait their turn at the account gate, the next
  property that does not name it is run dry ahead of its test (:meth:`FuzzSession.run_next_dry`).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, Phase, Verbosity, given, reject
from hypothesis.errors import UnsatisfiedAssumption
from hypothesis import seed as seeded
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from ..sending.client import Account, BudgetSpent, ContractClient, NotSent
from ..judging.ledger import Ledger, TestContext
from ..judging.outcomes import Blocked, Undecided
from ..judging.verdicts import Violation, blocked, not_applicable, not_sent
from ..sending.exchange import Exchange, LoginRequest
from ..judging import checks
from ..judging.results import Observation, Verdict
from .config import FuzzSettings

SHRINK_ALLOWANCE = 40  # requests a property may spend shrinking a failure, beyond its examples


class _Stop(BaseException):
    """Ends a hypothesis run early (request share spent, or the client blocked); not a test failure."""


class _Planned(Exception):
    """A dry run's example reached its request (recorded): stop it there."""


class _AlreadyPassed(Exception):
    """This example's request was sent before in this property and passed."""


class Falsified(AssertionError):
    """The example with this key recorded a contract violation."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _falsify(key: str) -> None:
    """Every falsification is raised here: hypothesis tells failures apart by where they were raised, and a
    replayed (cached) failure must look like the first one."""
    raise Falsified(key)


def _fingerprint(request: LoginRequest) -> tuple:
    """What goes on the wire (secrets by value: this stays in memory): equal fingerprints, equal requests."""
    kwargs = request.httpx_kwargs()
    files = kwargs.get("files")
    return (
        kwargs["method"], kwargs["url"], tuple(sorted(kwargs["headers"].items())), tuple(kwargs.get("params") or ()),
        kwargs.get("content"), tuple(sorted(files.items())) if files else None, request.real_account,
    )


def _haystack(ex: Exchange) -> str:
    return ex.text + "\n" + "\n".join(f"{k}: {v}" for k, v in ex.headers.items())


def _is_final() -> bool:
    """Whether hypothesis is replaying the final (shrunk) example."""
    try:
        from hypothesis.control import current_build_context

        return bool(current_build_context().is_final)
    except Exception:  # noqa: BLE001 - outside a build context, or a hypothesis without the flag
        return False


@dataclass
class _Outcome:
    description: str
    observations: list[Observation]


Property = Callable[[Callable[[str], Any]], "tuple[st.SearchStrategy[Any], Callable[[Any, Trial], None]]"]


class FuzzSession:
    """What the fuzz tests of one run share: settings, client, the split of the request/login budgets, and (with
    requests in flight) the properties run dry ahead of their test."""

    def __init__(self, settings: FuzzSettings, client: ContractClient, account: Account | None, unknown_email: str,
                 nodeids: list[str], spenders: dict[str, int], properties: dict[str, Property] | None = None,
                 requirements: dict[str, tuple[str, ...]] | None = None,
                 fixture: Callable[[str], Any] | None = None) -> None:
        self.settings = settings
        self.client = client
        self.account = account
        self.unknown_email = unknown_email
        self._nodeids = list(nodeids)
        self._spenders = dict(spenders)  # nodeid -> weight of its share of the failed-login budget
        self._properties = dict(properties or {})  # nodeid -> builds its (strategy, example) from session fixtures
        self._requirements = dict(requirements or {})
        self._fixture = fixture
        self._started: set[str] = set()
        self._dry: dict[str, tuple[int, list]] = {}  # nodeid -> (example limit, examples) run dry ahead of its test
        self._tried: set[str] = set()

    def start(self, nodeid: str, spent: tuple[int, int] | None = None) -> tuple[int, int]:
        """(requests, failed logins) this property may spend: shares of what is left, for it and those to come.
        *spent*: the requests and failed logins to count as spent instead of the client's count of the run, for a
        property run dry ahead of its test: a provisional share, its test's own is computed when it starts."""
        c = self.client
        spent_requests, spent_logins = spent if spent is not None else (c.run_requests, c.run_failed_logins)
        to_come = [n for n in self._nodeids if n not in self._started and n != nodeid]
        requests_left = max(0, c.limits.max_requests - spent_requests - 2)
        requests = min(self.settings.examples + SHRINK_ALLOWANCE, requests_left // (len(to_come) + 1))
        logins = 0
        weight = self._spenders.get(nodeid, 0)
        if weight and self.account is not None:
            logins_left = max(0, c.limits.failed_login_budget - spent_logins)
            weights = weight + sum(self._spenders.get(n, 0) for n in to_come)
            logins = math.ceil(logins_left * weight / weights)
        if spent is None:
            self._started.add(nodeid)
        return requests, logins

    def property_of(self, nodeid: str) -> tuple[st.SearchStrategy[Any], Callable[[Any, "Trial"], None]]:
        if self._fixture is None:
            raise RuntimeError("the fuzzing session was made without the session's fixtures")
        return self._properties[nodeid](self._fixture)

    def sent_ahead(self, nodeid: str, limit: int) -> list | None:
        """The examples of *nodeid*'s property if it was run dry ahead of its test (:meth:`run_next_dry`) with the
        *limit* on examples its test has (near the request cap the provisional share may differ: its examples are
        not used then, the test runs its own)."""
        dry = self._dry.pop(nodeid, None)
        return dry[1] if dry is not None and dry[0] == limit else None

    def run_next_dry(self) -> bool:
        """Run the next property that does not name the account dry, and send its requests ahead: called while a
        property's requests naming the account pass the account gate (a few at a time, never with a successful
        login in flight), so that hypothesis generates meanwhile. Its shares count the requests of the properties
        run dry and not judged yet as spent. Not on xdist workers (each runs only some of the properties), not with
        one request in flight; a property whose fixtures cannot be set up is left to its test (which fails or skips
        on them itself). True when a property was tried (there may be more), False when none is left to try."""
        c = self.client
        if c.limits.in_flight <= 1 or c.shared is not None or not self.settings.enabled or self._fixture is None:
            return False
        for nodeid in self._nodeids:
            if nodeid in self._started or nodeid in self._tried or self._spenders.get(nodeid, 0):
                continue
            self._tried.add(nodeid)
            if nodeid not in self._properties:
                continue
            try:
                strategy, example = self.property_of(nodeid)
            except (pytest.skip.Exception, pytest.fail.Exception, Exception):  # noqa: BLE001 - see the docstring
                continue
            spent = (c.run_requests + sum(len(values) for _, values in self._dry.values()), c.run_failed_logins)
            fuzz = Fuzz(self, TestContext(nodeid, self._requirements.get(nodeid, ())), spent=spent)
            values = fuzz._send_ahead(strategy, example) if fuzz.request_share > 0 else None
            if values is not None:
                self._dry[nodeid] = fuzz.example_limit, values
            return True
        return False


class Trial:
    """One example: sends through the client, knows which account it may use, notes what it checked."""

    def __init__(self, fuzz: "Fuzz", key: str) -> None:
        self.fuzz = fuzz
        self.key = key
        self.exchanges: list[Exchange] = []
        self.checked: list[tuple[str, Exchange]] = []
        self.fingerprint: tuple | None = None
        self._real: bool | None = None

    def real_account(self) -> bool:
        """Whether this example may name the real account (decided once, from the budget share)."""
        if self._real is None:
            f, c = self.fuzz, self.fuzz.client
            self._real = (
                f.session.account is not None
                and f.failed_logins < f.login_share
                and c.run_failed_logins < c.limits.failed_login_budget
            )
            if self._real:
                f.real_examples += 1
            else:
                f.fallback_examples += 1
        return self._real

    def unknown_email(self) -> str:
        """An address with no account: the configured one, plus-tagged per example (no per-account lockout)."""
        local, _, domain = self.fuzz.session.unknown_email.partition("@")
        return f"{local}+fuzz{self.fuzz.examples}@{domain}" if domain else self.fuzz.session.unknown_email

    def send(self, request: LoginRequest) -> Exchange:
        f, c = self.fuzz, self.fuzz.client
        if c.run_requests + 2 > c.limits.max_requests:
            f.stop = Blocked(f"request cap of {c.limits.max_requests} reached (--max-requests)")
            f.stop_reason = f.stop.reason_text
            raise _Stop()
        if f.requests >= f.request_share:
            f.stop_reason = f"request share of {f.request_share} spent"
            raise _Stop()
        fingerprint = _fingerprint(request)
        if fingerprint in f.outcome_of_request:  # the same request again: judged already, not sent again
            _falsify(f.outcome_of_request[fingerprint])
        first = f.passed_requests.get(fingerprint)
        if first is not None:  # sent before in this property, and it passed
            if first == self.key:
                raise _AlreadyPassed()  # hypothesis replays an example: the same verdict, nothing sent
            reject()  # another example that makes the same request: does not count as an example
        sent, failed = c.requests_sent, c.failed_logins
        self.fingerprint = fingerprint
        exchange = None
        try:
            exchange = c.send(request)
        finally:
            f.requests += (exchange.attempts if exchange is not None and exchange.sent_ahead
                           else c.requests_sent - sent)
            f.failed_logins += c.failed_logins - failed
        self.exchanges.append(exchange)
        f.discount_static_echo(exchange)
        return exchange

    def checked_for(self, requirement: str, exchange: Exchange) -> None:
        """The example's answer was judged under *requirement* (counted in that requirement's evidence)."""
        self.checked.append((requirement, exchange))


class Fuzz:
    """One property of one contract test."""

    def __init__(self, session: FuzzSession, ctx: TestContext | None = None,
                 spent: tuple[int, int] | None = None) -> None:
        ctx = ctx or getattr(session.client.ledger, "current", None)
        if ctx is None:
            raise RuntimeError("fuzzing runs inside a contract test (marked @pytest.mark.requirement)")
        self.session = session
        self.client = session.client
        self.ctx: TestContext = ctx
        self.request_share, self.login_share = session.start(ctx.nodeid, spent)
        self.examples = 0  # examples that ran (sent their requests)
        self.shrink_steps = 0
        self.requests = 0
        self.failed_logins = 0
        self.real_examples = 0
        self.fallback_examples = 0
        self.stop_reason: str | None = None
        self.stop: Undecided | None = None  # the examples stopped because the run could not go on (blocked, ...)
        self._outcomes: dict[str, _Outcome] = {}
        self.outcome_of_request: dict[tuple, str] = {}  # request fingerprint -> key of its failing outcome
        self.passed_requests: dict[tuple, str] = {}  # fingerprint of a request that passed -> its example's key
        self._last: str | None = None
        self._passes: dict[str, list] = {}

    @property
    def example_limit(self) -> int:
        """The examples this property may send (its share of the requests allowing)."""
        return min(self.session.settings.examples, self.request_share)

    # -- running -----------------------------------------------------------------------------
    def run_property(self) -> None:
        """Run the property the test's ``fuzz(prop=...)`` marker names."""
        self.run(*self.session.property_of(self.ctx.nodeid))

    def run(self, strategy: st.SearchStrategy[Any], example: Callable[[Any, Trial], None]) -> None:
        """Run *example* (which sends and judges one generated value) on up to ``--fuzz-examples`` values."""
        s = self.session.settings
        if not s.enabled:
            not_applicable("fuzzing is off (--fuzz-examples 0)")
        if self.request_share <= 0:
            blocked(f"request cap of {self.client.limits.max_requests} reached (--max-requests) "
                    "before this fuzzing property could run")
        ctx, observer = self.ctx, self.client.observer
        reported = getattr(observer, "_reported", None)
        sent_ahead = self.session.sent_ahead(self.ctx.nodeid, self.example_limit)
        if sent_ahead is None and self.client.limits.in_flight > 1:
            sent_ahead = self._send_ahead(strategy, example)
            if self.login_share:  # its requests wait their turn at the account gate: generate the next property
                self.session.run_next_dry()

        def body(value: Any) -> None:
            key = repr(value)
            if _is_final() and key in self._outcomes:
                _falsify(key)  # the shrunk example: already judged, not sent again
            if self.stop_reason is not None:
                raise _Stop()
            mark = (len(ctx.observations), dict(ctx.seen), set(reported) if reported is not None else None)
            trial = Trial(self, key)
            try:
                example(value, trial)
            except Violation:
                pass  # recorded in ctx.observations
            except _AlreadyPassed:
                return
            except NotSent as exc:  # the client could not go on (captcha, rate limit, budget, no response)
                if isinstance(exc, BudgetSpent) and trial._real and self.client.shared is not None:
                    # xdist: a property on another worker took what was left of the run's budget meanwhile; as when
                    # this property's share is spent, its examples from here on use an unknown account
                    self.login_share = self.failed_logins
                    self.real_examples -= 1
                    self._rollback(mark, reported)
                    reject()
                self.stop = not_sent(exc)
                self.stop_reason = self.stop.reason_text
                self._rollback(mark, reported)
                raise _Stop() from None
            except _Stop:
                self._rollback(mark, reported)
                raise
            new = ctx.observations[mark[0]:]
            self._rollback(mark, reported)
            if trial.exchanges:
                self.examples += 1
                if self._outcomes:
                    self.shrink_steps += 1
            if any(o.verdict is Verdict.FAILED and not o.repeat for o in new):
                self._outcomes[key] = _Outcome(key, new)
                if trial.fingerprint is not None:
                    self.outcome_of_request[trial.fingerprint] = key
                self._last = key
                _falsify(key)
            if trial.fingerprint is not None:
                self.passed_requests.setdefault(trial.fingerprint, key)
            for requirement, exchange in trial.checked:
                self._passes.setdefault(requirement, []).append(exchange)

        prop = self._hypothesis(strategy, shrink=True)(body)

        def drive() -> None:
            if sent_ahead is not None:
                # the examples hypothesis would generate, in its order: judged without generating them again
                try:
                    for value in sent_ahead:
                        try:
                            body(value)
                        except UnsatisfiedAssumption:  # reject(): not an example, as in hypothesis
                            pass
                    return
                except Falsified:
                    pass  # hypothesis generates them again (answers kept, nothing re-sent) and shrinks this one
            prop()

        failed: _Outcome | None = None
        note = ""
        try:
            drive()
        except Falsified as exc:
            failed = self._outcomes.get(exc.key) or self._outcomes.get(self._last or "")
        except _Stop:
            if self._last is not None:
                failed = self._outcomes[self._last]
                note = f"; shrinking stopped early ({self.stop_reason})"
            elif self.stop is not None and not self.examples:
                raise self.stop from None
        except Exception as exc:  # hypothesis gave up on a flaky failure: report the last one seen
            from hypothesis.errors import Flaky

            if not isinstance(exc, Flaky) or self._last is None:
                raise
            failed = self._outcomes[self._last]
            note = "; the failure did not reproduce on hypothesis's replay (flaky target)"
        if failed is not None:
            self._report(failed, note)
        self._record_passes()

    def _hypothesis(self, strategy: st.SearchStrategy[Any], *, shrink: bool) -> Callable:
        """The property's hypothesis decorators: seeded, no database, quiet (the dry run and the real one alike)."""
        s = self.session.settings
        phases = (Phase.explicit, Phase.generate, *((Phase.shrink,) if shrink else ()))

        def decorate(body: Callable[[Any], None]) -> Callable[[], None]:
            return hypothesis_settings(
                max_examples=s.examples,
                database=None,  # nothing written into the working tree; runs do not depend on earlier runs
                deadline=None,  # a network round trip, not a unit of code
                derandomize=False,  # the explicit seed below decides
                phases=phases,  # no reuse (no database), no explain (re-sends)
                report_multiple_bugs=False,
                print_blob=False,
                verbosity=Verbosity.quiet,  # the suite reports failures itself (redacted, with a curl reproduction)
                suppress_health_check=list(HealthCheck),
            )(seeded(s.seed)(given(strategy)(body)))

        return decorate

    def _send_ahead(self, strategy: st.SearchStrategy[Any], example: Callable[[Any, Trial], None]) -> list | None:
        """Run the property dry (the same seed, so the same examples), record each example's request, and send
        them ahead (those naming the configured account through the client's account gate; under xdist those are
        sent when their example runs, the budget being the run's). Returns the examples, in hypothesis's order, for
        :meth:`run` to judge; None when the dry run failed. Nothing is judged here.

        Which examples may use the account is predicted as the real run decides it (its share of the failed-login
        budget), counting a failed login for each such request that expects a failure; should an answer prove
        the prediction wrong (a right login: the bug the property looks for), the requests that follow differ from
        the planned ones and are sent when their example runs."""
        values: list[Any] = []
        first_key: dict[tuple, str] = {}
        limit = self.example_limit
        failed_logins = [0]  # predicted failed logins on the account, as the real run will count them

        class DryTrial(Trial):
            def __init__(self, fuzz: Fuzz, key: str, value: Any) -> None:
                super().__init__(fuzz, key)
                self.value = value

            def real_account(self) -> bool:
                if self._real is None:
                    f, c = self.fuzz, self.fuzz.client
                    self._real = (f.session.account is not None and failed_logins[0] < f.login_share
                                  and c.run_failed_logins + failed_logins[0] < c.limits.failed_login_budget)
                return self._real

            def unknown_email(self) -> str:
                saved = self.fuzz.examples
                self.fuzz.examples = len(values)  # the count the real run will have reached at this example
                try:
                    return super().unknown_email()
                finally:
                    self.fuzz.examples = saved

            def send(self, request: LoginRequest) -> Exchange:
                if len(values) >= limit:
                    raise _Stop()
                fingerprint = _fingerprint(request)
                if fingerprint in first_key:  # as in the real run: a replay passes, another example is rejected
                    if first_key[fingerprint] == self.key:
                        raise _AlreadyPassed()
                    reject()
                first_key[fingerprint] = self.key
                values.append(self.value)
                if request.real_account:
                    failed_logins[0] += request.expect in ("failure", "invalid")  # "any": a conforming target logs in
                if not (request.real_account and self.fuzz.client.shared):  # xdist: the account's budget is per run
                    # sent at once: the pool sends while hypothesis generates the next example
                    self.fuzz.client.send_ahead([(self.fuzz.ctx.nodeid, request)])
                raise _Planned()

        scratch = TestContext(self.ctx.nodeid, self.ctx.requirements)

        @self._hypothesis(strategy, shrink=False)
        def dry(value: Any) -> None:
            trial = DryTrial(self, repr(value), value)
            try:
                example(value, trial)
            except (_Planned, _AlreadyPassed):
                pass

        ledger = self.client.ledger
        assert ledger is None or isinstance(ledger, Ledger)  # the client holds the run's ledger untyped (sending/ layer)
        # whatever an example records before its request (nothing, normally) is dropped
        with ledger.running(scratch) if ledger is not None else contextlib.nullcontext():
            try:
                dry()
            except _Stop:
                pass  # as many examples as the property may send
            except Exception:  # noqa: BLE001 -- anything the dry run cannot do: the real run sends as it goes
                return None
        return values

    def _rollback(self, mark, reported) -> None:
        count, seen, reported_before = mark
        del self.ctx.observations[count:]
        self.ctx.seen.clear()
        self.ctx.seen.update(seen)
        if reported is not None:
            reported.clear()
            reported.update(reported_before)

    def discount_static_echo(self, ex: Exchange) -> None:
        """Drop SEC-02's "password echoed" finding when a generated password is merely a word the target says anyway.

        Hand-written cases use distinctive passwords; generated ones can be "INVALID_REQUEST" or "content-ty",
        which every answer of the target contains.  Such a password counts as echoed only if it is absent from
        the answers to this run's other requests (which did not carry it).
        """
        body = ex.request.json if ex.request.has_json else None
        password = body.get("password") if isinstance(body, dict) else None
        if not isinstance(password, str) or len(password.strip()) < 8:
            return
        obs = self.ctx.seen.get(("SEC-02", id(ex)))
        echo = checks.no_password_echo
        found_by = (obs.check or {}).get("name") if obs is not None else None
        if obs is None or obs.verdict is not Verdict.FAILED or found_by != f"{echo.__module__}:{echo.__qualname__}":
            return  # decided by which check found it (its record), never by the message's wording
        others = [e for e in self.ctx.exchanges[-40:] if e is not ex and e.status is not None
                  and password not in e.request.describe(e.base_url, limit=10**6)]
        if any(password in _haystack(e) for e in others[-10:]):
            self.ctx.observations.remove(obs)
            del self.ctx.seen[("SEC-02", id(ex))]

    # -- reporting ---------------------------------------------------------------------------
    def _report(self, outcome: _Outcome, note: str) -> None:
        s = self.session.settings
        text = self.client.redactor(
            f"\n  fuzz:      shrunk example {outcome.description[:300]}"
            f"\n             found with hypothesis seed {s.seed!r}, {s.examples} examples per property "
            f"({self.examples} sent, {self.shrink_steps} while shrinking{note}); the same seed and options "
            "generate it again"
        )
        own = self.ctx.requirements  # the test's own requirements first, then what the invariants saw
        for obs in sorted(outcome.observations, key=lambda o: o.requirement not in own):
            if obs.verdict is Verdict.FAILED:
                obs.message += text
            self.ctx.observations.append(obs)

    def _record_passes(self) -> None:
        s = self.session.settings
        for requirement, exchanges in self._passes.items():
            if self.ctx.failed(requirement, repeats=True):
                continue
            self.ctx.observations.append(Observation(
                requirement=requirement,
                verdict=Verdict.PASSED,
                test=self.ctx.nodeid,
                message=f"fuzz: {len(exchanges)} generated request(s) of this kind answered as required "
                        f"(hypothesis seed {s.seed!r})",
                evidence=[ex.evidence() for ex in exchanges[:2]],
            ))

    def require_real_account(self, what: str) -> None:
        """Not applicable when no example could use the real account (the budget was spent earlier)."""
        if self.real_examples == 0 and not self.ctx.failed(repeats=True):
            not_applicable(
                f"{what}: no failed logins left on the real account for fuzzing "
                f"({self.client.failed_logins} of --max-failed-logins {self.client.limits.failed_login_budget} "
                f"spent by earlier checks); {self.fallback_examples} example(s) ran against an unknown account"
            )

    def summary(self) -> str:
        return (f"{self.examples} examples, {self.requests} requests, {self.real_examples} on the real account, "
                f"{self.fallback_examples} on an unknown account")


__all__ = ["Falsified", "Fuzz", "FuzzSession", "SHRINK_ALLOWANCE", "Trial"]
