"""What the xdist workers of one run share: the run's counters, the pause, the locks and the account gate's state.

One small JSON file (the controller creates it, every worker opens it) read and changed under a cross-process file lock
(the ``filelock`` library: flock on POSIX, msvcrt locking on Windows) next to it, ``<file>.lock``. Every change is a
read-modify-write under that lock, so the budgets and the gate's counts are exact across processes; reads take the lock
too, so nobody reads a file half written. Deadlines (the pause, a lock's end) are on ``time.monotonic()``, which the
processes of one machine share.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any, Callable


class SharedTally:
    """Counters and small records shared by the xdist workers of one run (a JSON file under a file lock)."""

    def __init__(self, path: str) -> None:
        from filelock import FileLock  # (only xdist workers share a tally: not loaded at every start)

        self.path = path
        self._file_lock = FileLock(path + ".lock", thread_local=False, poll_interval=0.002)
        self._threads = threading.Lock()  # the threads of this process one at a time (the file lock is per process)

    # -- counters ---------------------------------------------------------------------------------------------------
    def take(self, name: str, limit: int) -> bool:
        """Count one more *name* unless *limit* is reached; atomic across processes."""
        return self._update(name, lambda n: n + 1 if n < limit else None)

    def give_back(self, name: str) -> None:
        """Undo one :meth:`take` of *name* (a unit held for a failed login that did not happen)."""
        self._update(name, lambda n: max(0, n - 1))

    def add(self, name: str) -> None:
        """Count one more *name*, without a limit."""
        self._update(name, lambda n: n + 1)

    def raise_to(self, name: str, value: float) -> None:
        """*name* becomes *value* unless it is already higher (a deadline on the machine's monotonic clock, which
        every process of the run shares)."""
        self._update(name, lambda n: value if value > n else None)

    def read(self, name: str) -> float:
        """The value of *name* (0 when never set), without counting anything."""
        return float(self.transact(lambda data: data.get(name, 0)))

    def count(self, name: str) -> int:
        return int(self.read(name))

    def wait_for(self, name: str, at_least: int, *, stalled_after: float, deadline: float | None = None,
                 poll: float = 0.05) -> bool:
        """Wait until *name* reaches *at_least* (the other processes count it); give up when it has not grown for
        *stalled_after* seconds or at *deadline* (``time.monotonic()``). Returns whether it was reached."""
        seen, since = -1, time.monotonic()
        while True:
            now = time.monotonic()
            value = self.count(name)
            if value >= at_least:
                return True
            if value != seen:
                seen, since = value, now
            if now - since > stalled_after or (deadline is not None and now >= deadline):
                return False
            time.sleep(poll)

    # -- one process at a time ------------------------------------------------------------------------------------
    def claim(self, name: str) -> bool:
        """Make this process the holder of *name* unless another live process holds it; whether it holds it now."""
        me = str(os.getpid())

        def apply(data: dict) -> bool:
            holder = data.get(name)
            if holder and holder != me and process_alive(holder):
                return False
            data[name] = me
            return True

        return self.transact(apply)

    def release(self, name: str) -> None:
        """This process no longer holds *name* (see :meth:`claim`)."""
        me = str(os.getpid())
        self.transact(lambda data: data.pop(name) if data.get(name) == me else None)

    # -- any record -------------------------------------------------------------------------------------------------
    def transact(self, change: Callable[[dict], Any]) -> Any:
        """Call *change(data)* on the whole shared record under the lock, then store *data* if it changed; returns
        what *change* returned. *change* must be quick: every worker waits for it."""
        with self._threads, self._file_lock:
            try:
                with open(self.path, encoding="utf-8") as fh:
                    text = fh.read()
            except FileNotFoundError:
                text = ""
            data = json.loads(text or "{}")
            before = json.dumps(data, sort_keys=True)
            result = change(data)
            after = json.dumps(data, sort_keys=True)
            if after != before:
                with open(self.path, "w", encoding="utf-8") as fh:
                    fh.write(after)
            return result

    def _update(self, name: str, change: Callable[[float], float | None]) -> bool:
        """Replace *name*'s value by *change(value)* (None: leave it); whether it changed."""

        def apply(data: dict) -> bool:
            new = change(data.get(name, 0))
            if new is None:
                return False
            data[name] = new
            return True

        return self.transact(apply)


def process_alive(pid: str) -> bool:
    """Whether the process *pid* still runs (POSIX; elsewhere assumed: signal 0 would end it on Windows)."""
    if sys.platform == "win32":
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError, OverflowError):
        return True
    return True
