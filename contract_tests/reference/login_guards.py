"""The LoginGuards part of LoginService: the opt-in brute-force throttle and captcha in front of authenticate()
(their state: guards.py)."""

from __future__ import annotations

import functools
import math

from starlette.requests import Request

from .answers import Reject
from .guards import CaptchaVerifier, Throttle
from .records import LoginRequest, User


class LoginGuards:
    """authenticate() behind the throttle, the captcha checked before any credential (both off by default)."""

    # Off by default so the suite's own runs stay fast and lock nothing. `throttle_after` switches brute-force
    # throttling on (the suite's --probe=throttling does so on the bundled server right before it probes);
    # `captcha_required` switches a Turnstile-like captcha on (the `captcha-turnstile` variant). State: guards.py.
    throttle_after: int | None = None  # consecutive failed logins per account key (known or not) that lock it
    throttle_lockout_seconds = 30.0
    captcha_required = False
    captcha_header = "cf-turnstile-response"

    @functools.cached_property
    def throttle(self) -> Throttle:
        return Throttle()

    @functools.cached_property
    def captcha(self) -> CaptchaVerifier:
        return CaptchaVerifier()

    def guarded_authenticate(self, login: LoginRequest) -> User:
        """authenticate() behind the brute-force throttle: a locked account key gets 429, whatever the password."""
        if self.throttle_after is None:
            return self.authenticate(login)
        key = self.throttle_key(login)
        remaining = self.throttle.locked_for(key)
        if remaining > 0:
            raise Reject(self.error_response(429, "RATE_LIMITED", headers={"Retry-After": str(math.ceil(remaining))}))
        try:
            user = self.authenticate(login)
        except Reject:
            self.throttle.failure(key, self.throttle_after, self.throttle_lockout_seconds)
            raise
        self.throttle.success(key)
        return user

    def throttle_key(self, login: LoginRequest) -> str | None:
        """Failures are counted per account key, existing or not (else the throttle reveals which accounts exist)."""
        key = self.account_key(login)
        return key.lower() if key is not None else None

    def check_captcha(self, request: Request, login: LoginRequest) -> None:
        """Before any credential is looked at: no token, or one that does not verify, is refused."""
        if not self.captcha_required:
            return
        token = request.headers.get(self.captcha_header, "").strip()
        if not token:
            raise Reject(self.error_response(403, "CAPTCHA_REQUIRED"))
        if not self.verify_captcha(token):
            raise Reject(self.error_response(403, "CAPTCHA_INVALID"))

    def verify_captcha(self, token: str) -> bool:
        return self.captcha.siteverify(token)


__all__ = ["LoginGuards"]
