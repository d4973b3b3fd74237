"""One request to its answer: its attempts, retried after a 429, a lockout or a gateway answer as back-off allows,
the request cap counted exactly, the answer classified and counted as it is read."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time

import httpx

from .backoff import backoff_kind
from .errors import AccountLocked, BudgetSpent, NoAnswer, NotSent
from .exchange import Exchange, LoginRequest
from .locks import Held
from .pause import PausedMeanwhile
from .secrets import Secret
from .transport import classify
from .wire_log import WireLog


class Attempts:
    """The client's attempts (a part of :class:`~contract_tests.sending.client.ContractClient`, on its state)."""

    async def _send(self, request: LoginRequest, *, probe: bool = False) -> Exchange:
        for value in [*request.headers.values(), *(v for _, v in request.params)]:
            if isinstance(value, Secret):
                self.redactor.add(value)
        self._register_body_secrets(request)
        kwargs = request.httpx_kwargs()
        with_token = self.captcha_token is not None and request.method == "POST" and request.captcha
        if with_token:
            kwargs["headers"].setdefault(self.captcha_header, self.captcha_token.value)
        # The request keeps its slot through its back-off and retries, and once it has met a 429 or a lockout it
        # retries alone (_retrying): as in a sequential run, nothing else reaches the target between its wait and
        # its retry (a request sent meanwhile can restart the limit it waits out, and starve it of its retries).
        # Before its slot, the identifier it names must be free (locks/): not locked, no probe of it on the wire,
        # and, under a known lockout policy, one more failed login must not lock it.
        turn = contextlib.nullcontext(None) if probe else self._locks.turn(request, self.limits.max_retry_wait)
        try:
            async with turn as ticket, self._slot(), contextlib.AsyncExitStack() as alone:
                waited = settled = 0.0  # the back-off of this request; settled: waited out before the last pause
                answers: list[Exchange] = []  # rate-limit and lockout answers backed off from, a gateway answer retried
                kind = None
                blip_retried = False  # a gateway answer (502/503/504) is retried once per request
                backing_off = False  # this request met a 429, a lock or a lasting 503 and retries alone
                for attempt in range(self.limits.max_retries + 1):
                    self._check_not_stopped(probe)
                    exchange = await self._attempt(request, kwargs, attempt, probe, with_token, ticket=ticket,
                                             allowance=self.limits.max_retry_wait - settled)
                    gateway_wait = None if blip_retried or probe else self._gateway_wait(exchange, waited)
                    if gateway_wait is not None:
                        blip_retried = True
                        exchange = await self._retry_gateway(exchange, answers, kwargs, attempt, with_token, ticket,
                                                       gateway_wait, settled + gateway_wait)
                        waited, settled = waited + gateway_wait, settled + gateway_wait
                    if blip_retried and not probe:
                        self._still_unavailable(exchange, answers, attempt)
                        # each further send goes right after the control's normal answer, not after another wait:
                        # the same wait again lands where the same stream of requests meets a periodic blip again
                        exchange = await self._gateway_again(
                            exchange, answers, lambda again, attempt=attempt, settled=settled: self._retry_gateway(
                                again, answers, kwargs, attempt, with_token, ticket, 0.0, settled))
                    if exchange.transport_error and not probe and not request.accept_transport_error:
                        lost = NoAnswer(f"no response from the target: {exchange.transport_error}")
                        lost.failure = exchange.failure
                        lost.answers = answers
                        raise lost
                    kind = exchange.backoff
                    if kind is None or request.raw_rate_limit:
                        exchange.retried = answers
                        return exchange
                    if not backing_off and self.limits.in_flight > 1:
                        await alone.enter_async_context(self._retrying)
                    backing_off = True
                    answers.append(exchange)
                    try:
                        pause = (None if attempt == self.limits.max_retries
                                 else await self._retry_wait(request, kind, waited, ticket))
                    except Held as exc:
                        held = AccountLocked(exc.reason)
                        held.answers = answers
                        raise held from None
                    if pause is None:
                        break
                    settled, waited = waited, waited + pause
                raise self._still_backing_off(request, kind, answers, waited)
        except Held as exc:
            raise AccountLocked(exc.reason) from None

    async def _attempt(self, request: LoginRequest, kwargs: dict, attempt: int, probe: bool, with_token: bool, *,
                 ticket=None, allowance: float = math.inf) -> Exchange:
        """Send once (the request cap counted exactly) and classify the answer; a 429 or lockout is noted on it, and
        starts the run's pause when it is received. *allowance*: the longest pause this request may still wait."""
        await self._pace()
        if not request.raw_rate_limit:  # (the throttling probe hammers on purpose and backs off itself)
            await self._honour_pause(allowance)
        cap = self.limits.max_requests
        if not probe and (self.requests_sent >= cap
                          or (self.shared and not self.shared.take("requests", cap))):
            raise BudgetSpent(f"request cap of {cap} reached (--max-requests)")
        self.requests_sent += 1
        exchange = Exchange(request=request, base_url=self.base_url, redactor=self.redactor, attempts=attempt + 1,
                            ledger=self.ledger)
        started, wall = time.perf_counter(), time.time()
        log = WireLog(expect_continue=_expects_continue(kwargs), continue_wait=self.limits.continue_wait)

        def answered(status: int, headers: httpx.Headers, body: bytes, truncated: bool) -> None:
            exchange.status, exchange.headers, exchange.body, exchange.truncated = status, headers, body, truncated
            self._received(exchange, attempt, ticket)

        look = None if request.raw_rate_limit else self._last_look(ticket)
        try:
            while True:
                try:
                    # a task of its own: its wire log is its alone (wire_log.py)
                    await asyncio.ensure_future(self._transmit(kwargs, log, look, answered))
                    break
                except PausedMeanwhile:  # a 429 or a lock answered since this request looked: it waits that out too
                    if ticket is not None and self._locks.locked_since_admitted(ticket):
                        try:
                            await self._locks.readmit(ticket, request, allowance)
                        except Held as exc:
                            raise AccountLocked(exc.reason) from None
                    await self._honour_pause(allowance)
                    look = self._last_look(ticket)
                    log = WireLog(expect_continue=_expects_continue(kwargs), continue_wait=self.limits.continue_wait)
        except NotSent:  # a pause that began after this request's own look at it: not sent after all
            self.requests_sent -= 1
            if self.shared and not probe:
                self.shared.give_back("requests")
            raise
        except (httpx.TimeoutException, TimeoutError, httpx.TransportError, httpx.DecodingError) as exc:
            exchange.failure = classify(exc, scheme=self._scheme, timeout=self.limits.timeout,
                                        size=len(kwargs.get("content") or b""), wire=log if self._observed else None)
        exchange.elapsed = time.perf_counter() - started
        if self.recorder is not None:
            self.recorder(exchange, wall, with_token)
        if exchange.failure is None or exchange.failure.left:  # else HTTP could not carry it: nothing said of it
            self.answer_times.append((wall, exchange.elapsed, exchange.status is not None))
            self._count_answer(exchange, probe)
        if with_token and exchange.status is not None:
            passed = (request.expect in ("success", "failure") and exchange.status < 500  # got past the captcha
                      and not self.demands_captcha(exchange) and backoff_kind(exchange) is None)
            self.captcha_token_uses += 1
            self.captcha_token_accepted |= passed
        if exchange.transport_error:
            return exchange
        kind = exchange.backoff
        if kind is not None:
            if kind == "lockout":
                self.locked_out += 1
            else:
                self.rate_limited += 1
            self._slow_down()
        return exchange

    def _register_body_secrets(self, request: LoginRequest) -> None:
        def walk(obj):
            if isinstance(obj, Secret):
                self.redactor.add(obj)
            elif isinstance(obj, dict):
                for v in obj.values():
                    walk(v)
            elif isinstance(obj, (list, tuple)):
                for v in obj:
                    walk(v)

        if request.has_json:
            walk(request.json)
        for pairs in (request.form, request.multipart):
            walk(list(pairs or ()))


def _expects_continue(kwargs: dict) -> bool:
    """The request carries ``Expect: 100-continue`` (wire_log.py waits for the target's word before the body)."""
    return any(name.lower() == "expect" and str(value).strip().lower() == "100-continue"
               for name, value in kwargs.get("headers", {}).items())
