"""A measuring proxy: a loopback HTTP proxy in front of any login server that records what the server saw of the
suite, so the suite's promises about pauses, locks and failed logins are checked at the server, not from the suite's
own counters.

Per request it records when it arrived and when its answer went back (monotonic), the identifier the body names, whether
it carried the account's right password, and what the answer was: a success (a token), a failed login, a rate limit
or a lock answer (whatever its vocabulary: the caller says which answers lock). :class:`Measured` holds the records
and the checks; each check returns the violations it found (empty: the promise held).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import httpx
import uvicorn

from contract_tests.reference.server import bind_socket, socket_url, uvicorn_config

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "content-encoding"}


@dataclass
class Seen:
    arrived: float
    answered: float = 0.0
    identifier: str | None = None
    right_password: bool = False
    status: int = 0
    error: str | None = None
    token: bool = False
    retry_after: float | None = None
    kind: str = "other"  # success, failure (a credential failure), refusal (any other), rate limit, lock, other


def default_lock(status: int, error: str | None) -> bool:
    return status == 423 or error in {"ACCOUNT_LOCKED", "TOO_MANY_FAILED_ATTEMPTS", "USER_FORBIDDEN"}


CREDENTIAL_ERRORS = {"INVALID_CREDENTIALS", "WRONG_PASSWORD", "NO_SUCH_USER"}


@dataclass
class Measured:
    account: str
    password: str
    lock_answer: Callable[[int, str | None], bool] = default_lock
    seen: list[Seen] = field(default_factory=list)

    def record(self, seen: Seen, body: bytes) -> None:
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):  # (the parser probes: deep nesting, bodies that are not JSON)
            data = None
        if isinstance(data, dict):
            for name in ("email", "username"):
                if isinstance(data.get(name), str) and data[name].strip():
                    seen.identifier = data[name].strip().lower()
                    break
            seen.right_password = data.get("password") == self.password
        self.seen.append(seen)

    def classify(self, seen: Seen) -> None:
        if self.lock_answer(seen.status, seen.error):
            seen.kind = "lock"
        elif seen.status == 429 or seen.error == "RATE_LIMITED":
            seen.kind = "rate limit"
        elif seen.token:
            seen.kind = "success"
        elif seen.identifier is not None and (seen.status == 401 or seen.error in CREDENTIAL_ERRORS):
            seen.kind = "failure"
        elif seen.identifier is not None and seen.status < 500:
            seen.kind = "refusal"

    # -- what the server saw ------------------------------------------------------------------------------------------
    def on_account(self) -> list[Seen]:
        return [s for s in self.seen if s.identifier == self.account.lower()]

    def lock_answers(self, identifier: str | None = None) -> list[Seen]:
        return [s for s in self.seen if s.kind == "lock" and (identifier is None or s.identifier == identifier)]

    def failed_logins_on_account(self) -> int:
        return sum(1 for s in self.on_account() if s.kind == "failure")

    def longest_failure_streak(self) -> int:
        """Failed logins on the account in a row, in the order the server answered them, no success between."""
        streak = longest = 0
        for s in sorted(self.on_account(), key=lambda s: s.answered):
            if s.kind == "success":
                streak = 0
            elif s.kind == "failure":
                streak += 1
                longest = max(longest, streak)
        return longest

    def longest_refusal_streak(self) -> int:
        """Answers on the account without a token in a row (credential failures and every other refusal: some
        policies count validation refusals too), in the order the server answered them, no success between."""
        streak = longest = 0
        for s in sorted(self.on_account(), key=lambda s: s.answered):
            if s.kind == "success":
                streak = 0
            elif s.kind in ("failure", "refusal"):
                streak += 1
                longest = max(longest, streak)
        return longest

    def overlaps(self) -> list[str]:
        """A login on the account that got a token in flight with a possible failed login on it (a request without
        its right password)."""
        account = self.on_account()
        found = []
        for ok in (s for s in account if s.kind == "success"):
            for other in (s for s in account if not s.right_password):
                if ok.arrived < other.answered and other.arrived < ok.answered:
                    found.append(f"success [{ok.arrived:.3f}, {ok.answered:.3f}] with possible failure "
                                 f"[{other.arrived:.3f}, {other.answered:.3f}]")
        return found

    def early_requests(self, in_flight: int) -> list[str]:
        """Requests sent after a 429 or lock answer carrying Retry-After reached the suite, before it elapsed.

        Which late arrivals the suite had already sent when the answer reached it cannot be read off the clock (a
        request on the wire may take a while to arrive on a loaded machine), but it can be counted: the suite keeps at
        most *in_flight* requests on the wire, so when the answer left, at most *in_flight* minus those the server
        was still answering (the stopping one included) were on their way. Arrivals within the Retry-After beyond
        that many were sent after the answer came: each is reported."""
        found = []
        for stop in (s for s in self.seen if s.kind in ("rate limit", "lock") and s.retry_after is not None):
            until = stop.answered + stop.retry_after
            on_the_wire = {id(s) for s in self._on_the_wire(stop, in_flight)}
            for s in self.seen:
                if stop.answered < s.arrived < until and id(s) not in on_the_wire:
                    found.append(f"a request arrived {until - s.arrived:.3f} s before the Retry-After "
                                 f"{stop.retry_after:g} of a {stop.status} ({stop.error}) sent at {stop.answered:.3f}")
        return found

    def _on_the_wire(self, stop: Seen, in_flight: int) -> list[Seen]:
        """The arrivals after *stop*'s answer left that the suite may have sent before it reached it: at most
        *in_flight* minus the requests the server was still answering then (the stopping one included)."""
        at_server = sum(1 for s in self.seen if s.arrived <= stop.answered <= s.answered)
        late = sorted((s for s in self.seen if s.arrived > stop.answered), key=lambda s: s.arrived)
        return late[:max(0, in_flight - at_server)]

    def lock_events(self, in_flight: int) -> dict[str, int]:
        """Locks met per identifier: lock answers to requests on the wire together count as one."""
        events: dict[str, int] = {}
        covered: set[int] = set()
        for lock in sorted(self.lock_answers(), key=lambda s: s.arrived):
            if id(lock) in covered:
                continue
            events[lock.identifier] = events.get(lock.identifier, 0) + 1
            on_the_wire = {id(s) for s in self._on_the_wire(lock, in_flight)}
            covered |= {id(s) for s in self.lock_answers(lock.identifier)
                        if s.arrived <= lock.answered or id(s) in on_the_wire}
        return events

    def locked_identifier_requests(self, lock_seconds: float, in_flight: int) -> list[str]:
        """Requests naming an identifier sent within *lock_seconds* (the server's lock period: what the answer may not
        say) after a lock answer on it reached the suite: more than one request per lock period, or a lock extended.
        Those on the wire when the answer left are told apart by counting, as in :meth:`early_requests`."""
        found = []
        for lock in self.lock_answers():
            on_the_wire = {id(s) for s in self._on_the_wire(lock, in_flight)}
            for s in self.seen:
                if (s.identifier == lock.identifier and lock.answered < s.arrived < lock.answered + lock_seconds
                        and id(s) not in on_the_wire):
                    found.append(f"{s.identifier!a}: a request {s.arrived - lock.answered:.3f} s after its lock "
                                 f"answer (lock period {lock_seconds:g} s)")
        return found

    def broken_promises(self, run: dict, *, budget: int = 25, in_a_row: int = 3,
                        lock_seconds: float | None = None) -> list[str]:
        """What the server saw that breaks a promise of the suite in a run whose conformance.json ``run`` is *run*
        (empty: every promise held): more than *budget* failed logins on the account; more than *in_a_row* refusals
        on it in a row (what a sequential run sends before it interleaves a success); a success in flight with a
        possible failure; a request sent within the Retry-After of a 429 or lock answer, or (*lock_seconds*: the
        server's lock period) within a lock on the identifier it names; the suite's counts of lock and rate-limit
        answers other than the server's."""
        on_the_wire = run["in_flight"] * max(1, run.get("xdist_workers") or 1)  # each process's requests in flight
        broken = []
        if self.failed_logins_on_account() > budget:
            broken.append(f"{self.failed_logins_on_account()} failed logins on the account (budget {budget})")
        if self.longest_refusal_streak() > in_a_row:
            broken.append(f"{self.longest_refusal_streak()} refusals on the account in a row (at most {in_a_row})")
        broken += self.overlaps()
        broken += self.early_requests(on_the_wire)
        if lock_seconds is not None:
            broken += self.locked_identifier_requests(lock_seconds, on_the_wire)
        server_locks = len(self.lock_answers())
        server_limits = sum(1 for s in self.seen if s.kind == "rate limit")
        if (run["locked_out"], run["rate_limited"]) != (server_locks, server_limits):
            broken.append(f"the suite counted {run['locked_out']} lock and {run['rate_limited']} rate-limit answers, "
                          f"the server sent {server_locks} and {server_limits}")
        return broken


class MeasuringProxy:
    """Serves on a free loopback port (``.url``) and forwards every request to *upstream*; context manager."""

    def __init__(self, upstream: str, measured: Measured) -> None:
        self.upstream = upstream.rstrip("/")
        self.measured = measured
        self._lock = threading.Lock()
        self._sock = bind_socket("127.0.0.1", 0)
        self.url = socket_url(self._sock)
        self._server = uvicorn.Server(uvicorn_config(self._app, interface="asgi3"))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)

    async def _app(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        arrived = time.monotonic()
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        seen = Seen(arrived=arrived)
        with self._lock:
            self.measured.record(seen, body)
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]
                   if k.decode("latin-1").lower() not in HOP_BY_HOP]
        path = scope["path"] + (("?" + scope["query_string"].decode("latin-1")) if scope["query_string"] else "")
        async with httpx.AsyncClient(base_url=self.upstream, timeout=30) as client:  # nothing left open at the end
            response = await client.request(scope["method"], path, content=body, headers=headers)
        seen.status = response.status_code
        try:
            data = response.json()
        except (ValueError, RecursionError):
            data = None
        if isinstance(data, dict):
            seen.error = data.get("error") if isinstance(data.get("error"), str) else None
            seen.token = isinstance(data.get("token"), str) and bool(data["token"])
        retry_after = response.headers.get("retry-after", "").strip()
        seen.retry_after = float(retry_after) if retry_after.isdigit() else None
        out = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()
               if k.lower() not in HOP_BY_HOP]
        out.append((b"content-length", str(len(response.content)).encode()))
        with self._lock:
            self.measured.classify(seen)
        seen.answered = time.monotonic()  # the moment the answer leaves for the suite
        await send({"type": "http.response.start", "status": response.status_code, "headers": out})
        await send({"type": "http.response.body", "body": response.content})

    def __enter__(self) -> "MeasuringProxy":
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the measuring proxy did not start")
            time.sleep(0.005)
        return self

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join(5)
        self._sock.close()

