"""The client's one event loop, on its own daemon thread: every request of the run is a task on it.

pytest's main thread submits a coroutine (a test's own request, a probe) and waits for its future; the requests sent
ahead are tasks the ahead queue (ahead_queue.py) starts on the same loop. Every wait of the send path (a slot, the
pacing, a pause, a lock, the account gate, a turn in the run's order) is an await on this loop, so a waiting request
holds no thread, and closing the client cancels every task at once.

A :class:`Signal` is how a part of the client wakes the requests waiting on its state (the asyncio counterpart of
``Condition.notify_all``); :func:`settled` awaits what an injected sleep returned, if anything (the self-tests inject
plain functions on a fake clock).
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from concurrent.futures import Future
from typing import Any, Awaitable, Callable


class EventLoop:
    """An asyncio loop on a daemon thread (requests run on it so that each has a hard total deadline: connect, send,
    headers and the whole body; httpx's own timeouts bound each read, so a server trickling one byte at a time never
    trips them)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="hyper3d-login-http", daemon=True)
        self._thread.start()
        self.closed = False  # (close): nothing more runs on it

    def submit(self, coro: Awaitable[Any]) -> Future:
        """Start *coro* as a task on the loop; its future, for another thread to wait on."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)  # type: ignore[arg-type]

    def run(self, coro: Awaitable[Any]) -> Any:
        """Run *coro* on the loop and wait for its result (from another thread)."""
        future = self.submit(coro)
        try:
            return future.result()
        except BaseException:
            future.cancel()  # Ctrl-C or pytest.exit in the caller: do not leave the request running
            raise

    def call(self, fn: Callable[[], Any]) -> None:
        """Call *fn* on the loop's thread (at once when called there; not at all once the loop is closed)."""
        if self.closed:
            return
        if self.on_loop():
            fn()
        else:
            self.loop.call_soon_threadsafe(fn)

    def on_loop(self) -> bool:
        return threading.current_thread() is self._thread

    def cancel_all(self) -> None:
        """Abandon every task on the loop: whoever waits for one gets ``CancelledError`` at once."""
        def cancel() -> None:
            for task in asyncio.all_tasks(self.loop):
                task.cancel()

        self.loop.call_soon_threadsafe(cancel)

    def close(self) -> None:
        self.closed = True
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self.loop.close()


class Signal:
    """Wakes every coroutine waiting for a change of some state (call :meth:`notify_all` on the loop's thread, after
    the change). A waiter reads the state and, without awaiting in between, :meth:`wait` s: no change is missed."""

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop its waiters wait on

    def notify_all(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = None

    async def wait(self, timeout: float | None = None) -> None:
        """Until the next :meth:`notify_all`, at most *timeout* seconds (None: no bound)."""
        loop = asyncio.get_running_loop()
        if self._event is None or self._loop is not loop:  # (an event is bound to the loop it was first awaited on)
            self._event, self._loop = asyncio.Event(), loop
        event = self._event
        if timeout is None:
            await event.wait()
            return
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass


async def settled(result: object) -> None:
    """Await *result* when it is awaitable (an injected sleep may be a plain function or a coroutine function)."""
    if inspect.isawaitable(result):
        await result
