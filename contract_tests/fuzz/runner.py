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
* Sent ahead (``--in-flight`` above 1): because the examples depend only on the seed and each example's request is
  data (its plan, properties.py), hypothesis first generates the property's values with the same seed and each
  value's request is sent ahead at once (those naming the configured account through the client's account gate) --
  nothing is sent by the property and nothing judged then -- and the examples are judged in order, each handed the
  answer to its very request (a request that differs is sent then), and hypothesis runs again only to shrink a
  failure. While the requests of a property naming the account wait their turn at the account gate, the next
  property that does not name it is planned ahead of its test (:meth:`FuzzSession.plan_next`).

The parts, each a module: ``trial`` (one example: sends within the shares, real or unknown account),
``property_state`` (a property's shares, counts and judged examples), ``planned`` (a property's requests, known from its values, sent ahead),
``seeded`` (the hypothesis settings), ``control`` (how an example ends: stopped, planned, falsified),
``static_echo`` (SEC-02's echo of a generated password the target says anyway), ``reporting`` (the shrunk failure
and the passes in the test's report). This module holds what composes them: the session of the fuzz tests and the
property run.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable

import pytest
from hypothesis import reject
from hypothesis.errors import UnsatisfiedAssumption
from hypothesis import strategies as st

from ..sending.client import Account, BudgetSpent, ContractClient, NotSent
from ..judging.ledger import TestContext
from ..judging.verdicts import Violation, blocked, not_applicable, not_sent
from .config import FuzzSettings
from .control import Falsified, AlreadyPassed, Stop, falsify, is_final
from .planned import send_ahead
from .property_state import Outcome, PropertyState
from .reporting import record_passes, report_failure
from .seeded import seeded_property
from .trial import Trial

if TYPE_CHECKING:
    from .properties import Example

SHRINK_ALLOWANCE = 40  # requests a property may spend shrinking a failure, beyond its examples


Property = Callable[[Callable[[str], Any]], "tuple[st.SearchStrategy[Any], Example]"]


class FuzzSession:
    """What the fuzz tests of one run share: settings, client, the split of the request/login budgets, and (with
    requests in flight) the properties planned ahead of their test."""

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
        self._dry: dict[str, tuple[int, list]] = {}  # nodeid -> (example limit, examples) planned ahead of its test
        self._tried: set[str] = set()

    def start(self, nodeid: str, spent: tuple[int, int] | None = None) -> tuple[int, int]:
        """(requests, failed logins) this property may spend: shares of what is left, for it and those to come.
        *spent*: the requests and failed logins to count as spent instead of the client's count of the run, for a
        property planned ahead of its test: a provisional share, its test's own is computed when it starts."""
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

    def property_of(self, nodeid: str) -> tuple[st.SearchStrategy[Any], Example]:
        if self._fixture is None:
            raise RuntimeError("the fuzzing session was made without the session's fixtures")
        return self._properties[nodeid](self._fixture)

    def sent_ahead(self, nodeid: str, limit: int) -> list | None:
        """The examples of *nodeid*'s property if it was planned ahead of its test (:meth:`plan_next`) with the
        *limit* on examples its test has (near the request cap the provisional share may differ: its examples are
        not used then, the test runs its own)."""
        dry = self._dry.pop(nodeid, None)
        return dry[1] if dry is not None and dry[0] == limit else None

    def plan_next(self) -> bool:
        """Run the next property that does not name the account dry, and send its requests ahead: called while a
        property's requests naming the account pass the account gate (a few at a time, never with a successful
        login in flight), so that hypothesis generates meanwhile. Its shares count the requests of the properties
        planned and not judged yet as spent. Not on xdist workers (each runs only some of the properties), not with
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
            values = send_ahead(fuzz, strategy, example) if fuzz.request_share > 0 else None
            if values is not None:
                self._dry[nodeid] = fuzz.example_limit, values
            return True
        return False


class Fuzz(PropertyState):
    """One property of one contract test: its examples run through hypothesis, judged one at a time, the shrunk
    failure or the passes reported."""

    session: FuzzSession  # the state's view of it, plus the properties and the examples planned ahead

    def __init__(self, session: FuzzSession, ctx: TestContext | None = None,
                 spent: tuple[int, int] | None = None) -> None:
        ctx = ctx or getattr(session.client.ledger, "current", None)
        if ctx is None:
            raise RuntimeError("fuzzing runs inside a contract test (marked @pytest.mark.requirement)")
        super().__init__(session, ctx, *session.start(ctx.nodeid, spent))

    # -- running -----------------------------------------------------------------------------
    def run_property(self) -> None:
        """Run the property the test's ``fuzz(prop=...)`` marker names."""
        self.run(*self.session.property_of(self.ctx.nodeid))

    def run(self, strategy: st.SearchStrategy[Any], example: Example) -> None:
        """Run *example* (each generated value's plan: its request, sent here, and the judge of the answer) on up to
        ``--fuzz-examples`` values."""
        s = self.session.settings
        if not s.enabled:
            not_applicable("fuzzing is off (--fuzz-examples 0)")
        if self.request_share <= 0:
            blocked(f"request cap of {self.client.limits.max_requests} reached (--max-requests) "
                    "before this fuzzing property could run")
        reported = getattr(self.client.observer, "_reported", None)
        sent_ahead = self.session.sent_ahead(self.ctx.nodeid, self.example_limit)
        if sent_ahead is None and self.client.limits.in_flight > 1:
            sent_ahead = send_ahead(self, strategy, example)
            if self.login_share:  # its requests wait their turn at the account gate: generate the next property
                self.session.plan_next()

        def body(value: Any) -> None:
            self._judge(example, value, reported)

        prop = seeded_property(s, strategy, shrink=True)(body)
        failed: Outcome | None = None
        note = ""
        try:
            self._drive(body, prop, sent_ahead)
        except Falsified as exc:
            failed = self.outcomes.get(exc.key) or self.outcomes.get(self.last or "")
        except Stop:
            if self.last is not None:
                failed = self.outcomes[self.last]
                note = f"; shrinking stopped early ({self.stop_reason})"
            elif self.stop is not None and not self.examples:
                raise self.stop from None
        except Exception as exc:  # hypothesis gave up on a flaky failure: report the last one seen
            from hypothesis.errors import Flaky

            if not isinstance(exc, Flaky) or self.last is None:
                raise
            failed = self.outcomes[self.last]
            note = "; the failure did not reproduce on hypothesis's replay (flaky target)"
        if failed is not None:
            report_failure(self, failed, note)
        record_passes(self)

    @staticmethod
    def _drive(body: Callable[[Any], None], prop: Callable[[], None], sent_ahead: list | None) -> None:
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

    def _judge(self, example: Example, value: Any, reported: Any) -> None:
        """One example: sent and judged, its observations rolled back and booked (a failure falsifies)."""
        ctx = self.ctx
        key = repr(value)
        if is_final() and key in self.outcomes:
            falsify(key)  # the shrunk example: already judged, not sent again
        if self.stop_reason is not None:
            raise Stop()
        mark = self.mark(reported)
        trial = Trial(self, key)
        try:
            plan = example(value, trial)
            if plan is not None:
                plan.judge(trial.send(plan.request))
        except Violation:
            pass  # recorded in ctx.observations
        except AlreadyPassed:
            return
        except NotSent as exc:  # the client could not go on (captcha, rate limit, budget, no response)
            if isinstance(exc, BudgetSpent) and trial.used_real_account and self.client.shared is not None:
                # xdist: a property on another worker took what was left of the run's budget meanwhile; as when
                # this property's share is spent, its examples from here on use an unknown account
                self.login_share = self.failed_logins
                self.real_examples -= 1
                self.rollback(mark, reported)
                reject()
            self.stop = not_sent(exc)
            self.stop_reason = self.stop.reason_text
            self.rollback(mark, reported)
            raise Stop() from None
        except Stop:
            self.rollback(mark, reported)
            raise
        new = ctx.observations[mark[0]:]
        self.rollback(mark, reported)
        self.record_example(key, new, sent=bool(trial.exchanges), request=trial.fingerprint, checked=trial.checked)

    # -- verdicts beyond the examples' --------------------------------------------------------
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
