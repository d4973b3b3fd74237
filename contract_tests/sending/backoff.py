"""Backing off: which answers are rate limits or lockouts, the wait they ask for (Retry-After, else 1, 2, 4, 8 s),
the run's pause they start and the lock book's hold on their identifier (the client's part that decides them)."""

from __future__ import annotations

import datetime
import email.utils
import re
import time
from typing import Callable

import httpx

from .errors import AccountLocked, NotSent, RateLimited
from .exchange import Exchange, LoginRequest, visible
from .locks import Held, identifier_of
from .pause import PausedMeanwhile

# Statuses a proxy or load balancer answers itself when its upstream is down or slow: retried once, identically, to
# tell a passing blip from an answer of the API to the input (a 500 is the API's own: never retried).
GATEWAY_STATUSES = frozenset({502, 503, 504})
GATEWAY_RETRY_WAIT = 0.75  # seconds before that retry when the answer gives no Retry-After


STAND_INS_PER_REQUEST = 3  # fresh identifiers one request may go on to after a lock answer (one held before it was
# sent costs nothing: the run's MAX_STAND_INS bounds those)


# `error` values that say the identifier is locked out (a lockout policy), whatever the status
LOCKOUT_ERROR = re.compile(
    r"(ACCOUNT_|USER_)?(TEMPORARILY_)?LOCKED(_OUT)?|ACCOUNT_LOCKOUT|TOO_MANY_(FAILED_)?(LOGIN_)?ATTEMPTS", re.I)


def backoff_kind(exchange: Exchange, *, locked_after_failures: bool = False) -> str | None:
    """``"rate limit"`` (429, ``RATE_LIMITED``), ``"lockout"`` (423, a lock error) or None.

    *locked_after_failures*: the request names the configured account, which logged in earlier in this run and has
    had failed logins since: a ``USER_FORBIDDEN`` there is the account locking, not a disabled account.
    """
    error = exchange.error if isinstance(exchange.error, str) else None
    if exchange.status == 423 or (error is not None and LOCKOUT_ERROR.fullmatch(error)):
        return "lockout"  # a 429 included: its error names the identifier's lock
    if exchange.status == 429 or error == "RATE_LIMITED":
        return "rate limit"
    if locked_after_failures and error == "USER_FORBIDDEN":
        return "lockout"
    return None


_DELAY_SECONDS = re.compile(r"\d+(\.\d+)?")


def retry_after(headers: httpx.Headers) -> float | None:
    """Seconds a ``Retry-After`` asks to wait (RFC 9110 section 10.2.3: delay-seconds or an HTTP-date); None when
    absent or unreadable (``later, please``, a date that does not parse): the target's words, never a crash."""
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    if _DELAY_SECONDS.fullmatch(value):
        return float(value)
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:  # an HTTP-date is always GMT
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return max(0.0, parsed.timestamp() - time.time())

def default_backoff(attempt: int) -> float:
    """The back-off without a readable Retry-After: 1, 2, 4, 8 s for the *attempt*-th retry."""
    return min(2.0**attempt, 8.0)

def asked_wait(headers: httpx.Headers, attempt: int) -> float:
    """The wait an answer asks for: its readable Retry-After, else the default back-off of the *attempt*-th retry."""
    asked = retry_after(headers)
    return default_backoff(attempt) if asked is None else asked

def unreadable_retry_after(headers: httpx.Headers) -> str | None:
    """A note for a ``Retry-After`` that is present but neither seconds nor an HTTP-date (None otherwise)."""
    value = headers.get("retry-after")
    if value is None or not value.strip() or retry_after(headers) is not None:
        return None
    return (f"Retry-After {visible(value.strip())[:60]!r} is neither a number of seconds nor an HTTP-date (RFC 9110 "
            "section 10.2.3): read as absent, the default back-off used")


class BackingOff:
    """The client's back-off (a part of :class:`~contract_tests.sending.client.ContractClient`, on its state)."""

    def _received(self, exchange: Exchange, attempt: int, ticket) -> None:
        """The answer has just been read (on the loop thread): a 429 or lock answer starts the pause and holds its
        identifier now, before another request can go."""
        received = self._clock()
        kind = exchange.backoff = self._backoff_kind(exchange)
        if kind is not None:
            exchange.backoff_note = unreadable_retry_after(exchange.headers)
        if kind is not None and not exchange.request.raw_rate_limit:
            self._pause_for(exchange, kind, attempt, received)
        if ticket is not None:
            ticket.answered(exchange, lock=kind == "lockout", retry_after=retry_after(exchange.headers),
                            received_at=received)

    def _last_look(self, ticket) -> Callable:
        """What a request awaits on the loop right before it goes: it does not go when a pause began since it
        waited one out (another request's 429 was answered meanwhile), nor when its identifier locked since the lock
        book let it through: :class:`PausedMeanwhile`, it waits that out first."""
        looked = self._pause.until

        async def look() -> None:
            if self.shared:  # a pause another xdist worker began since this request waited one out
                self._pause.extend_to(self.shared.read("pause_until"))
            if ((self._pause.until > looked and self._pause.left() > 0)
                    or (ticket is not None and self._locks.locked_since_admitted(ticket))):
                raise PausedMeanwhile()

        return look

    def _pause_for(self, answer: Exchange, kind: str, attempt: int, received: float) -> None:
        """A 429 or lock answer was just received: from now on nothing new is sent until its Retry-After (else 1, 2,
        4, 8 s for the *attempt*-th retry) has elapsed. A lock on an identifier that gives no Retry-After, or a longer
        one than --max-retry-wait, holds that identifier only (the lock book): the rest of the run goes on."""
        seconds = asked_wait(answer.headers, attempt)
        has_retry_after = retry_after(answer.headers) is not None  # an unreadable one is read as absent
        if kind == "lockout" and identifier_of(answer.request, self._locks.account_email) is not None and (
                not has_retry_after or seconds > self.limits.max_retry_wait):
            return
        grown = self._pause.start(seconds, received)
        if self.shared:  # the other xdist workers pause with this one
            self.shared.raise_to("pause_until", self._pause.until)
        if seconds <= self.limits.max_retry_wait:  # waited out (a longer pause stops the requests instead)
            self.backoff_seconds += grown

    async def _honour_pause(self, allowance: float) -> None:
        """Wait out the run's pause (under xdist: another worker's too), or raise :class:`RateLimited` when it lasts
        longer than *allowance*."""
        if self.shared:
            self._pause.extend_to(self.shared.read("pause_until"))
        left = self._pause.left()
        if left > allowance:
            raise RateLimited(f"the target asked for a pause of {left:.0f} s more (Retry-After of a 429 or lock "
                              f"answer), beyond --max-retry-wait {self.limits.max_retry_wait:g}; nothing is sent "
                              "before it ends")
        await self._pause.wait()

    async def _retry_wait(self, request: LoginRequest, kind: str, waited: float, ticket) -> float | None:
        """How long the retry of *request* waits after its 429 or lock answer (the next attempt waits the run's pause
        out; the lock book lets the retry of a lock through as a new request to the identifier); None when that is
        past --max-retry-wait; :class:`Held` when the lock's end is unknown or the policy holds the retry."""
        allowance = self.limits.max_retry_wait - waited
        pause_left = self._pause.left()
        if pause_left > allowance:
            return None
        if kind != "lockout" or ticket is None:
            return pause_left
        lock_left = self._locks.locked_for(request) or 0.0
        if lock_left > allowance:
            return None  # (reported by _still_backing_off with the lock's own words)
        admitted_after = await self._locks.readmit(ticket, request, allowance)
        if lock_left > pause_left:
            self.backoff_seconds += lock_left - pause_left
        return max(admitted_after, pause_left)

    def back_off(self, answer: Exchange, attempt: int, waited: float = 0.0) -> float | None:
        """For an *answer* handed over raw (the throttling probe): wait as it asks (Retry-After, else 1, 2, 4, 8 s for
        the *attempt*-th retry), every other request with it, counted in the run's back-off; None (no wait) when
        that would take *waited* past --max-retry-wait. (Called on pytest's main thread: the wait is the loop's.)"""
        return self._loop.run(self._back_off(answer, attempt, waited))

    async def _back_off(self, answer: Exchange, attempt: int, waited: float) -> float | None:
        pause = asked_wait(answer.headers, attempt)
        answer.backoff_note = unreadable_retry_after(answer.headers)
        if waited + pause > self.limits.max_retry_wait:
            return None
        grown = self._pause.start(pause, self._clock())
        if self.shared:  # the other xdist workers pause with this one
            self.shared.raise_to("pause_until", self._pause.until)
        self.backoff_seconds += grown
        await self._pause.wait()
        return pause

    def _still_backing_off(self, request: LoginRequest, kind: str, answers: list[Exchange], waited: float) -> NotSent:
        last = answers[-1]
        tried = (f"after {len(answers)} attempt(s) and {waited:.0f} s of back-off "
                 f"(--max-retry-wait {self.limits.max_retry_wait:g})")
        unreadable = unreadable_retry_after(last.headers)
        if unreadable:
            tried += f"; {unreadable}"
        if kind == "rate limit":
            exc: NotSent = RateLimited(f"rate limited by the target (429 / RATE_LIMITED / 503 again) {tried}")
        else:
            said_after = last.headers.get("retry-after")
            said = f"status {last.status}" + (f", error {last.error!r}" if last.error is not None else "")
            until = f"; Retry-After {visible(said_after.strip())[:60]}" if said_after else "; no Retry-After"
            # nothing more is sent to it until the lock ends (the lock book keeps it): an attempt while locked often
            # restarts the lock
            who = "the configured account" if request.real_account else "this identifier"
            exc = AccountLocked(f"{who} is locked out by the target ({said}{until}) {tried}")
        exc.answers = answers
        return exc

    async def _send_naming_stand_in(self, request: LoginRequest) -> Exchange:
        """Send *request* (it does not name the configured account); when the identifier it names is one the suite
        invented and the target keeps it from the suite (locked longer than the run waits, or one more failed login
        would lock it), it is sent again naming a fresh one (stand_ins.py), as every later request naming it is: the
        check gets the answer it needs whatever reached the target first. The lock answers met on the way are
        kept with the exchange (judged like any other)."""
        met: list[Exchange] = []
        replaced = 0
        while True:
            sent = self._locks.naming_stand_in(request)
            try:
                exchange = await self._send(sent)
            except AccountLocked as exc:
                locked = len(exc.answers) > 0  # it met a lock answer (else it was held before it was sent)
                exc.answers = met + exc.answers
                if (locked and replaced == STAND_INS_PER_REQUEST) or not self._locks.replace_held(sent):
                    if sent is not request:
                        exc.reason = f"{exc.reason} (a fresh identifier, in place of one the target had locked)"
                        exc.args = (exc.reason,)
                    raise
                met, replaced = exc.answers, replaced + locked
                continue
            exchange.retried = met + exchange.retried
            return exchange

    def _hold_if_locked(self, request: LoginRequest) -> None:
        try:
            self._locks.hold_if_locked(request, self.limits.max_retry_wait)
        except Held as exc:
            raise AccountLocked(exc.reason) from None

    @property
    def lock_answers(self) -> int:
        """Lock answers received on the identifiers the suite names (the account, the unknown ones)."""
        return self._locks.lock_answers

    def _backoff_kind(self, exchange: Exchange) -> str | None:
        request = exchange.request
        if exchange.error != "USER_FORBIDDEN":
            return backoff_kind(exchange)
        on_account = (request.real_account and self._account_logged_in  # any xdist worker's failures, or one
                      and (self.run_failed_logins > 0 or self._gate.streak > 0))  # answered, not yet counted
        # any identifier the suite names, whatever the request checks (a validation probe naming a locked identifier
        # meets the lock too): refused otherwise before in this run, now forbidden
        after_failures = on_account or self._locks.forbidden_after_failures(request, exchange)
        return backoff_kind(exchange, locked_after_failures=after_failures)
