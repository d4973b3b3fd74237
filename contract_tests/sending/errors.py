"""Why a request got no usable answer (:class:`NotSent` and its kinds: budget events, never verdicts), and
:class:`TargetError`: the target cannot be tested at all."""

from __future__ import annotations

from .exchange import Exchange
from .transport import TransportFailure


class NotSent(Exception):
    """No usable answer for this request, and why (a budget event, not a verdict)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.answers: list[Exchange] = []  # the rate-limit / lockout answers backed off from (judged like any other)


class BudgetSpent(NotSent):
    """The request cap or the failed-login budget is reached."""


class RateLimited(NotSent):
    """Still rate limited after the back-off --max-retry-wait allows."""


class AccountLocked(NotSent):
    """The account (or identifier) is still locked out after the wait --max-retry-wait allows."""


class Unavailable(NotSent):
    """A gateway answer (502, 504) to this request and to its identical retry, and to a harmless control request sent
    right after: the upstream was unavailable, not answering this input."""


class CaptchaDemanded(NotSent):
    """The target demands a captcha the suite cannot solve."""


class RunStopped(NotSent):
    """The client sends nothing more: the target stopped answering, or the run deadline passed."""


class NoAnswer(NotSent):
    """This request got no complete answer (timeout, connection reset, not HTTP); ``failure`` says which."""

    failure: TransportFailure | None = None


class TargetError(Exception):
    """The target cannot be tested at all (unreachable, not HTTP, TLS failure).

    ``reached``: a connection was made (a TLS or HTTP problem), as opposed to no connection at all."""

    def __init__(self, message: str, reached: bool = False, failure: TransportFailure | None = None) -> None:
        super().__init__(message)
        self.reached = reached
        self.failure = failure  # what happened on the wire (None: built from a message alone)
