"""A request the lock book keeps from the target, and why, in words a report can show."""

from __future__ import annotations

import math

from .identifiers import ACCOUNT_KEY, IdentifierState
from .policy import LockoutPolicy


class Held(Exception):
    """The book keeps this request from the target (the identifier is locked, or one more failure would lock it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def why_held(key: str, state: IdentifierState, policy: LockoutPolicy | None, counted: int, until: float,
             now: float) -> str:
    """Why a request naming *key* is not sent: locked until *until*, or one more failed login would lock it under
    *policy* (*counted*: the failed logins on it the policy counts now)."""
    who = "the configured account" if key == ACCOUNT_KEY else "this identifier"
    if state.locked_until is not None and now < state.locked_until:
        when = ("for the rest of the run (its lock answer gave no Retry-After; --lockout-policy tells the suite "
                "how long a lock lasts)" if until == math.inf else f"for about {until - now:.0f} s more")
        return (f"{who} is locked out by the target {when}; nothing is sent to it meanwhile, so as not to extend "
                "the lock (raise --max-retry-wait to wait it out)")
    assert policy is not None
    if not policy.declared and state.outlived == (0, 0):  # a stand-in's count, from its predecessor's lock
        return (f"one more failed login would lock {who}: the identifier it stands in for was locked after "
                f"{policy.failures} failed login(s) (no fresh identifier could take its place)")
    spread = ("" if until == math.inf else
              f"; the oldest leaves the window in {until - now:.0f} s (raise --max-retry-wait to wait for it)")
    if not policy.declared:
        again, first = state.outlived
        outlived = (f"its lock came back after {again} failed login(s), its first after {first}, so the target's "
                    "count outlived the lock")
        if policy.window == math.inf:
            return (f"one more failed login would lock {who} again: {outlived}; no failed login is sent to it any "
                    "more (--lockout-policy lets the suite spread them)")
        return (f"one more failed login would lock {who} again: {outlived} ({policy.describe()}; {counted} "
                f"answered and {state.pending} in flight{spread}); not sent")
    return (f"one more failed login would lock {who} ({policy.describe()}; {counted} answered and "
            f"{state.pending} in flight{spread}); not sent")
