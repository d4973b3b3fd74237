"""The stack variants of the reference server answer the way their stacks do: one behaviour per
test, the one each expectation in tests/stack_expectations.yaml relies on."""

from __future__ import annotations

import json

import httpx
import pytest

from contract_tests.reference import DEMO_EMAIL, DEMO_PASSWORD, LOGIN_PATH, STACKS, start_reference_server
from contract_tests.reference.stacks.nginx import LeakyBucket, nginx_page

UNKNOWN = "nobody@example.com"


@pytest.fixture
def client(request):
    with start_reference_server(variant=request.param) as server, httpx.Client(base_url=server.url) as http:
        http.service = server.service
        yield http


def stack(name: str):
    return pytest.mark.parametrize("client", [name], indirect=True)


def post(http, body=None, *, raw: bytes | None = None, content_type: str | None = "application/json", **kw):
    headers = {"Content-Type": content_type} if content_type else {}
    data = raw if raw is not None else json.dumps(body).encode()
    return http.post(LOGIN_PATH, content=data, headers=headers, **kw)


def test_stack_variants_are_registered_apart_from_the_conforming_ones():
    from contract_tests.reference import VARIANTS

    assert set(STACKS) == {"nestjs", "fastapi-contract", "fastapi-defaults", "express", "nginx-front", "lockout",
                           "vendor-codes", "validation-as-credentials"}
    assert not set(STACKS) & set(VARIANTS)
    assert all(m.kind == "stack" and m.breaks == [] for m in STACKS.values())


# ------------------------------------------------------------------------------------------------------ nestjs
@stack("nestjs")
def test_nestjs_answers_credential_failures_201_with_the_vendor_errors(client):
    assert post(client, {"email": UNKNOWN, "password": "x"}).json() == {"error": "NO_SUCH_USER"}
    wrong = post(client, {"email": DEMO_EMAIL, "password": "x"})
    assert (wrong.status_code, wrong.json()) == (201, {"error": "WRONG_PASSWORD"})


@stack("nestjs")
def test_nestjs_validation_is_class_validator_400(client):
    response = post(client, {"email": "not-an-email"})
    assert response.status_code == 400
    assert response.json() == {"message": ["email must be an email", "password should not be empty",
                                           "password must be a string"], "error": "Bad Request", "statusCode": 400}


@stack("nestjs")
def test_nestjs_max_length_does_not_count_variation_selectors(client):
    accepted = post(client, {"username": "a" * 80 + "\ufe0f", "password": "x"})
    refused = post(client, {"username": "a" * 81, "password": "x"})
    assert (accepted.status_code, refused.status_code) == (201, 400)


@stack("nestjs")
def test_nestjs_decodes_invalid_utf8_leniently(client):
    response = post(client, raw=b'{"email": "0@A.COM", "password": "\xff"}')
    assert (response.status_code, response.json()) == (201, {"error": "NO_SUCH_USER"})


@stack("nestjs")
def test_nestjs_body_parser_limit_and_urlencoded(client):
    too_large = post(client, raw=b'{"email": "' + b"a" * 110_000 + b'"}')
    assert too_large.json() == {"message": "request entity too large", "error": "Payload Too Large", "statusCode": 413}
    form = client.post(LOGIN_PATH, data={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
    assert form.status_code == 201 and form.json()["token"]
    assert "x-content-type-options" not in form.headers and "cache-control" not in form.headers


# ------------------------------------------------------------------------------------------------------ express
@stack("express")
def test_express_body_parser_errors_are_finalhandler_html_without_stack(client):
    response = post(client, raw=b'{"email": ')
    assert response.status_code == 400 and response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<pre>Bad Request</pre>" in response.text and "SyntaxError" not in response.text


@stack("express")
def test_express_zod_counts_utf16_code_units(client):
    response = post(client, {"username": "\U0001F600" * 80, "password": "x"})
    assert response.status_code == 400 and response.json()["issues"][0]["code"] == "too_big"


@stack("express")
def test_express_401_has_no_www_authenticate_but_helmet_headers(client):
    response = post(client, {"email": UNKNOWN, "password": "x"})
    assert (response.status_code, response.json()) == (401, {"error": "INVALID_CREDENTIALS"})
    assert "www-authenticate" not in response.headers and response.headers["x-content-type-options"] == "nosniff"


# ------------------------------------------------------------------------------------------------------ FastAPI
@stack("fastapi-defaults")
def test_fastapi_defaults_422_echoes_the_input_password_included(client):
    response = post(client, {"password": "Echo-Me-123"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["input"] == {"password": "Echo-Me-123"}


@stack("fastapi-defaults")
def test_fastapi_defaults_success_is_200_with_null_error_and_401_is_detail(client):
    success = post(client, {"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
    assert success.status_code == 200 and success.json()["error"] is None
    failure = post(client, {"email": DEMO_EMAIL, "password": "x"})
    assert failure.json() == {"detail": "Incorrect email or password"} and failure.headers["www-authenticate"]


@stack("fastapi-defaults")
def test_fastapi_parses_a_body_without_content_type_and_crashes_on_lone_surrogates(client):
    assert post(client, {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}, content_type=None).status_code == 200
    crash = post(client, raw=b'{"username": "\\ud800", "password": "x"}')
    assert (crash.status_code, crash.text) == (500, "Internal Server Error")


@stack("fastapi-contract")
def test_fastapi_contract_gives_each_validation_failure_its_error(client):
    assert post(client, {"username": "a" * 81, "password": "x"}).json()["error"] == "USERNAME_TOO_LONG"
    assert post(client, {"email": "nope", "password": "x"}).json()["error"] == "INVALID_EMAIL"
    assert post(client, {"username": "a" * 80, "password": "x"}).json() == {"error": "INVALID_CREDENTIALS"}


@stack("fastapi-contract")
def test_fastapi_has_no_body_limit(client):
    response = post(client, {"email": UNKNOWN, "password": "x", "pad": "a" * (1024 * 1024)})
    assert response.status_code == 401


# ------------------------------------------------------------------------------------------------------ nginx
@stack("nginx-front")
def test_nginx_front_answers_413_with_its_own_page(client):
    response = post(client, {"email": UNKNOWN, "password": "a" * (17 * 1024)})
    assert response.status_code == 413 and response.content == nginx_page(413, "Request Entity Too Large")
    assert "retry-after" not in response.headers and "x-content-type-options" not in response.headers
    assert post(client, {"email": UNKNOWN, "password": "x"}).headers["server"] == "nginx"


def test_nginx_limit_req_rejects_past_the_burst_and_drains_at_the_rate():
    now = [0.0]
    bucket = LeakyBucket(rate=50.0, burst=100, clock=lambda: now[0])
    assert all(bucket.allow("ip") for _ in range(101))  # the request itself plus the burst
    assert not bucket.allow("ip") and bucket.allow("other-ip")
    now[0] = 0.1  # 5 requests' worth drained
    assert sum(bucket.allow("ip") for _ in range(10)) == 5


# ------------------------------------------------------------------------------------------------------ lockout
@stack("lockout")
def test_lockout_locks_the_identifier_right_password_included_until_retry_after(client):
    for _ in range(5):
        assert post(client, {"email": DEMO_EMAIL, "password": "x"}).status_code == 401
    locked = post(client, {"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
    assert (locked.status_code, locked.json()["error"], locked.headers["retry-after"]) == (423, "ACCOUNT_LOCKED", "2")
    service = client.service
    service.locked_until = {key: 0.0 for key in service.locked_until}  # the lock has run out
    assert post(client, {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}).status_code == 201


# ------------------------------------------------------------------------------------- lab error vocabularies
@stack("vendor-codes")
def test_vendor_codes_answer_every_handler_failure_201_with_a_per_field_code(client):
    unknown = post(client, {"email": UNKNOWN, "password": "x"})
    assert (unknown.status_code, unknown.json()) == (201, {"error": "INVALID_CREDENTIALS"})
    too_long = post(client, {"username": "u" * 69 + "@example.com", "password": "x"})
    assert (too_long.status_code, too_long.json()) == (201, {"error": "USERNAME_TOO_LONG"})
    assert post(client, {"email": "not-an-email", "password": "x"}).json() == {"error": "EMAIL_INVALID"}
    assert post(client, {"email": UNKNOWN}).json() == {"error": "PASSWORD_REQUIRED"}
    assert post(client, raw=b"[1]").status_code == 400  # the body never reaches the handler


@stack("validation-as-credentials")
def test_validation_as_credentials_answers_validation_like_a_wrong_password(client):
    wrong = post(client, {"email": DEMO_EMAIL, "password": "x"})
    for body in ({"email": "not-an-email", "password": "x"}, {"username": "u" * 81, "password": "x"}, {"email": UNKNOWN}):
        answer = post(client, body)
        assert (answer.status_code, answer.json()) == (wrong.status_code, wrong.json()) == \
            (401, {"error": "INVALID_CREDENTIALS"})
        assert answer.headers["www-authenticate"] == wrong.headers["www-authenticate"]

