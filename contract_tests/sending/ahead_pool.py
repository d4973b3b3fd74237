"""The threads that send requests ahead of their tests, in plan order, except what a test is waiting for now.

A plan holds a few hundred requests; sent in order, a request the running test needs (its answer was planned late,
or a fixture's requests sent together) would wait behind all of those queued before it. :meth:`AheadPool.hurry`
moves a queued request to the front, and :meth:`AheadPool.submit` with ``urgent`` puts it there; everything else
goes in the order it was planned. A job submitted with a ``turn`` goes only once that turn is opened
(:meth:`AheadPool.open_turn`); until then it is parked, holding no thread. (``concurrent.futures.ThreadPoolExecutor``
has one FIFO queue and no way to reorder it.)
"""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import Future
from typing import Any, Callable


class _Job:
    __slots__ = ("future", "fn", "args", "turn")

    def __init__(self, fn: Callable[..., Any], args: tuple, turn: str | None = None) -> None:
        self.future: Future = Future()
        self.fn = fn
        self.args = args
        self.turn = turn  # it waits (parked, holding no thread) until this turn is opened (None: it goes in order)


class AheadPool:
    def __init__(self, workers: int, name: str) -> None:
        self._workers = max(1, workers)
        self._name = name
        self._cond = threading.Condition()
        self._urgent: deque[_Job] = deque()
        self._planned: deque[_Job] = deque()
        self._jobs: dict[Future, _Job] = {}  # the jobs still queued
        self._parked: dict[str, list[_Job]] = {}  # jobs whose turn is not open yet, by turn, in plan order
        self._open: set[str] = set()  # the turns opened so far
        self._threads: list[threading.Thread] = []
        self._closed = False

    def submit(self, fn: Callable[..., Any], *args: Any, urgent: bool = False, turn: str | None = None) -> Future:
        """*turn*: the job goes only once :meth:`open_turn` has opened it (until then it holds no thread)."""
        job = _Job(fn, args, turn)
        with self._cond:
            if self._closed:
                raise RuntimeError("the pool is shut down")
            (self._urgent if urgent else self._planned).append(job)
            self._jobs[job.future] = job
            if len(self._threads) < self._workers:
                thread = threading.Thread(target=self._work, name=f"{self._name}_{len(self._threads)}", daemon=True)
                self._threads.append(thread)
                thread.start()
            self._cond.notify()
        return job.future

    def hurry(self, future: Future) -> None:
        """The caller waits for *future* now: if its request is still queued, it goes next (its turn opened)."""
        with self._cond:
            job = self._jobs.get(future)
            if job is None or job in self._urgent:
                return
            if job.turn is not None and job.turn not in self._open:
                self._open_turn(job.turn)
            if job in self._urgent:
                return
            if job in self._planned:
                self._planned.remove(job)
            self._urgent.appendleft(job)
            self._cond.notify()

    def open_turn(self, turn: str) -> None:
        """The jobs of *turn* may go now: those parked go first, in their order; those submitted later go in order."""
        with self._cond:
            self._open_turn(turn)

    def _open_turn(self, turn: str) -> None:
        self._open.add(turn)
        parked = [job for job in self._parked.pop(turn, ()) if job.future in self._jobs]
        self._urgent.extendleft(reversed(parked))
        self._cond.notify_all()

    def shutdown(self, *, grace: float | None = None) -> None:
        """Cancel what is queued and wait for the requests in flight: at most *grace* seconds in all (None: as long
        as they take). A thread still busy then is left behind (a daemon: it ends with the process)."""
        with self._cond:
            self._closed = True
            for job in (*self._urgent, *self._planned):
                job.future.cancel()
            self._urgent.clear()
            self._planned.clear()
            self._jobs.clear()
            for parked in self._parked.values():
                for job in parked:
                    job.future.cancel()
            self._parked.clear()
            self._cond.notify_all()
        deadline = None if grace is None else time.monotonic() + grace
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def _work(self) -> None:
        while True:
            with self._cond:
                while not (self._urgent or self._planned or self._closed):
                    self._cond.wait()
                if not (self._urgent or self._planned):
                    return
                job = (self._urgent or self._planned).popleft()
                if job.turn is not None and job.turn not in self._open:
                    self._parked.setdefault(job.turn, []).append(job)  # until its turn: holding no thread
                    continue
                del self._jobs[job.future]
            if not job.future.set_running_or_notify_cancel():
                continue  # cancelled while queued (its test did not ask for it)
            try:
                result = job.fn(*job.args)
            except BaseException as exc:  # noqa: BLE001 - handed to whoever waits for the future
                job.future.set_exception(exc)
            else:
                job.future.set_result(result)
