"""State of the reference server's opt-in deployment guards: brute-force throttling and a captcha.

Both are switched off in a default reference server (see ``LoginService.throttle_after`` and
``LoginService.captcha_required``): the suite's own runs must stay fast and must not lock anything.  The classes
here hold the per-instance state; the decisions (what is throttled, when the captcha is checked) are
``LoginService`` methods, so a fault can override exactly one of them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from typing import Callable

# The token Cloudflare Turnstile's test site keys hand out.  A captcha-enforcing reference server accepts it like
# a token its widget issued: once (the bundled run supplies it as LOGIN_CAPTCHA_TOKEN).
CAPTCHA_TEST_TOKEN = "XXXX.DUMMY.TOKEN.XXXX"


class Throttle:
    """Consecutive failed logins per account key (known and unknown accounts alike).

    ``limit`` failures in a row lock the key for ``lockout`` seconds after the latest one; a successful login
    clears the count.  ``None`` keys (no usable account key) are never throttled.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, int] = {}
        self._locked_until: dict[str, float] = {}

    def locked_for(self, key: str | None) -> float:
        """Seconds the key stays locked (0 when it is not)."""
        if key is None:
            return 0.0
        with self._lock:
            until = self._locked_until.get(key)
            if until is None:
                return 0.0
            remaining = until - self._clock()
            if remaining <= 0:
                del self._locked_until[key]
                self._failures.pop(key, None)
                return 0.0
            return remaining

    def failure(self, key: str | None, limit: int, lockout: float) -> None:
        if key is None:
            return
        with self._lock:
            count = self._failures.get(key, 0) + 1
            self._failures[key] = count
            if count >= limit:
                self._locked_until[key] = self._clock() + lockout

    def success(self, key: str | None) -> None:
        if key is None:
            return
        with self._lock:
            self._failures.pop(key, None)
            self._locked_until.pop(key, None)


class RequestRate:
    """A request-rate limiter for the whole address, as a reverse proxy or a rate-limit middleware keeps one: every
    ``burst`` requests open a ``cooldown`` during which every request is refused, whatever account it names.

    Counted in requests rather than per second, so the moment it refuses does not depend on the machine's speed."""

    def __init__(self, burst: int, cooldown: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.burst, self.cooldown, self._clock = burst, cooldown, clock
        self._lock = threading.Lock()
        self._count = 0
        self._refused_until = 0.0

    def refused_for(self) -> float:
        """Seconds this request is refused for (0: it passes, and counts)."""
        with self._lock:
            now = self._clock()
            if now < self._refused_until:
                return self._refused_until - now
            self._count += 1
            if self._count >= self.burst:
                self._count, self._refused_until = 0, now + self.cooldown
            return 0.0


class CaptchaVerifier:
    """A simulated Turnstile ``siteverify``: tokens are ``<nonce>.<hmac>`` signed by this server's widget (the test
    token counts as signed), and verifying a token spends it, so each token is good for one login attempt."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._spent: set[str] = set()

    def _signature(self, nonce: str) -> str:
        return hmac.new(self._key, nonce.encode(), hashlib.sha256).hexdigest()[:32]

    def issue(self) -> str:
        """A fresh token, as the widget would hand one to a browser that solved the challenge."""
        nonce = secrets.token_urlsafe(12)
        return f"{nonce}.{self._signature(nonce)}"

    def signed(self, token: str) -> bool:
        """The token was issued by this server's widget (says nothing about whether it was used before)."""
        if token == CAPTCHA_TEST_TOKEN:
            return True
        nonce, _, signature = token.rpartition(".")
        return bool(nonce) and hmac.compare_digest(signature, self._signature(nonce))

    def siteverify(self, token: str) -> bool:
        """True once per signed token; False for unsigned, malformed or already spent tokens."""
        if not self.signed(token):
            return False
        with self._lock:
            if token in self._spent:
                return False
            self._spent.add(token)
            return True
