"""The run's order for the requests naming the configured account, across the processes of one run.

A lockout policy that holds the account for the rest of the run (no Retry-After, a count that outlives the lock)
blocks every check whose request naming the account comes after the lock; which checks those are should not depend
on how the run was spread. In one process the checks run one after another (the requests sent ahead for a check wait
for its turn: ahead.py), so the account's requests reach the target in the run's order. Under pytest-xdist two
workers run checks at the same time: a request naming the account from the check at position *i* of the run's order
(the same in every worker: the suite sorts its items, conftest.py) waits while another worker is at an earlier
check.

Where each worker is (its *frontier*) is kept in the run's shared tally: the position of the check it runs, and once
that has finished, the position of the check it runs next (pytest-xdist hands a worker its next check before the
current one starts: it cannot be taken back, and the worker goes on to it without waiting for any check). A request
waits only for those: a check that is running, or one its worker goes on to at once -- never for a check still
queued, which may sit behind a check of a later position on its worker (``--dist=loadfile`` deals whole files as
workers free up, so a worker runs its checks out of the run's order) and that one may be waiting for us. Every wait
is for an earlier position, so no two checks wait for each other and the earliest frontier never waits. A check
still queued runs when its worker gets to it, perhaps after our request (where a worker's checks are out of the run's
order, no order can be kept without such a wait). A frontier of a process that is gone is ignored, and the wait is
bounded all the same: after *stalled_after* seconds without a frontier moving, or at the run's deadline, the request
goes.
"""

from __future__ import annotations

import asyncio
import os
import time

from .shared_tally import process_alive

FRONTIERS = "check_frontiers"  # in the shared tally: "<pid>:<worker>" -> the position of the check it runs or runs
# next
POLL_SECONDS = 0.02


class RunOrder:
    def __init__(self) -> None:
        self.shared = None  # the run's shared tally under xdist (shared_tally.py); None: one process, nothing to do
        self.position: int | None = None  # the running check's position in the run's order (None: no check runs)

    def running(self, position: int) -> None:
        """The check at *position* starts (its setup): this worker's frontier."""
        self.position = position
        self._publish(position)

    def finished(self, next_position: int | None) -> None:
        """The running check has finished (its teardown done); this worker goes on to the check at *next_position*
        (None: it has no next check, or does not know it yet)."""
        self.position = None
        self._publish(next_position)

    async def wait_for_turn(self, *, stalled_after: float, deadline: float | None = None) -> bool:
        """Wait while another live worker's frontier is before the running check; False when no frontier moved for
        *stalled_after* seconds or *deadline* (``time.monotonic()``) passed (the request goes all the same)."""
        position = self.position
        if self.shared is None or position is None:
            return True
        me = self._name()
        seen: list | None = None
        since = time.monotonic()
        while True:
            frontiers = self.shared.transact(lambda data: dict(data.get(FRONTIERS, {})))
            earlier = sorted((name, at) for name, at in frontiers.items()
                             if name != me and at is not None and at < position
                             and process_alive(name.partition(":")[0]))
            if not earlier:
                return True
            now = time.monotonic()
            if earlier != seen:
                seen, since = earlier, now
            if now - since > stalled_after or (deadline is not None and now >= deadline):
                return False
            await asyncio.sleep(POLL_SECONDS)  # (on the client's loop: the other requests go on meanwhile)

    def _publish(self, position: int | None) -> None:
        if self.shared is None:
            return
        me = self._name()

        def apply(data: dict) -> None:
            frontiers = data.setdefault(FRONTIERS, {})
            if position is None:
                frontiers.pop(me, None)
            else:
                frontiers[me] = position

        self.shared.transact(apply)

    def _name(self) -> str:
        return f"{os.getpid()}:{id(self)}"  # its process (gone: its frontier is ignored), and which order in it
