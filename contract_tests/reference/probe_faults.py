"""Faults and variants of the opt-in probes: brute-force throttling, timing, captcha.

Registered with the same decorators as ``faults/`` / ``variants.py`` (``registry.py`` imports this module);
their catalog entries are at the end of ``faults.yaml`` / ``variants.yaml``.  Like every fault, each class
overrides exactly one ``LoginService`` method (class attributes such as a hashing cost are settings, not
behaviour).

The three throttling faults break the reference server's brute-force throttle, so they only show where that throttle
is on: the suite's ``--probe=throttling`` switches it on in the bundled server right before it probes (a default run
against these faults is as green as against the reference itself).
"""

from __future__ import annotations

import math

from starlette.requests import Request
from starlette.responses import Response

from .faults import fault
from .guards import RequestRate
from .service import LoginRequest, LoginService, Reject, User
from .variants import variant


@fault("throttle-bypass-right-password")
class ThrottleBypassRightPassword(LoginService):
    def guarded_authenticate(self, login: LoginRequest) -> User:
        key = self.throttle_key(login)
        try:
            return self.authenticate(login)  # "a user who knows the password is never locked out"
        except Reject:
            remaining = self.throttle.locked_for(key)
            if remaining > 0:
                raise Reject(self.error_response(429, "RATE_LIMITED", headers={"Retry-After": "30"})) from None
            if self.throttle_after is not None:
                self.throttle.failure(key, self.throttle_after, self.throttle_lockout_seconds)
            raise


@fault("throttle-known-accounts-only")
class ThrottleKnownAccountsOnly(LoginService):
    def throttle_key(self, login: LoginRequest) -> str | None:
        key = self.account_key(login)
        user = self.find_user(key) if key is not None else None
        return user.email.lower() if user else None  # failed_attempts lives on the users row


@fault("throttle-request-rate-only")
class ThrottleRequestRateOnly(LoginService):
    # "rate limiting is done at the edge": 50 requests per address, then 429 for 2 s -- no per-account count
    request_rate_burst = 50
    request_rate_cooldown = 2.0

    def guarded_authenticate(self, login: LoginRequest) -> User:
        if self.throttle_after is None:
            return self.authenticate(login)
        limiter = self.__dict__.setdefault("request_rate", RequestRate(self.request_rate_burst,
                                                                        self.request_rate_cooldown))
        refused = limiter.refused_for()
        if refused > 0:
            raise Reject(self.error_response(429, "RATE_LIMITED", headers={"Retry-After": str(math.ceil(refused))}))
        return self.authenticate(login)


@fault("timing-leak-unknown-account")
class TimingLeakUnknownAccount(LoginService):
    # A realistic argon2 cost (about 30-100 ms per verification, depending on the machine).
    hash_time_cost = 2
    hash_memory_cost = 32 * 1024

    def authenticate(self, login: LoginRequest) -> User:
        key = self.account_key(login)
        user = self.find_user(key) if key is not None else None
        # "no such user: nothing to verify" -- unknown accounts never reach argon2, so they answer faster
        if user is None or not self.verify_password(user.password_hash, login.password):
            raise Reject(self.credential_failure(login, user))
        return user


@fault("captcha-after-password")
class CaptchaAfterPassword(LoginService):
    captcha_required = True

    async def login(self, request: Request) -> Response:
        self.check_content_type(request)
        data = await self.request_data(request)
        login = self.validate(data)
        user = self.guarded_authenticate(login)
        self.check_captcha(request, login)  # "only bother people with a captcha once their password is right"
        return self.success(request, user, login)


@fault("captcha-token-reuse")
class CaptchaTokenReuse(LoginService):
    captcha_required = True

    def verify_captcha(self, token: str) -> bool:
        return self.captcha.signed(token)  # checked offline to save the siteverify round trip: never spent


@variant("captcha-turnstile")
class CaptchaTurnstile(LoginService):
    """Every login needs a Turnstile-like token in `cf-turnstile-response`, checked before the credentials."""

    captcha_required = True
