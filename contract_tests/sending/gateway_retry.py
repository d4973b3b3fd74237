"""The identical retry of a gateway answer (502, 503, 504), and a 503 again read as the service unavailable."""

from __future__ import annotations

from typing import Awaitable, Callable

from .backoff import GATEWAY_RETRY_WAIT, GATEWAY_STATUSES, retry_after
from .errors import NotSent, Unavailable
from .exchange import Exchange, LoginRequest

# What tells a gateway answer to an input from an upstream that is down: a request no conforming server answers with
# a server error (an unknown account's login, the reachability probe's), outside the budgets
CONTROL = LoginRequest(purpose="control request: is the gateway answer the input's?", expect="failure",
                       json={"email": "conformance-probe@example.com", "password": "Probe-Not-A-Password-1"})
CONFIRMATIONS = 2  # rounds of control + identical send after the input's retry got a gateway answer again


class GatewayRetry:
    """The client's gateway retry (a part of :class:`~contract_tests.sending.client.ContractClient`, on its state)."""

    def _gateway_wait(self, answer: Exchange, waited: float) -> float | None:
        """The wait before the identical retry of a gateway answer (502, 503, 504 with no back-off of its own: a proxy
        in front of the API, or an upstream that was down or slow for a moment): its Retry-After when readable and
        within what --max-retry-wait leaves, else :data:`GATEWAY_RETRY_WAIT`; None when *answer* is not one, when the
        request takes its answers raw (the throttling probe), or when its Retry-After asks for longer than that (the
        target asked not to be asked again so soon: the answer stands)."""
        if answer.status not in GATEWAY_STATUSES or answer.backoff is not None or answer.request.raw_rate_limit:
            return None
        asked = retry_after(answer.headers)
        if asked is None:
            return GATEWAY_RETRY_WAIT
        return asked if asked <= self.limits.max_retry_wait - waited else None

    def _still_unavailable(self, answer: Exchange, earlier: list[Exchange], attempt: int) -> None:
        """A 503 again after the identical retry of a 503: the service is unavailable, not answering this input (RFC
        9110 15.6.4: a temporary overload; nginx's limit_req answers 503 by default): backed off from as a rate limit
        (the run pauses, this request retries alone), never judged as the API's server error, nor are the 503s before
        it."""
        if answer.status != 503 or answer.backoff is not None or answer.request.raw_rate_limit:
            return
        for unavailable in [*earlier, answer]:
            if unavailable.status == 503 and unavailable.backoff is None:
                unavailable.backoff = "rate limit"
        self._pause_for(answer, "rate limit", attempt, self._clock())
        self.rate_limited += 1
        self._slow_down()

    async def _gateway_again(self, answer: Exchange, earlier: list[Exchange],
                             once_more: Callable[[Exchange], Awaitable[Exchange]]) -> Exchange:
        """The identical retry of a 502 or 504 got a gateway answer again: the input's own answer (a body that crashes
        or hangs the upstream), or an upstream down for longer than the retry's wait (a dead member of a pool the
        proxy does not retry a POST on)? A control request sent at once tells: a gateway answer (or none) to it too,
        the upstream is unavailable: :class:`Unavailable` (blocked), its answers judged by their shape only, never as
        the input's server error. Answered without one, the input is sent identically *once_more*, at once (a blip
        every n-th request met twice by the same stream after the same wait is not met right after the control), and
        while it still gets a gateway answer the control and the input go once more, up to CONFIRMATIONS times: a
        server error that is the input's comes back every time, while a blip every n-th request meets any one send
        with a chance of 1/n (at loopback speed n requests pass within the retry's wait), so one more round divides
        the chance of charging a blip to the input by n. The last answer is the one judged (a gateway answer every
        time: the input's)."""
        for _ in range(CONFIRMATIONS):
            if (answer.status not in GATEWAY_STATUSES - {503} or answer.backoff is not None
                    or answer.request.raw_rate_limit):
                return answer
            control = await self._attempt(CONTROL, CONTROL.httpx_kwargs(), 0, True, False)
            if control.status is None or control.status in GATEWAY_STATUSES:
                answered = "no answer" if control.status is None else f"status {control.status}"
                gateway = [a for a in [*earlier, answer] if a.status in GATEWAY_STATUSES]
                for unavailable in gateway:
                    unavailable.gateway_unconfirmed = True
                exc = Unavailable(f"the upstream was unavailable: status {answer.status} to this request and to its "
                                  f"identical sends ({len(gateway)} gateway answers), and {answered} to a harmless "
                                  "control request sent right after (an unknown account's login), so the gateway "
                                  "answers are not this input's")
                exc.answers = [*earlier, answer]
                raise exc
            answer = await once_more(answer)
        return answer

    async def _retry_gateway(self, answer: Exchange, answers: list[Exchange], kwargs: dict, attempt: int,
                       with_token: bool, ticket, wait: float, waited: float) -> Exchange:
        """Send the request of the gateway *answer* once more, identically, after *wait*, through the same path (the
        request cap, the pause, the same slot, lock-book ticket and account-gate turn: a gateway answer logged no one
        in nor failed a login at the API, so the turn's one budget unit is spent on the retry's answer, or given back).
        When the retry is answered without a server error the first answer was a blip (``gateway_blip``): it is kept
        in ``retried`` as evidence and the retry is what the checks judge; a 5xx again, or no answer, is the target's
        own answer to this input, judged as such."""
        await self._nap(wait)
        answers.append(answer)
        try:
            self._check_not_stopped(False)
            retry = await self._attempt(answer.request, kwargs, attempt, False, with_token, ticket=ticket,
                                  allowance=self.limits.max_retry_wait - waited)
        except NotSent as exc:  # (the request cap, a pause past the bound, a lock): the gateway answer is all there is
            answer.gateway_unconfirmed = True  # its identical retry was not sent: whether the input did it is unknown
            exc.answers = [*answers, *exc.answers]
            raise
        retry.attempts = answer.attempts + 1
        answer.gateway_blip = retry.status is not None and retry.status < 500
        self.gateway_retries += 1
        self.gateway_blips += answer.gateway_blip
        return retry
