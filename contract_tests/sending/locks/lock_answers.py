"""A lock answer met by a request the lock book let through: the identifier locked until when, what the lock teaches
(the policy learned from its first lock), and that the request's retry is the one request of the next lock period."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..pause import with_margin
from .identifiers import IdentifierState
from .learning import learn_from_lock
from .policy import LockoutPolicy

if TYPE_CHECKING:
    from .book import _Ticket


def lock_met(state: IdentifierState, ticket: "_Ticket", policy: LockoutPolicy | None, shared: Any,
             retry_after: float | None, received_at: float) -> None:
    """*ticket*'s request was answered with a lock (under the book's mutex, the shared locks merged first)."""
    key = ticket.key
    assert key is not None
    state.locks += 1
    # on the wire when another lock answer on it came (here, or to another xdist worker)
    same_lock = ticket.locks_before < state.locks + state.met_elsewhere - 1
    if not same_lock and policy is None:
        learn_from_lock(state, key, shared, received_at, retry_after)
    if retry_after is not None:
        end = received_at + with_margin(retry_after)
    elif policy is not None:
        end = received_at + with_margin(policy.window)  # no Retry-After: a lock lasts the declared window
    else:
        end = math.inf
    state.locked_until = max(state.locked_until or 0.0, end)
    state.after_lock = True
    if shared is not None:
        shared.raise_to(f"locked_until {key}", state.locked_until)
        if not ticket.claimed:  # its retry is the one request of the next lock period, for the whole run
            ticket.claimed = shared.claim(f"probe {key}")
    if not ticket.retrying:  # its retry goes before the requests naming it that come later: they wait for it
        state.retrying += 1
        ticket.retrying = True
