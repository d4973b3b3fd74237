"""When a request naming an identifier may reach the target: not while it is locked, not while the one request of a
lock period is on the wire, and, for one that may fail to log in, not when it would be the failed login that locks
it under the policy (declared or learned)."""

from __future__ import annotations

import math
from typing import Any

from ..pause import with_margin
from .identifiers import IdentifierState
from .policy import LockoutPolicy

PROBE = object()  # wait for the answer of a request on the wire that decides


def blocked_until(key: str, state: IdentifierState, policy: LockoutPolicy | None, shared: Any, *, may_fail: bool,
                  now: float, retry: bool = False) -> Any:
    """None: it may go now; PROBE: wait for an answer in flight; else the clock() it may go at (inf: never).
    *retry*: the retry of a request that met a lock, which counts the failures in flight as failed."""
    if state.locked_until is not None and now < state.locked_until:
        return state.locked_until
    if not retry and (state.probing or state.retrying):
        return PROBE
    if not may_fail or policy is None:
        return None
    times = counted(key, state, policy, shared, now)
    if len(times) + state.pending + 1 < policy.failures:
        return None
    if not retry and state.pending and len(times) + 1 < policy.failures:
        return PROBE  # the failures in flight decide: wait for their answers
    if policy.window == math.inf or not times:
        return math.inf
    return times[0] + with_margin(policy.window)


def counted(key: str, state: IdentifierState, policy: LockoutPolicy, shared: Any, now: float) -> list[float]:
    """The failed logins on *key* the *policy* counts now: within its window (under xdist every worker's, from the
    shared tally), or for a policy without one those since the last lock ended."""
    if policy.window == math.inf:
        return list(state.failures)
    times: Any = state.history
    if shared is not None:
        times = shared.transact(lambda data: list(data.get(f"refusal_times {key}", ())))
    return [t for t in times if t + with_margin(policy.window) > now]  # (as the end blocked_until gives)


def probe_elsewhere(shared: Any, state: IdentifierState, ticket: Any) -> bool:
    """Under xdist, after a lock: the one request naming the identifier on the wire is another worker's (*ticket*
    claims it otherwise: at most one request per lock period from the whole run; the retry of a request that met the
    lock claimed it then, unless another worker's request met it too)."""
    if shared is None or not state.after_lock or ticket.claimed:
        return False
    ticket.claimed = shared.claim(f"probe {ticket.key}")
    return not ticket.claimed
