"""The run's order for the requests naming the configured account, across the processes of one run.

A lockout policy that holds the account for the rest of the run (no Retry-After, a count that outlives the lock)
blocks every check whose request naming the account comes after the lock; which checks those are must not depend on
how the run was spread. In one process the checks run one after another (the requests sent ahead for a check wait
for its turn: ahead.py), so the account's requests reach the target in the run's order. Under pytest-xdist two
workers run checks at the same time: a request naming the account from the check at position *i* of the run's order
(the same in every worker: the suite sorts its items, conftest.py) goes once every check before *i* has finished,
whichever worker ran it. Every worker runs its checks in ascending order, so the earliest unfinished check never
waits and no worker waits for ever; a worker that died or a run stopped early stops the checks from finishing:
after *stalled_after* seconds without progress the request goes all the same.
"""

from __future__ import annotations

import time

FINISHED = "finished_checks"  # in the shared tally: the positions of the checks finished, whichever worker ran them
POLL_SECONDS = 0.02


class RunOrder:
    def __init__(self) -> None:
        self.shared = None  # the run's shared tally under xdist (shared_tally.py); None: one process, nothing to do
        self.position: int | None = None  # the running check's position in the run's order (None: no check runs)

    def finished(self, position: int) -> None:
        """The check at *position* has finished (its teardown done)."""
        if self.shared is not None:
            self.shared.transact(lambda data: _add(data.setdefault(FINISHED, []), position))

    def wait_for_turn(self, *, stalled_after: float, deadline: float | None = None) -> bool:
        """Wait until every check before the running one has finished; False when that stopped progressing for
        *stalled_after* seconds or *deadline* (``time.monotonic()``) passed (the request goes all the same)."""
        position = self.position
        if self.shared is None or position is None:
            return True
        seen, since = -1, time.monotonic()
        while True:
            done = self.shared.transact(lambda data: len([p for p in data.get(FINISHED, ()) if p < position]))
            if done >= position:
                return True
            now = time.monotonic()
            if done != seen:
                seen, since = done, now
            if now - since > stalled_after or (deadline is not None and now >= deadline):
                return False
            time.sleep(POLL_SECONDS)


def _add(positions: list, position: int) -> None:
    if position not in positions:
        positions.append(position)
