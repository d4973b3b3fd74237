"""Requests on the wire: a hard total deadline for each (on the client's event loop, event_loop.py), the body cap,
the slots of the requests in flight, the pacing, and the stop of the run when the target is lost or the run deadline
passed."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
from typing import Awaitable, Callable, TypeVar

import httpx

from . import wire_log
from .errors import RunStopped
from .event_loop import settled
from .exchange import Exchange
from .wire_log import WireLog

T = TypeVar("T")

# the request being sent is the running test's own (ContractClient.send, on pytest's main thread), not one sent ahead:
# it takes the next free slot first
_OWN_REQUEST: contextvars.ContextVar[bool] = contextvars.ContextVar("hyper3d_own_request", default=False)


class InFlight:
    """The client's requests in flight (a part of :class:`~contract_tests.sending.client.ContractClient`, on its state)."""

    async def _own(self, coro: Awaitable[T]) -> T:
        """*coro*, a request the running test sends itself (its slot comes before those of the requests sent ahead)."""
        _OWN_REQUEST.set(True)  # (this task's own context: the tasks it starts inherit it)
        return await coro

    async def _nap(self, seconds: float) -> None:
        """The client's sleep: an await on its loop (cancelled when the client closes), or the injected one."""
        if self._sleep is None:
            await asyncio.sleep(seconds)
        else:
            await settled(self._sleep(seconds))

    async def _pace(self) -> None:
        if self.limits.pace <= 0:
            return
        async with self._pacing:
            wait = self._last_sent + self.limits.pace - time.monotonic()
            if wait > 0:
                await self._nap(wait)
            if self.stopped:  # the run ended meanwhile: nothing more goes out
                raise RunStopped(self.stopped)
            self._last_sent = time.monotonic()

    @contextlib.asynccontextmanager
    async def _slot(self):
        """One of the requests in flight: at most ``in_flight`` while sending ahead, one once the target has rate
        limited or locked out (it asked to slow down: the rest of the run stays sequential). A request the running
        test sends itself takes the next free slot before the requests sent ahead."""
        now = _OWN_REQUEST.get()
        self._wanted_now += now
        try:
            while self._in_use >= self._width or (self._wanted_now and not now):
                await self._slot_freed.wait()
        finally:
            if now:
                self._wanted_now -= 1
                self._slot_freed.notify_all()  # the requests sent ahead that let it go first look again
        self._in_use += 1
        try:
            yield
        finally:
            self._in_use -= 1
            self._slot_freed.notify_all()

    def _slow_down(self) -> None:
        """The target rate limited or locked out: one request in flight for the rest of the run."""
        self._width, self._slowed = 1, True

    async def _transmit(self, kwargs: dict, log: WireLog, before: Callable | None = None,
                        answered: Callable | None = None) -> tuple[int, httpx.Headers, bytes, bool]:
        """Status, headers, at most ``max_body`` bytes of the body, and whether more were discarded; the network
        I/O is recorded in *log* (this coroutine's own task: the context variable is its alone). *before*: awaited
        right before the request goes; *answered(status, headers, body, truncated)*: called as soon as the answer is
        read, on the loop thread, before any other request can go (pause.py: a 429 stops the sends that follow)."""
        cap = self.limits.max_body
        if before is not None:
            await before()
        wire_log.begin(log)  # (the caller runs this coroutine as a task of its own: the log is its alone)
        async with asyncio.timeout(self.limits.timeout):
            response = await self._http.send(self._http.build_request(**kwargs), stream=True)
            try:
                chunks: list[bytes] = []
                size, truncated = 0, False
                async for chunk in response.aiter_bytes():
                    if size + len(chunk) > cap:
                        chunks.append(chunk[: cap - size])
                        truncated = True
                        break
                    chunks.append(chunk)
                    size += len(chunk)
                result = response.status_code, response.headers, b"".join(chunks), truncated
                if answered is not None:
                    answered(*result)
                return result
            finally:
                await response.aclose()

    def _check_not_stopped(self, probe: bool) -> None:
        if self.stopped:
            raise RunStopped(self.stopped)
        deadline = self.limits.run_deadline
        if not probe and deadline is not None and time.monotonic() >= deadline:
            self._stop("the run deadline was reached (--run-deadline); the remaining checks were not run", False)

    def _count_answer(self, exchange: Exchange, probe: bool) -> None:
        """A few requests in a row without a complete answer: the target has stopped answering; stop the run."""
        if exchange.transport_error is None:
            self._no_answer = 0
            return
        self._no_answer += 1
        lost = self._no_answer
        if not probe and lost >= self.limits.lost_after:
            self._stop(f"the target stopped answering: {self.limits.lost_after} requests in a row got no complete "
                       f"answer (last: {exchange.transport_error})", True)

    def _stop(self, reason: str, could_not_test: bool) -> None:
        """Stop the run, once: with requests in flight, the others that then fail say the first one's reason."""
        first = self.stopped is None
        if first:
            self.stopped = reason
        if first and self.on_stop is not None:
            self.on_stop(reason, could_not_test)
        raise RunStopped(self.stopped)
