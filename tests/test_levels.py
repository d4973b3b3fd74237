"""The level principle in code: which requests the documented client can send, and the level at
which an answer's shape is judged (judging/levels.py), plus the sized bodies of the size probes (inputs/padding.py)."""

from __future__ import annotations

import json

import pytest
from helpers import exchange

from contract_tests.contract.spec import documented_client, request_properties
from contract_tests.inputs.padding import (MIB, client_bound, padded, size_probes, unbounded_string_property,
                                           undeclared_property)
from contract_tests.judging.levels import answer_shape_level, refusal_shape_level
from contract_tests.sending.exchange import LoginRequest

pytestmark = pytest.mark.unit  # the fast lane: python -m pytest tests -m unit

BOUND = documented_client()["max-body-bytes"]


def request(**fields) -> LoginRequest:
    if "raw" not in fields and "form" not in fields:
        fields.setdefault("json", {"email": "a@example.com", "password": "x"})
    return LoginRequest(purpose="canned", expect="failure", **fields)


SENDABLE = {
    "email and password": request(),
    "identifier only": request(json={"email": "a@example.com"}),
    "at the bound": request(json=padded({"email": "a@example.com"}, "password", BOUND)),
    "content type with charset": request(content_type="application/json; charset=utf-8"),
    "non-ASCII strings": request(json={"email": "j\u00f6rg@example.com", "password": "p\u00e4ss \U0001f600"}),
}
NOT_SENDABLE = {
    "one byte over the bound": request(json=padded({"email": "a@example.com"}, "password", BOUND + 1)),
    "number value": request(json={"email": "a@example.com", "password": 12345}),
    "null value": request(json={"email": "a@example.com", "password": None}),
    "array body": request(json=["a@example.com", "x"]),
    "lone surrogate": request(json={"email": "\ud800@example.com", "password": "x"}),
    "not UTF-8": request(raw=b'{"email": "a@example.com", "password": "\xff"}', content_type="application/json"),
    "malformed JSON": request(raw=b'{"email": ', content_type="application/json"),
    "text/plain": request(content_type="text/plain"),
    "form": request(form=[("email", "a@example.com"), ("password", "x")]),
    "GET": request(method="GET"),
}


@pytest.mark.parametrize("name", SENDABLE)
def test_requests_the_documented_client_sends(name):
    assert SENDABLE[name].sendable_by_documented_client


@pytest.mark.parametrize("name", NOT_SENDABLE)
def test_requests_it_cannot_send(name):
    assert not NOT_SENDABLE[name].sendable_by_documented_client


def test_answer_shape_is_must_for_sendable_requests_answered_by_the_api():
    assert answer_shape_level(exchange(401, {"error": "X"}, request=request())) == "MUST"
    assert answer_shape_level(exchange(500, raw=b"oops", request=request())) == "MUST"
    big = NOT_SENDABLE["one byte over the bound"]
    assert answer_shape_level(exchange(401, {"error": "X"}, request=big)) == "SHOULD"
    assert answer_shape_level(exchange(400, raw=b"<html>", request=NOT_SENDABLE["malformed JSON"])) == "SHOULD"


@pytest.mark.parametrize("status", [413, 429, 502, 503, 504])
def test_infrastructure_answers_are_should_whatever_was_sent(status):
    assert answer_shape_level(exchange(status, raw=b"<html>", request=request())) == "SHOULD"


def test_refusal_shape_is_should_only_for_bodies_that_are_not_utf8():
    assert refusal_shape_level(exchange(400, {}, request=NOT_SENDABLE["malformed JSON"])) == "MUST"
    assert refusal_shape_level(exchange(400, {}, request=request(json=[1]))) == "MUST"
    assert refusal_shape_level(exchange(201, {}, request=NOT_SENDABLE["not UTF-8"])) == "SHOULD"
    surrogate = request(raw=b'{"password": "\xed\xa0\x80"}', content_type="application/json")
    assert refusal_shape_level(exchange(201, {}, request=surrogate)) == "SHOULD"  # encoded surrogate: not UTF-8


def test_padded_bodies_have_the_exact_size_as_sent():
    for size in (100, BOUND, MIB):
        body = padded({"email": "a@example.com", "password": "x"}, "padding", size)
        assert len(request(json=body).body_bytes()) == size
    with pytest.raises(ValueError):
        padded({"email": "a@example.com"}, "password", 10)


def test_probe_sizes_and_fields_come_from_the_shipped_document():
    assert client_bound() == BOUND == 8192
    sizes = size_probes()
    assert [s for s in sizes if s <= BOUND] and [s for s in sizes if s > BOUND]  # both sides of the bound
    assert 12 * 1024 in sizes and 20 * 1024 in sizes  # nginx client_max_body_size 16k lets one through, not the other
    props = request_properties()
    assert unbounded_string_property() == "password" and props["password"]["required"]
    assert "maxLength" not in props["password"] and props["username"]["maxLength"] == 80
    assert undeclared_property() not in props


def test_a_null_error_on_a_success_is_no_schema_finding():
    """The vendor types `error` as a string; the documented client's *string reads null as no error (RESP-03)."""
    from contract_tests.fuzz.responses import schema_findings

    success = {"token": "a.b.c", "user_uuid": "u1", "username": "demo", "avatar_url": "", "error": None}
    assert schema_findings(exchange(201, success), "INPUT-09") == []
    bad = schema_findings(exchange(201, {**success, "user_uuid": 7}), "INPUT-09")
    assert [(f.requirement, f.level) for f in bad] == [("RESP-02", "MUST")]
    null = schema_findings(exchange(201, {**success, "username": None}), "INPUT-09")
    assert [(f.requirement, f.level) for f in null] == [("RESP-02", "SHOULD")]  # null reads as "" in Go


def test_a_json_body_with_another_content_type_is_a_should_finding():
    from contract_tests.fuzz.responses import schema_findings

    plain = schema_findings(exchange(401, {"error": "X"}, {"content-type": "text/plain"}, request=request()), "AUTH-02")
    assert [(f.requirement, f.level) for f in plain] == [("RESP-04", "SHOULD")]
    html = schema_findings(exchange(401, raw=b"<html>", headers={"content-type": "text/html"}, request=request()),
                           "AUTH-02")
    assert ("RESP-04", "MUST") in [(f.requirement, f.level) for f in html]


def test_schema_findings_on_failures_follow_the_answer_shape_level():
    from contract_tests.fuzz.responses import schema_findings

    sendable = schema_findings(exchange(401, {"detail": "Incorrect"}, request=request()), "AUTH-02")
    assert [(f.requirement, f.level) for f in sendable] == [("RESP-05", "MUST")]
    other = schema_findings(exchange(422, {"detail": []}, request=request(json={"password": 5})), "INPUT-03")
    assert [(f.requirement, f.level) for f in other] == [("RESP-05", "SHOULD")]
    assert json.loads(json.dumps(documented_client()))["content-type"] == "application/json"
