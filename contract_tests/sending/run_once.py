"""Under pytest-xdist, a session fixture's request naming the account is sent once per run, as in one process.

A session-scoped fixture (the wrong password for the account, say) is set up once per process: with two workers its
request would reach the target twice, the second time wherever its worker first needed it -- after a lock that holds
the account for the rest of the run, perhaps, when one process had its answer before the lock. So the worker that
needs it first sends it and leaves its answer in the run's shared tally; the others take that answer instead of
sending the request again (the same request, in the same run: the same evidence).

Only an answer that carries nothing secret is left there: no token, nothing the redactor knows (the password in any
form, an issued token); otherwise the others send their own, as before. The tally is a private temporary file of the
run, removed at its end.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import time
from typing import Awaitable, Callable, Iterator

import httpx

from .exchange import Exchange, LoginRequest
from .secrets import Redactor
from .shared_tally import process_alive

POLL_SECONDS = 0.02
_NOT_SHARED = "not shared"


class RunOnce:
    def __init__(self) -> None:
        self.shared = None  # the run's shared tally (None: one process, every request is sent)
        self._fixtures: list[str] = []  # the session fixtures being set up, innermost last
        self._sent: dict[str, int] = {}  # requests naming the account each of them sent so far

    @contextlib.contextmanager
    def setting_up(self, fixture: str) -> Iterator[None]:
        """A session fixture is being set up: its requests naming the account are the run's, once."""
        self._fixtures.append(fixture)
        try:
            yield
        finally:
            self._fixtures.pop()

    def key(self) -> str | None:
        """The run-wide name of the next request naming the account (None: not in a session fixture, or not xdist)."""
        if self.shared is None or not self._fixtures:
            return None
        fixture = self._fixtures[-1]
        n = self._sent.get(fixture, 0)
        self._sent[fixture] = n + 1
        return f"once {fixture} {n}"

    async def answer(self, key: str, request: LoginRequest, send: Callable[[], Awaitable[object]], *, base_url: str,
               redactor: Redactor, stalled_after: float) -> object:
        """The answer to *request*: sent here when this worker is the first to need it (and left for the others when
        it carries nothing secret), else the one another worker left; sent here too when that one is not shared or
        does not come within *stalled_after* seconds."""
        if self._claim(f"{key} sender"):
            outcome = await send()
            self.shared.transact(lambda data: data.__setitem__(key, _shareable(outcome, redactor)))
            return outcome
        since = time.monotonic()
        while (stored := self.shared.transact(lambda data: data.get(key))) is None:
            if time.monotonic() - since > stalled_after:
                return await send()
            await asyncio.sleep(POLL_SECONDS)  # (on the client's loop: the other requests go on meanwhile)
        if stored == _NOT_SHARED:
            return await send()
        exchange = Exchange(request=request, base_url=base_url, redactor=redactor, status=stored["status"],
                            headers=httpx.Headers(stored["headers"]), body=base64.b64decode(stored["body"]),
                            elapsed=stored["elapsed"], truncated=stored["truncated"])
        exchange.counted = True  # another worker's failed login: counted in the run's budget there
        return exchange


    def _claim(self, name: str) -> bool:
        """This worker sends the request of *name* unless another live one claimed it first."""
        me = f"{os.getpid()}:{id(self)}"

        def apply(data: dict) -> bool:
            holder = data.get(name)
            if holder and holder != me and process_alive(holder.partition(":")[0]):
                return False
            data[name] = me
            return True

        return self.shared.transact(apply)


def _shareable(outcome: object, redactor: Redactor) -> object:
    """What is left in the tally for *outcome*: its answer when it is a plain answer with nothing secret in it."""
    if (not isinstance(outcome, Exchange) or outcome.status is None or outcome.failure is not None or outcome.token
            or outcome.retried or outcome.before or outcome.backoff):
        return _NOT_SHARED
    texts = [outcome.body.decode("utf-8", "replace"), *(f"{k}: {v}" for k, v in outcome.headers.multi_items())]
    if any(redactor(text) != text for text in texts):
        return _NOT_SHARED
    return {"status": outcome.status, "headers": outcome.headers.multi_items(),
            "body": base64.b64encode(outcome.body).decode("ascii"), "elapsed": outcome.elapsed,
            "truncated": outcome.truncated}
