"""One generated example (:class:`Trial`): sends through the suite's client within the property's shares, knows
whether it may name the real account, and notes what it checked; a request already judged in this property is not
sent again."""

from __future__ import annotations

from hypothesis import reject

from ..judging.outcomes import Blocked
from ..sending.exchange import Exchange, LoginRequest
from .control import AlreadyPassed, Stop, falsify
from .property_state import PropertyState, fingerprint
from .static_echo import discount_static_echo


class Trial:
    """One example: sends through the client, knows which account it may use, notes what it checked."""

    def __init__(self, fuzz: PropertyState, key: str) -> None:
        self.fuzz = fuzz
        self.key = key
        self.exchanges: list[Exchange] = []
        self.checked: list[tuple[str, Exchange]] = []
        self.fingerprint: tuple | None = None
        self._real: bool | None = None

    @property
    def used_real_account(self) -> bool:
        """Whether this example was decided to name the real account (False when not decided yet)."""
        return bool(self._real)

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
            raise Stop()
        if f.requests >= f.request_share:
            f.stop_reason = f"request share of {f.request_share} spent"
            raise Stop()
        sent_as = fingerprint(request)
        if sent_as in f.outcome_of_request:  # the same request again: judged already, not sent again
            falsify(f.outcome_of_request[sent_as])
        first = f.passed_requests.get(sent_as)
        if first is not None:  # sent before in this property, and it passed
            if first == self.key:
                raise AlreadyPassed()  # hypothesis replays an example: the same verdict, nothing sent
            reject()  # another example that makes the same request: does not count as an example
        sent, failed = c.requests_sent, c.failed_logins
        self.fingerprint = sent_as
        exchange = None
        try:
            exchange = c.send(request)
        finally:
            f.requests += (exchange.attempts if exchange is not None and exchange.sent_ahead
                           else c.requests_sent - sent)
            f.failed_logins += c.failed_logins - failed
        self.exchanges.append(exchange)
        discount_static_echo(f.ctx, exchange)
        return exchange

    def checked_for(self, requirement: str, exchange: Exchange) -> None:
        """The example's answer was judged under *requirement* (counted in that requirement's evidence)."""
        self.checked.append((requirement, exchange))


__all__ = ["Trial"]
