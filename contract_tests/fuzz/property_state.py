"""What one property's examples have spent, counted and judged so far (:class:`PropertyState`): its shares of the
request cap and of the failed-login budget, the counts its summary and reports give, why its examples stopped, and
the bookkeeping that keeps a request from being sent or judged twice (outcomes by example and by request, passes by
requirement). The runner (:class:`~contract_tests.fuzz.runner.Fuzz`), each example's
:class:`~contract_tests.fuzz.trial.Trial` and the planning ahead read and update it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from ..judging.ledger import TestContext
from ..judging.outcomes import Undecided
from ..judging.results import Observation, Verdict
from ..sending.client import Account, ContractClient
from ..sending.exchange import Exchange, LoginRequest
from .config import FuzzSettings
from .control import falsify


class SessionView(Protocol):
    """What an example reads of the fuzzing session (:class:`~contract_tests.fuzz.runner.FuzzSession`)."""

    settings: FuzzSettings
    client: ContractClient
    account: Account | None
    unknown_email: str


def fingerprint(request: LoginRequest) -> tuple:
    """What goes on the wire (secrets by value: this stays in memory): equal fingerprints, equal requests."""
    kwargs = request.httpx_kwargs()
    files = kwargs.get("files")
    return (
        kwargs["method"], kwargs["url"], tuple(sorted(kwargs["headers"].items())), tuple(kwargs.get("params") or ()),
        kwargs.get("content"), tuple(sorted(files.items())) if files else None, request.real_account,
    )


@dataclass
class Outcome:
    """A failing example: its description (the generated value) and the observations it recorded."""

    description: str
    observations: list[Observation]


# what an example's observations are rolled back to: the count of the test's observations, its seen map and the
# observer's reported set before the example ran
Mark = tuple[int, dict, set | None]


class PropertyState:
    """One property's shares, counts and judged examples."""

    def __init__(self, session: SessionView, ctx: TestContext, request_share: int, login_share: int) -> None:
        self.session = session
        self.client = session.client
        self.ctx: TestContext = ctx
        self.request_share, self.login_share = request_share, login_share
        self.examples = 0  # examples that ran (sent their requests)
        self.shrink_steps = 0
        self.requests = 0
        self.failed_logins = 0
        self.real_examples = 0
        self.fallback_examples = 0
        self.stop_reason: str | None = None
        self.stop: Undecided | None = None  # the examples stopped because the run could not go on (blocked, ...)
        self.outcomes: dict[str, Outcome] = {}
        self.outcome_of_request: dict[tuple, str] = {}  # request fingerprint -> key of its failing outcome
        self.passed_requests: dict[tuple, str] = {}  # fingerprint of a request that passed -> its example's key
        self.last: str | None = None  # key of the last failing example
        self.passes: dict[str, list[Exchange]] = {}  # requirement -> the passing exchanges judged under it

    @property
    def example_limit(self) -> int:
        """The examples this property may send (its share of the requests allowing)."""
        return min(self.session.settings.examples, self.request_share)

    def record_example(self, key: str, observations: list[Observation], *, sent: bool, request: tuple | None,
                       checked: list[tuple[str, Exchange]]) -> None:
        """Book a judged example: counted when it sent something; a failure (a non-repeated failed observation)
        is kept under its key and its request's fingerprint and falsifies the property; a pass keeps its request
        (not sent again) and the exchanges it judged, by requirement."""
        if sent:
            self.examples += 1
            if self.outcomes:
                self.shrink_steps += 1
        if any(o.verdict is Verdict.FAILED and not o.repeat for o in observations):
            self.outcomes[key] = Outcome(key, observations)
            if request is not None:
                self.outcome_of_request[request] = key
            self.last = key
            falsify(key)
        if request is not None:
            self.passed_requests.setdefault(request, key)
        for requirement, exchange in checked:
            self.passes.setdefault(requirement, []).append(exchange)

    def mark(self, reported: Any) -> Mark:
        """Where the running test's observations stand before an example."""
        ctx = self.ctx
        return len(ctx.observations), dict(ctx.seen), set(reported) if reported is not None else None

    def rollback(self, mark: Mark, reported: Any) -> None:
        """Drop what an example recorded (only the final, shrunk example's failure is reported)."""
        count, seen, reported_before = mark
        del self.ctx.observations[count:]
        self.ctx.seen.clear()
        self.ctx.seen.update(seen)
        if reported is not None:
            reported.clear()
            reported.update(reported_before)


__all__ = ["Mark", "Outcome", "PropertyState", "SessionView", "fingerprint"]
