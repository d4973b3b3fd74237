"""A 503 that is still a 503 on its identical retry is a service unavailable -- an overload or an edge's rate limit
(nginx's limit_req answers 503 by default, with its HTML page and no Retry-After) -- not the API's answer to the input:
it is backed off from like a 429 and never charged as the input's server error; a 502/504 again, or a 500, still is."""

from __future__ import annotations

import httpx
import pytest
from test_client import FakeTime, waits

from contract_tests.judging import invariants, verdicts
from contract_tests.sending.client import GATEWAY_RETRY_WAIT, Account, ClientLimits, ContractClient, RateLimited
from contract_tests.sending.exchange import LoginRequest
from contract_tests.sending.secrets import Redactor

ACCOUNT = Account.from_values("demo@example.com", "Right-Passw0rd!")
NGINX_503 = ("<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 "
             "Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n")


def _page(status: int) -> httpx.Response:
    return httpx.Response(status, headers={"content-type": "text/html"}, text=NGINX_503 if status == 503 else
                          f"<html><body><h1>{status}</h1></body></html>")


def _hostile() -> LoginRequest:
    return LoginRequest(purpose="a hostile string", expect="failure", requirement="INPUT-09",
                        json={"email": "x@example.com", "password": "'; DROP TABLE users; --"})


def _send(statuses: list[int], **limits):
    answers = iter([_page(s) if s >= 500 else httpx.Response(s, json={"error": "INVALID_CREDENTIALS"})
                    for s in statuses])
    seen, fake = [], FakeTime()
    client = fake.on(ContractClient("http://target.test", Redactor(), ClientLimits(**limits), account=ACCOUNT,
                                    transport=httpx.MockTransport(lambda r: next(answers))))
    client.observer = seen.append
    return client, fake, seen


@pytest.fixture
def in_input_09(ledger):
    ctx = verdicts.TestContext("suite/test_x.py::test_x", ("INPUT-09",))
    ledger.begin(ctx)
    return ctx


@pytest.fixture
def judge(ledger):
    def observe(seen) -> None:
        observer = invariants.Observer(ledger)
        for answer in seen:
            observer(answer)

    return observe


def test_a_503_again_is_backed_off_as_a_rate_limit_and_the_api_answer_judged(in_input_09, judge, ledger):
    client, fake, seen = _send([503, 503, 503, 401])
    ex = client.send(_hostile())
    assert ex.status == 401 and client.requests_sent == 4
    assert fake.sleeps[0] == GATEWAY_RETRY_WAIT and fake.sleeps[1:] == waits(1.0, 2.0)
    assert [a.status for a in seen] == [503, 503, 503, 401]
    assert [a.backoff for a in seen] == ["rate limit", "rate limit", "rate limit", None]
    assert client.rate_limited == 2 and client.gateway_retries == 1 and client.gateway_blips == 0
    judge(seen)
    assert in_input_09.failed() == []  # the unavailable answers are not the input's server error
    shapes = [o for o in ledger.take_held() if o.requirement == "RESP-04"]
    assert shapes and {o.level for o in shapes} == {"SHOULD"}  # the edge's page: infrastructure, at SHOULD


def test_a_lasting_503_ends_as_a_rate_limit_not_a_server_error(in_input_09, judge):
    client, _, seen = _send([503] * 6, max_retry_wait=30)
    with pytest.raises(RateLimited, match="503 again") as raised:
        client.send(_hostile())
    judge(raised.value.answers)
    assert in_input_09.failed() == []


@pytest.mark.parametrize("status", [502, 504, 500])
def test_other_server_errors_again_stand_as_the_answer_to_the_input(in_input_09, judge, status):
    client, _, seen = _send([status, status, 401, status, 401, status])  # a gateway answer every time: the input's
    ex = client.send(_hostile())
    assert ex.status == status and ex.backoff is None and client.rate_limited == 0
    judge(seen)
    failed = in_input_09.failed()
    assert failed and {o.requirement for o in failed} == {"INPUT-09"} and "a status below 500" in failed[0].message
