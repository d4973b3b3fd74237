"""The requests sent ahead of their tests: tasks on the client's event loop, a few at a time, in plan order, except
what a test is waiting for now.

A plan holds a few hundred requests; sent in order, a request the running test needs (its answer was planned late,
or a fixture's requests sent together) would wait behind all of those queued before it. :meth:`AheadQueue.hurry`
moves a queued request to the front, and :meth:`AheadQueue.submit` with ``urgent`` puts it there; everything else
starts in the order it was planned, at most *width* at a time (a started request may wait at the account gate or a
lock, holding no slot in flight: the client's slots bound what is on the wire). A job submitted with a ``turn``
starts only once that turn is opened (:meth:`AheadQueue.open_turn`); until then it is parked.

The queue's state changes on the loop's thread only: pytest's main thread hands it each change
(``call_soon_threadsafe``, in the order made), and waits for a request's answer on its
:class:`concurrent.futures.Future`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from concurrent.futures import Future
from typing import Any, Awaitable, Callable

from .event_loop import EventLoop


class _Job:
    __slots__ = ("future", "start", "turn")

    def __init__(self, start: Callable[[], Awaitable[Any]], turn: str | None) -> None:
        self.future: Future = Future()
        self.start = start
        self.turn = turn  # it waits (parked) until this turn is opened (None: it goes in order)


class AheadQueue:
    def __init__(self, loop: EventLoop, width: int) -> None:
        self._loop = loop
        self._width = max(1, width)
        self._urgent: deque[_Job] = deque()
        self._planned: deque[_Job] = deque()
        self._jobs: dict[Future, _Job] = {}  # the jobs not started yet
        self._parked: dict[str, list[_Job]] = {}  # jobs whose turn is not open yet, by turn, in plan order
        self._open: set[str] = set()  # the turns opened so far
        self._tasks: dict[asyncio.Task, _Job] = {}  # the jobs started and not finished
        self._closed = False

    def submit(self, start: Callable[[], Awaitable[Any]], *, urgent: bool = False, turn: str | None = None) -> Future:
        """Queue the coroutine *start()* makes; its future. *turn*: it starts only once :meth:`open_turn` has opened
        it."""
        if self._closed or self._loop.closed:
            raise RuntimeError("the queue is closed")
        job = _Job(start, turn)
        self._loop.call(lambda: self._queue(job, urgent))
        return job.future

    def hurry(self, future: Future) -> None:
        """The caller waits for *future* now: if its request is still queued, it starts next (its turn opened)."""
        self._loop.call(lambda: self._hurry(future))

    def open_turn(self, turn: str) -> None:
        """The jobs of *turn* may go now: those parked go first, in their order; those submitted later go in order."""
        self._loop.call(lambda: self._open_turn(turn))

    def close(self) -> None:
        """Cancel what is queued or parked and every request started (their futures end at once)."""
        self._closed = True
        self._loop.call(self._close)

    @property
    def started(self) -> int:
        """Jobs started and not finished yet."""
        return len(self._tasks)

    # -- on the loop -------------------------------------------------------------------------------------------------
    def _queue(self, job: _Job, urgent: bool) -> None:
        if self._closed:
            job.future.cancel()
            return
        (self._urgent if urgent else self._planned).append(job)
        self._jobs[job.future] = job
        self._pump()

    def _hurry(self, future: Future) -> None:
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
        self._pump()

    def _open_turn(self, turn: str) -> None:
        self._open.add(turn)
        parked = [job for job in self._parked.pop(turn, ()) if job.future in self._jobs]
        self._urgent.extendleft(reversed(parked))
        self._pump()

    def _pump(self) -> None:
        """Start the next jobs while fewer than *width* run."""
        while len(self._tasks) < self._width and (self._urgent or self._planned) and not self._closed:
            job = (self._urgent or self._planned).popleft()
            if job.turn is not None and job.turn not in self._open:
                self._parked.setdefault(job.turn, []).append(job)  # until its turn
                continue
            del self._jobs[job.future]
            if not job.future.set_running_or_notify_cancel():
                continue  # cancelled while queued (its test did not ask for it)
            task = self._loop.loop.create_task(job.start())
            task.add_done_callback(lambda task, job=job: self._finished(task, job))
            self._tasks[task] = job

    def _finished(self, task: asyncio.Task, job: _Job) -> None:
        """*job*'s answer to whoever waits for its future (cancelled, even before it began: closed)."""
        self._tasks.pop(task, None)
        if job.future.done():  # closed: its waiter was answered then
            pass
        elif task.cancelled():
            job.future.set_exception(asyncio.CancelledError())
        elif task.exception() is not None:
            job.future.set_exception(task.exception())
        else:
            job.future.set_result(task.result())
        self._pump()

    def _close(self) -> None:
        self._closed = True
        queued = [*self._urgent, *self._planned, *(job for parked in self._parked.values() for job in parked)]
        for job in queued:
            job.future.cancel()
        self._urgent.clear()
        self._planned.clear()
        self._parked.clear()
        self._jobs.clear()
        for task, job in list(self._tasks.items()):
            task.cancel()
            # whoever waits for it gets CancelledError now, not once the loop has run the cancelled task to its end
            # (the loop may be stopped before it does)
            if not job.future.done():
                job.future.set_exception(asyncio.CancelledError())
