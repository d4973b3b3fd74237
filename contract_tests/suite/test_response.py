"""Success and response shape (RESP-01 .. RESP-06)."""

import pytest

from contract_tests.inputs.padding import client_bound, padded, size_probes, unbounded_string_property
from contract_tests.judging import checks
from contract_tests.judging.levels import answer_shape_level
from contract_tests.judging.verdicts import expect, inconclusive, not_applicable, verify
from contract_tests.declared import sends
from contract_tests.sending.exchange import LoginRequest

requirement = pytest.mark.requirement


@requirement("RESP-01")
def test_right_credentials_log_in_with_201(good_login):
    """A login with the configured credentials logs in (check LOGIN_EMAIL/LOGIN_PASSWORD if not), with 201."""
    expect("RESP-01", good_login, checks.issues_token)
    expect("RESP-01", good_login, checks.status_is, 201, level="SHOULD")


@requirement("RESP-02")
def test_success_body_shape(session_login):
    expect("RESP-02", session_login, checks.success_shape)
    expect("RESP-02", session_login, checks.no_null_fields, level="SHOULD")


@requirement("RESP-03")
def test_success_carries_no_error(session_login):
    expect("RESP-03", session_login, checks.no_error)


FAILURES = {
    "unknown-account": ("failure", lambda email: {"email": email, "password": "Unknown-Acc0unt-Passw0rd!"}),
    "empty-object": ("invalid", lambda email: {}),
    "wrong-types": ("invalid", lambda email: {"email": [email], "password": {"value": 1}}),
}


def _failure(unknown_email: str, name: str) -> LoginRequest:
    kind, body = FAILURES[name]
    return LoginRequest(f"a login that must fail ({name})", kind, json=body(unknown_email))


@requirement("RESP-04", "RESP-05", "RESP-06")
@pytest.mark.parametrize("name", FAILURES)
@sends(_failure)
def test_failures_are_json_objects_with_error_and_no_token(exchange):
    """What the documented client decodes on failure: a JSON object, a non-empty error, no token."""
    ex = exchange
    verify("RESP-04", ex, checks.json_object_body, level=answer_shape_level(ex))
    verify("RESP-04", ex, checks.json_content_type, level="SHOULD")
    verify("RESP-05", ex, checks.has_error, level=answer_shape_level(ex))
    verify("RESP-06", ex, checks.no_token)


def _padded_failure(unknown_email: str, size: int) -> LoginRequest:
    field = unbounded_string_property()
    # beyond the bound the target may refuse from the headers: it gets to say so before the body goes
    return LoginRequest(f"an unknown-account login padded to {size} bytes (a long {field})", "failure",
                        json=padded({"email": unknown_email}, field, size), accept_transport_error=True,
                        headers={"Expect": "100-continue"} if size > client_bound() else {})


@requirement("RESP-04", "RESP-05", "RESP-06")
@pytest.mark.parametrize("size", size_probes(), ids=lambda size: f"{size / 1024:g}KiB")
@sends(_padded_failure)
def test_failure_answers_on_both_sides_of_the_client_bound(exchange, size):
    """An unknown-account login padded to a body size (a long password) is answered like any failure: a JSON
    object with `error`, no token. MUST up to the documented client's bound (clarification documented-client,
    8 KiB), SHOULD beyond it and for what infrastructure answers itself (a proxy's 413 page)."""
    ex = exchange
    if ex.failure is not None:
        if size > client_bound():  # a size the documented client never sends: how the target treats it is INPUT-08's
            not_applicable(f"no answer to the {size}-byte body, so no answer shape to judge ({ex.transport_error})")
        inconclusive(f"no response from the target: {ex.transport_error}")
    verify("RESP-04", ex, checks.json_object_body, level=answer_shape_level(ex))
    verify("RESP-04", ex, checks.json_content_type, level="SHOULD")
    verify("RESP-05", ex, checks.has_error, level=answer_shape_level(ex))
    verify("RESP-06", ex, checks.no_token)
