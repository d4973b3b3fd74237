"""Lockout policies: failed logins counted per identifier -- known or unknown, so a lock reveals nothing about which
accounts exist -- lock it, the right password included. One class, :class:`LockoutPolicy`, with the parameters real
policies differ in; the named policies below (and the benign knobs in knobs/policies.py) only set them.

`lockout` (a stack variant): the conforming reference plus a common account-lockout policy: a handful of failed
logins for one identifier within a few minutes lock it for a short while (423 ACCOUNT_LOCKED with a truthful
Retry-After). A successful login does not reset the count (django-axes' AXES_RESET_ON_SUCCESS = False, the default),
so interleaving successes does not avoid the lock, and an attempt while locked starts the lock again, so a client that
honours Retry-After gets in and one that keeps trying stays out (which also keeps the suite's verdicts independent of
machine speed)."""

from __future__ import annotations

import math
import threading
import time

from ..service import LoginRequest, LoginService, Reject, User
from . import stack


class LockoutPolicy(LoginService):
    """``lock_after`` failed logins for one identifier within ``window_seconds`` lock it.

    ``lock_seconds``: how long a lock lasts; None: locked while ``lock_after`` failures stay in the window (attempts
    while locked are then not counted). ``restart_while_locked``: an attempt while locked starts the lock again.
    ``fresh_count_after_lock``: a lock clears the identifier's failures (else they count on: the first failure after
    the lock locks again). ``reset_on_success``: a successful login clears them. The lock is answered
    ``lock_status`` {"error": ``lock_error``, "detail": ``lock_detail``}, with a truthful Retry-After when
    ``retry_after``."""

    lock_after = 5
    window_seconds = 300.0
    lock_seconds: float | None = 2.0
    restart_while_locked = True
    fresh_count_after_lock = True
    reset_on_success = False
    lock_status, lock_error, lock_detail, retry_after = 423, "ACCOUNT_LOCKED", None, True

    def setup(self) -> None:
        self.lock_state = threading.Lock()
        self.failures: dict[str, list[float]] = {}
        self.locked_until: dict[str, float] = {}

    def configure(self, *, lock_after: int | None = None, window: float | None = None,
                  lock_seconds: float | None = None) -> "LockoutPolicy":
        """The policy's parameters for one server (self-tests keep windows of seconds); returns the service."""
        if lock_after is not None:
            self.lock_after = lock_after
        if window is not None:
            self.window_seconds = window
        if lock_seconds is not None:
            self.lock_seconds = lock_seconds
        return self

    def guarded_authenticate(self, login: LoginRequest) -> User:
        key = self.throttle_key(login)
        now = time.monotonic()
        remaining = 0.0
        if key is not None:
            with self.lock_state:
                remaining = self._remaining(key, now)
                if remaining > 0 and self.restart_while_locked and self.lock_seconds is not None:
                    self.locked_until[key] = now + self.lock_seconds
                    remaining = self.lock_seconds
        if remaining > 0:
            raise Reject(self.lock_answer(remaining))
        try:
            user = self.authenticate(login)
        except Reject:
            if key is not None:
                self._count_failure(key, now)
            raise
        if self.reset_on_success and key is not None:
            with self.lock_state:
                self.failures.pop(key, None)
        return user

    def lock_answer(self, remaining: float):
        """What a login naming a locked identifier gets (*remaining*: seconds the lock lasts from now)."""
        headers = {"Retry-After": str(math.ceil(remaining))} if self.retry_after else None
        return self.error_response(self.lock_status, self.lock_error, self.lock_detail, headers=headers)

    def _recent(self, key: str, now: float) -> list[float]:
        recent = [t for t in self.failures.get(key, ()) if now - t < self.window_seconds]
        self.failures[key] = recent
        return recent

    def _remaining(self, key: str, now: float) -> float:
        if self.lock_seconds is None:
            recent = self._recent(key, now)
            return self.window_seconds - (now - recent[0]) if len(recent) >= self.lock_after else 0.0
        return self.locked_until.get(key, 0.0) - now

    def _count_failure(self, key: str, now: float) -> None:
        with self.lock_state:
            recent = self._recent(key, now)
            recent.append(now)
            if self.lock_seconds is not None and len(recent) >= self.lock_after:
                self.locked_until[key] = now + self.lock_seconds
                if self.fresh_count_after_lock:
                    self.failures[key] = []


@stack("lockout")
class Lockout(LockoutPolicy):
    lock_after = 5  # failed logins for one identifier ...
    window_seconds = 300.0  # ... within 5 minutes ...
    lock_seconds = 2.0  # ... lock it this long (short, so self-tests stay fast)
    lock_detail = "too many failed logins, try again later"


class IdentifierLock(LockoutPolicy):
    """A lockout policy that speaks its own vocabulary (Laravel's ThrottlesLogins, Spring Security's
    LockedException mapped to 403, Keycloak's brute-force detection): locked while 6 failures stay in 5 minutes,
    403 {"error": "USER_FORBIDDEN"} without Retry-After; a successful login clears the identifier's failures."""

    lock_after = 6
    window_seconds = 300.0
    lock_seconds = None
    reset_on_success = True
    lock_status, lock_error, retry_after = 403, "USER_FORBIDDEN", False


# Two more lockout policies, for the self-tests of the suite's pauses and lock book (tests/test_lock_pauses.py, which
# serves them with start_reference_server(service=...)). Not registered as stack variants: without --lockout-policy
# the suite leaves blocked whatever their locks keep it from observing, and which checks those are depends on the
# order requests in flight were answered in, so no verdicts can be pinned for them (tests/stack_expectations.yaml).


class LockoutSliding(LockoutPolicy):
    """10 failed logins for one identifier within a sliding window lock it, right password included: 429
    {"error": "TOO_MANY_FAILED_ATTEMPTS"} with a truthful Retry-After. Neither a success nor the end of the lock
    resets the count: the failures still in the window count on, so the first failure after the lock locks again.
    An attempt while locked does not extend the lock. (Real deployments: 10 in 120 s. The bundled one counts over a
    minute, so the lock does not depend on the machine's speed, and locks for 2 s; self-tests that need a window of
    seconds set one: :meth:`LockoutPolicy.configure`.)"""

    lock_after = 10
    window_seconds = 60.0
    lock_seconds = 2.0
    restart_while_locked = False
    fresh_count_after_lock = False
    lock_status, lock_error, lock_detail = 429, "TOO_MANY_FAILED_ATTEMPTS", "too many failed logins, try again later"


class LockoutForbidden(LockoutPolicy):
    """Any identifier, known or not: 6 failed logins within the window lock it, and every login naming it, right
    password included, is answered 403 {"error": "USER_FORBIDDEN"} (the vendor's own word for a refused account),
    with no Retry-After, until the lock ends; an attempt while locked starts it again. (Real deployments: 6 in 5
    minutes; the bundled one counts over a minute and locks for one; self-tests that need a window of seconds set
    one: :meth:`LockoutPolicy.configure`.)"""

    lock_after = 6
    window_seconds = 60.0
    lock_seconds = 60.0
    lock_status, lock_error, retry_after = 403, "USER_FORBIDDEN", False
