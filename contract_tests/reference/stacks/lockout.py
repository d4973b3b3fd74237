"""`lockout`: the conforming reference plus a common account-lockout policy: a handful of failed logins for one
identifier within a few minutes lock it for a short while, the right password included (423 ACCOUNT_LOCKED with a
truthful Retry-After). A successful login does not reset the count (django-axes' AXES_RESET_ON_SUCCESS = False, the
default), so interleaving successes does not avoid the lock, and an attempt while locked starts the lock again, so a
client that honours Retry-After gets in and one that keeps trying stays out (which also keeps the suite's verdicts
independent of machine speed). Identifiers are counted whether or not an account
exists, so the lock reveals nothing."""

from __future__ import annotations

import math
import threading
import time

from ..service import LoginRequest, LoginService, Reject, User
from . import stack


@stack("lockout")
class Lockout(LoginService):
    lock_after = 5  # failed logins for one identifier ...
    lock_window_seconds = 300.0  # ... within 5 minutes ...
    lock_seconds = 2.0  # ... lock it this long (short, so self-tests stay fast)

    def setup(self) -> None:
        self.lock_state = threading.Lock()
        self.failures: dict[str, list[float]] = {}
        self.locked_until: dict[str, float] = {}

    def guarded_authenticate(self, login: LoginRequest) -> User:
        key = self.throttle_key(login)
        now = time.monotonic()
        with self.lock_state:
            locked = key is not None and self.locked_until.get(key, 0.0) > now
            if locked:
                self.locked_until[key] = now + self.lock_seconds
        if locked:
            raise Reject(self.lock_answer(self.lock_seconds))
        try:
            return self.authenticate(login)
        except Reject:
            self.count_failure(key, now)
            raise

    def lock_answer(self, remaining: float):
        """What a login naming a locked identifier gets (*remaining*: seconds the lock lasts from now)."""
        return self.error_response(423, "ACCOUNT_LOCKED", "too many failed logins, try again later",
                                   headers={"Retry-After": str(math.ceil(remaining))})

    def configure(self, *, lock_after: int | None = None, window: float | None = None,
                  lock_seconds: float | None = None) -> "Lockout":
        """The policy's parameters for one server (self-tests keep windows of seconds); returns the service."""
        if lock_after is not None:
            self.lock_after = lock_after
        if window is not None:
            self.lock_window_seconds = window
        if lock_seconds is not None:
            self.lock_seconds = lock_seconds
        return self

    def count_failure(self, key: str | None, now: float) -> None:
        if key is None:
            return
        with self.lock_state:
            recent = [t for t in self.failures.get(key, ()) if now - t < self.lock_window_seconds] + [now]
            if len(recent) >= self.lock_after:
                self.locked_until[key] = now + self.lock_seconds
                recent = []  # the lock starts a fresh count
            self.failures[key] = recent


class IdentifierLock(LoginService):
    """A lockout policy that speaks its own vocabulary (Laravel's ThrottlesLogins, Spring Security's
    LockedException mapped to 403, Keycloak's brute-force detection): ``lock_after`` failed logins for one identifier,
    known or unknown, within ``window_seconds`` lock it -- right password included -- while that many failures stay
    in the window. The lock is answered ``lock_status`` {"error": ``lock_error``}, with Retry-After only when
    ``retry_after`` is set; a successful login clears the identifier's failures (``reset_on_success``). Attempts
    while locked are not counted. Counting unknown identifiers too, the lock reveals nothing about which exist."""

    lock_after = 6
    window_seconds = 300.0
    lock_status = 403
    lock_error = "USER_FORBIDDEN"
    retry_after = False
    reset_on_success = True

    def setup(self) -> None:
        self.lock_state = threading.Lock()
        self.failures: dict[str, list[float]] = {}

    def _recent(self, key: str, now: float) -> list[float]:
        recent = [t for t in self.failures.get(key, ()) if now - t < self.window_seconds]
        self.failures[key] = recent
        return recent

    def guarded_authenticate(self, login: LoginRequest) -> User:
        key = self.throttle_key(login)
        now = time.monotonic()
        if key is not None:
            with self.lock_state:
                recent = self._recent(key, now)
                locked_for = self.window_seconds - (now - recent[0]) if len(recent) >= self.lock_after else 0.0
            if locked_for > 0:
                headers = {"Retry-After": str(math.ceil(locked_for))} if self.retry_after else None
                raise Reject(self.error_response(self.lock_status, self.lock_error, headers=headers))
        try:
            user = self.authenticate(login)
        except Reject:
            if key is not None:
                with self.lock_state:
                    self._recent(key, now).append(now)
            raise
        if key is not None and self.reset_on_success:
            with self.lock_state:
                self.failures.pop(key, None)
        return user


# Two more lockout policies, for the self-tests of the suite's pauses and lock book (tests/test_lock_pauses.py, which
# serves them with start_reference_server(service=...)). Not registered as stack variants: without --lockout-policy
# the suite leaves blocked whatever their locks keep it from observing, and which checks those are depends on the
# order requests in flight were answered in, so no verdicts can be pinned for them (tests/stack_expectations.yaml).


class LockoutSliding(Lockout):
    """10 failed logins for one identifier within a sliding window lock it, right password included: 429
    {"error": "TOO_MANY_FAILED_ATTEMPTS"} with a truthful Retry-After. Neither a success nor the end of the lock
    resets the count: the failures still in the window count on, so the first failure after the lock locks again.
    An attempt while locked does not extend the lock. (Real deployments: 10 in 120 s. The bundled one counts over a
    minute, so the lock does not depend on the machine's speed, and locks for 2 s; self-tests that need a window of
    seconds set one: :meth:`Lockout.configure`.)"""

    lock_after = 10
    lock_window_seconds = 60.0
    lock_seconds = 2.0

    def guarded_authenticate(self, login: LoginRequest) -> User:
        key = self.throttle_key(login)
        now = time.monotonic()
        with self.lock_state:
            remaining = self.locked_until.get(key, 0.0) - now if key is not None else 0.0
        if remaining > 0:
            raise Reject(self.lock_answer(remaining))
        try:
            return self.authenticate(login)
        except Reject:
            self.count_failure(key, now)
            raise

    def lock_answer(self, remaining: float):
        return self.error_response(429, "TOO_MANY_FAILED_ATTEMPTS", "too many failed logins, try again later",
                                   headers={"Retry-After": str(math.ceil(remaining))})

    def count_failure(self, key: str | None, now: float) -> None:
        if key is None:
            return
        with self.lock_state:
            recent = [t for t in self.failures.get(key, ()) if now - t < self.lock_window_seconds] + [now]
            self.failures[key] = recent  # kept through the lock
            if len(recent) >= self.lock_after:
                self.locked_until[key] = now + self.lock_seconds


class LockoutForbidden(Lockout):
    """Any identifier, known or not: 6 failed logins within the window lock it, and every login naming it, right
    password included, is answered 403 {"error": "USER_FORBIDDEN"} (the vendor's own word for a refused account),
    with no Retry-After, until the lock ends; an attempt while locked starts it again. (Real deployments: 6 in 5
    minutes; the bundled one counts over a minute and locks for one; self-tests that need a window of seconds set
    one: :meth:`Lockout.configure`.)"""

    lock_after = 6
    lock_window_seconds = 60.0
    lock_seconds = 60.0

    def lock_answer(self, remaining: float):
        return self.error_response(403, "USER_FORBIDDEN")
