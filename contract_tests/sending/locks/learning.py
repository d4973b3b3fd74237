"""What the lock book learns from locks when no policy is declared: its own (the count that locks an identifier,
whether that count outlived the lock, and then its window), and under pytest-xdist the other workers' (a lock one
of them met, what it learned)."""

from __future__ import annotations

import math
from typing import Any

from .identifiers import IdentifierState, keep_newest
from .policy import MIN_LEARNED_WINDOW, LockoutPolicy


def learn_from_lock(state: IdentifierState, key: str, shared: Any, received_at: float,
                    retry_after: float | None) -> None:
    """A new lock on *key* (not another answer of one already met), no policy declared: the failed logins before
    its first lock are the count that locks it; a later lock after far fewer shows the count outlived the lock,
    held for the run (no Retry-After) or spread under a learned window. The lock is assumed to spend the count."""
    # the credential failures (requests meant to fail to log in) since the last lock ended: what a policy counts for
    # sure (whether it counts validation refusals too is not known); under xdist, the run's
    since = 0 if state.after_lock else _since_lock("credential_failures", key, state, shared)
    refused = 0 if state.after_lock else _since_lock("refusals", key, state, shared)
    learned = state.learned if state.outlived != (0, 0) else None  # (not a stand-in's, from its predecessor)
    if learned is not None and learned.window < math.inf:  # locked again under the window it learned: the window is
        _learn_window(key, state, shared, received_at, longer_than=learned.window)  # longer
    elif learned is not None:
        pass  # no failed login is sent to it any more already
    elif state.locked_after is None:
        state.locked_after = since or None  # (locked at its first request: locked before the run)
        if shared is not None and since:  # (a stand-in for it learns from it: stand_in_map.inherited)
            shared.raise_to(f"locked after {key}", since)
    elif 2 * max(since, refused) < state.locked_after:  # again after far fewer: the count outlived the lock
        state.outlived = (max(since, refused), state.locked_after)
        if retry_after is None:  # held for the run anyway: no failed login on it any more
            state.learned = LockoutPolicy(1, math.inf, declared=False)
        else:  # a lock the suite can wait out: the failed logins go on, spread under a window it learns
            _learn_window(key, state, shared, received_at, longer_than=0.0)
    if shared is not None and state.outlived != (0, 0) and state.learned is not None:
        known = [state.learned.failures, state.learned.window, *state.outlived]  # the other xdist workers too
        shared.transact(lambda data: _keep_longest(data, f"outlived {key}", known))
    state.failures.clear()  # assumed spent by the lock, until a lock that comes sooner says otherwise
    state.answered_failures = state.credential_failures = 0


def merge_shared(shared: Any, key: str, state: IdentifierState, now: float) -> None:
    """Under xdist: a lock another worker met on *key* holds it here too (its end on the shared monotonic clock), and
    so does what it learned from it (a count that outlived the lock)."""
    if shared is None:
        return
    outlived = shared.transact(lambda data: data.get(f"outlived {key}"))
    if outlived:
        failures, window, again, first = outlived
        learned = LockoutPolicy(int(failures), float(window), declared=False)
        mine = state.learned
        if mine is None or state.outlived == (0, 0) or (mine.window < math.inf and learned.window > mine.window):
            state.learned = learned
            state.outlived = (int(again), int(first))
    until = shared.read(f"locked_until {key}")
    if until > (state.locked_until or 0.0) and until > now:
        state.locked_until = until
        state.after_lock = True
        state.met_elsewhere += 1


def _learn_window(key: str, state: IdentifierState, shared: Any, now: float, *, longer_than: float) -> None:
    """The count on *key* outlived a lock that ends (a sliding window neither the lock nor a success resets): the
    failed logins that locked it first (a lower bound of the policy's count, N) lock it within a window to learn.
    The newest N failed logins answered are all still counted (the policy counted at least N, and counts no more
    than every failed login naming it), so the window is longer than their span; it is assumed twice that, and twice
    *longer_than* (the window learned before, which a lock under it showed too short), so the failed logins spread
    under it (N - 1 within the window) lock it again at most a few times in a run."""
    failures = state.locked_after or 1
    times = sorted(state.history if shared is None else
                   shared.transact(lambda data: list(data.get(f"refusal_times {key}", ()))))
    span = now - times[-failures] if len(times) >= failures else now - times[0] if times else 0.0
    state.learned = LockoutPolicy(failures, max(2 * span, 2 * longer_than, MIN_LEARNED_WINDOW), declared=False)


def _since_lock(counter: str, key: str, state: IdentifierState, shared: Any) -> int:
    """The *counter* ("credential_failures", or "refusals": every failed login) on *key* answered since its last lock:
    this process's, or under xdist every worker's (counted in the shared tally; this lock is the new mark)."""
    if shared is None:
        return state.credential_failures if counter == "credential_failures" else state.answered_failures
    total = shared.read(f"{counter} {key}")
    since = total - shared.read(f"{counter} at lock {key}")
    shared.raise_to(f"{counter} at lock {key}", total)
    return int(since)


def _keep_longest(data: dict, name: str, learned: list) -> None:
    """*learned* ([failures, window, again, first]) in *data* unless a longer window is there already."""
    if data.get(name) is None or float(data[name][1]) < float(learned[1]):
        data[name] = learned



def record_failure(state: IdentifierState, key: str, shared: Any, received_at: float, *, credential: bool,
                   error: object) -> None:
    """A failed login on *key* answered (not a lock): what a count, a window and the next lock are judged by; under
    xdist the whole run's too."""
    state.failures.append(received_at)
    state.history.append(received_at)
    state.answered_failures += 1
    state.credential_failures += credential
    if shared is not None:  # the whole run's, for learn_from_lock (and a window: admission.counted)
        shared.add(f"refusals {key}")
        shared.transact(lambda data: keep_newest(data.setdefault(f"refusal_times {key}", []), received_at))
        if credential:
            shared.add(f"credential_failures {key}")
    state.refusals.add(error if isinstance(error, str) else None)
