"""The run's pause: after a 429 or a lock answer, nothing new is sent until the target's Retry-After has elapsed.

The pause starts when the answer is *received* (not when the request that got it gets round to backing off), is kept
on the monotonic clock, ends a margin after the Retry-After (never early, whatever the rounding of the header or the
latency of the answer), and holds every send of the run, in flight or sequential, retries and the next test's first
request alike: only requests already on the wire when it began are excepted. A later answer asking for a longer wait
extends it, and a request already waiting waits for the extension too.
"""

from __future__ import annotations

import asyncio
import time
from typing import Callable

from .event_loop import settled

# added to every Retry-After: the header is whole seconds, the target may have started its clock before it answered
MARGIN_SECONDS = 0.05
MARGIN_SHARE = 0.02


def with_margin(seconds: float) -> float:
    return seconds + MARGIN_SECONDS + MARGIN_SHARE * seconds


class PausedMeanwhile(Exception):
    """A request about to go finds a pause begun since it looked: it goes back to wait it out."""


class Pause:
    """The run's pause (it changes on the client's event loop only, between two awaits: no lock)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], object] = asyncio.sleep) -> None:
        self._clock = clock
        self._sleep = sleep
        self.until = 0.0  # clock(): no new request before it
        self._asked = 0.0  # the same without the margin: the waits the target asked for (counted in the back-off)

    def start(self, seconds: float, received_at: float) -> float:
        """Hold every new send until *seconds* (a Retry-After, margin added here) after *received_at* (clock() when
        the answer came); returns by how much the wait the target asked for grew (the run's back-off counts each
        second once, without the margin)."""
        asked = received_at + seconds
        grown = max(0.0, asked - max(self._asked, received_at))
        self._asked = max(self._asked, asked)
        self.until = max(self.until, received_at + with_margin(seconds))
        return grown

    def extend_to(self, until: float) -> None:
        """Hold every new send until *until* too (a pause another process of the run started)."""
        self.until = max(self.until, until)

    def left(self) -> float:
        return max(0.0, self.until - self._clock())

    async def wait(self) -> float:
        """Wait until the pause is over, an extension made meanwhile included (an await on the client's loop: *sleep*
        returns an awaitable, or is a plain function on a fake clock); returns the seconds waited."""
        waited, slept_to = 0.0, None
        while True:
            until = self.until
            left = until - self._clock()
            if left <= 0 or until == slept_to:  # (an injected sleep that lets no time pass sleeps once per pause)
                return waited
            await settled(self._sleep(left))
            waited += left
            slept_to = until
