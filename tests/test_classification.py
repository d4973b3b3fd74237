"""Telling a validation failure from a credential failure (contract_tests/judging/classification.py): each condition
on a good and a bad input, then the whole rule on each error vocabulary the suite meets."""

from __future__ import annotations

import pytest
from helpers import exchange

from contract_tests.judging import classification as c
from contract_tests.judging.classification import Signatures
from contract_tests.sending.exchange import LoginRequest

pytestmark = pytest.mark.unit  # the fast lane: python -m pytest tests -m unit

UNKNOWN = {"email": "conformance-unknown@example.com", "password": "Unknown-Acc0unt-Passw0rd!"}


def by_username(status, body, username="u" * 68 + "@example.com", **kw):
    request = LoginRequest(purpose="canned", expect="failure", json={"username": username, "password": "x"})
    return exchange(status, body, request=request, **kw)


# ------------------------------------------------------------------------------------------------ conditions


def test_issues_token():
    assert c.issues_token(exchange(201, {"token": "t", "user_uuid": "u"}))
    assert not c.issues_token(exchange(201, {"token": "", "error": "NO_SUCH_USER"}))


@pytest.mark.parametrize("ex", [
    exchange(429, {"error": "RATE_LIMITED"}),
    exchange(423, {"error": "ACCOUNT_LOCKED"}),
    exchange(201, {"error": "TOO_MANY_ATTEMPTS"}),
    exchange(403, {"error": "CAPTCHA_REQUIRED"}),
    exchange(413, raw=b"<html>413</html>", headers={"content-type": "text/html"}),
    exchange(500, {"error": "INTERNAL_ERROR"}),
    exchange(None, None),
    exchange(201, {"error": "USER_FORBIDDEN"}),
    exchange(403, {"error": "USER_FORBIDDEN"}),
], ids=["429", "423", "too-many", "captcha", "413", "500", "no-answer", "2xx-user-forbidden", "403-user-forbidden"])
def test_policy_answers_judge_no_field(ex):
    assert c.is_policy_answer(ex)


@pytest.mark.parametrize("ex", [
    exchange(400, {"error": "USERNAME_TOO_LONG"}),
    exchange(201, {"error": "NO_SUCH_USER"}),
    exchange(404, {"error": "NO_SUCH_USER"}),
    exchange(422, {"detail": [{"type": "value_error"}]}),
    exchange(401, {"detail": "Incorrect email or password"}),
], ids=["400-code", "201-error", "404-no-such-user", "422-detail", "401-detail"])
def test_refusals_of_the_request_are_not_policy_answers(ex):
    assert not c.is_policy_answer(ex)


def test_error_value_masks_per_request_parts_only():
    assert c.error_value(exchange(401, {"error": "Login failed (ref 9f1c2d3e-0a1b-4c2d-8e3f-123456789abc)"})) == \
        "Login failed (ref #)"
    assert c.error_value(exchange(401, {"error": "failed at 2026-11-30T22:48:20Z, trace 3f9a0c12bd4e77aa"})) == \
        "failed at #, trace #"
    assert c.error_value(exchange(400, {"error": "E1002"})) == "E1002"  # short codes are kept
    assert c.error_value(exchange(400, {"error": "USERNAME_TOO_LONG"})) != c.error_value(
        exchange(400, {"error": "INVALID_EMAIL"}))
    assert c.error_value(exchange(400, {"error": {"code": 1}})) == "<object>"
    assert c.error_value(exchange(400, {"message": "x"})) is None


def test_body_shape_is_keys_and_types_not_values():
    a = exchange(400, {"error": "Bad Request", "message": ["email must be an email"], "statusCode": 400})
    b = exchange(400, {"error": "Bad Request", "message": ["password should not be empty"], "statusCode": 400})
    string = exchange(400, {"error": "Bad Request", "message": "Invalid credentials", "statusCode": 400})
    assert c.body_shape(a) == c.body_shape(b) == "{error: string, message: array, statusCode: number}"
    assert c.body_shape(string) != c.body_shape(a)
    assert c.body_shape(exchange(400, raw=b"<html/>", headers={"content-type": "text/html"})) == \
        "<non-JSON body, text/html>"
    assert c.body_shape(exchange(400, raw=b"")) == "(empty body)"


def test_differences_name_the_features_and_leave_out_volatile_ones():
    a = exchange(401, {"error": "INVALID_CREDENTIALS"})
    assert c.differences(a, exchange(401, {"error": "INVALID_CREDENTIALS"})) == []
    assert c.differences(a, exchange(400, {"error": "INVALID_EMAIL"})) == ["status", "error"]
    assert c.differences(a, exchange(401, {"error": "INVALID_CREDENTIALS", "d": []})) == ["body shape"]
    assert c.differences(a, exchange(400, {"error": "INVALID_EMAIL"}), frozenset({"error"})) == ["status"]


def test_identifier_field_email_decides():
    assert c.identifier_field(exchange(401, {})) == "email"
    assert c.identifier_field(by_username(401, {})) == "username"
    both = LoginRequest(purpose="canned", expect="failure", json={"email": "a@example.com", "username": "b", "password": "x"})
    assert c.identifier_field(exchange(401, {}, request=both)) == "email"
    assert c.identifier_field(exchange(400, {}, request=LoginRequest(purpose="p", expect="invalid", raw=b"[]"))) == "email"


# ------------------------------------------------------------------------------------------ vocabularies

def learn(validation, unknown, repeated=None, username=None, wrong_password=None):
    """Signatures as the suite's fixture builds them (probes answered as given)."""
    credential = [exchange(*unknown)]
    credential.append(by_username(*(username or unknown)))
    if wrong_password is not None:
        credential.append(exchange(*wrong_password))
    return Signatures([exchange(*v) for v in validation], credential,
                      exchange(*(repeated or unknown)))


VOCABULARIES = {
    # name: (validation probe answers, unknown account, wrong password, a validation answer, a credential answer)
    "vendor-201-error": (
        [(201, {"error": "INVALID_REQUEST"})] * 3, (201, {"error": "NO_SUCH_USER"}), (201, {"error": "WRONG_PASSWORD"}),
        (201, {"error": "INVALID_EMAIL"}), (201, {"error": "WRONG_PASSWORD"})),
    "nestjs-message-arrays": (
        [(400, {"message": ["password should not be empty"], "error": "Bad Request", "statusCode": 400})] * 3,
        (201, {"error": "NO_SUCH_USER"}), (201, {"error": "WRONG_PASSWORD"}),
        (400, {"message": ["email must be an email"], "error": "Bad Request", "statusCode": 400}),
        (201, {"error": "NO_SUCH_USER"})),
    "nestjs-bad-request-for-credentials": (
        [(400, {"message": ["password must be a string"], "error": "Bad Request", "statusCode": 400})] * 3,
        (400, {"message": "Invalid credentials", "error": "Bad Request", "statusCode": 400}), None,
        (400, {"message": ["email must be an email"], "error": "Bad Request", "statusCode": 400}),
        (400, {"message": "Invalid credentials", "error": "Bad Request", "statusCode": 400})),
    "fastapi-contract": (
        [(400, {"error": "PASSWORD_REQUIRED", "detail": ["Field required"]}),
         (400, {"error": "INVALID_BODY", "detail": ["Input should be a valid dictionary"]}),
         (400, {"error": "INVALID_PASSWORD", "detail": ["Input should be a valid string"]})],
        (401, {"error": "INVALID_CREDENTIALS"}), (401, {"error": "INVALID_CREDENTIALS"}),
        (400, {"error": "USERNAME_TOO_LONG", "detail": ["String should have at most 80 characters"]}),
        (401, {"error": "INVALID_CREDENTIALS"})),
    "fastapi-defaults": (
        [(422, {"detail": [{"type": "missing", "loc": ["body", "password"], "msg": "Field required"}]})] * 3,
        (401, {"detail": "Incorrect email or password"}), (401, {"detail": "Incorrect email or password"}),
        (422, {"detail": [{"type": "value_error", "loc": ["body", "email"], "msg": "value is not a valid email"}]}),
        (401, {"detail": "Incorrect email or password"})),
    "per-field-codes-same-status": (
        [(400, {"error": "PASSWORD_REQUIRED"}), (400, {"error": "BODY_NOT_AN_OBJECT"}),
         (400, {"error": "PASSWORD_NOT_A_STRING"})],
        (400, {"error": "INVALID_CREDENTIALS"}), None,
        (400, {"error": "USERNAME_TOO_LONG"}), (400, {"error": "INVALID_CREDENTIALS"})),
}


@pytest.mark.parametrize("name", VOCABULARIES)
def test_each_vocabulary_is_decided(name):
    probes, unknown, wrong, validation, credential = VOCABULARIES[name]
    sig = learn(probes, unknown, wrong_password=wrong)
    assert sig.distinguishable
    assert sig.classify(exchange(*validation)) == "validation"
    assert sig.classify(exchange(*credential)) == "credential"
    assert sig.classify(by_username(*validation)) == "validation"
    assert sig.classify(by_username(*unknown)) == "credential"
    assert sig.classify(exchange(201, {"token": "t", "user_uuid": "u"})) == "success"


def test_validation_answered_like_credentials_is_undecided():
    same = (401, {"error": "INVALID_CREDENTIALS"})
    sig = learn([same] * 3, same)
    assert not sig.distinguishable
    assert sig.classify(exchange(*same)) == "unknown"  # a credential failure, or a validation failure alike
    assert "credential failure by email = 401 error 'INVALID_CREDENTIALS'" in sig.describe()
    # ...but an answer that does differ is still a validation failure
    assert sig.classify(exchange(400, {"error": "USERNAME_TOO_LONG"})) == "validation"


def test_a_probe_the_framework_accepts_drops_out_of_the_validation_signature():
    """A validator that coerces {"password": 12345} to "12345" answers it as a credential failure: that probe says
    nothing of how refusals look; the other probes were refused unlike credentials, so the boundary is known."""
    credential = (401, {"error": "INVALID_CREDENTIALS"})
    sig = learn([(400, {"error": "PASSWORD_REQUIRED"}), (400, {"error": "INVALID_BODY"}), credential], credential)
    assert sig.distinguishable
    assert sig.classify(exchange(*credential)) == "credential"
    assert sig.classify(by_username(400, {"error": "USERNAME_TOO_LONG"})) == "validation"


def _invalid_username(status, body):
    request = LoginRequest(purpose="username of 81 code points", expect="invalid",
                           json={"username": "u" * 69 + "@example.com", "password": "x"})
    return exchange(status, body, request=request)


def test_the_runs_invalid_requests_count_as_evidence():
    """Every probe answered like a credential failure, but the run then sees over-limit usernames refused 400:
    the at-limit ones answered 401 are credential failures from then on."""
    credential = (401, {"error": "INVALID_CREDENTIALS"})
    sig = learn([credential] * 3, credential)
    assert sig.classify(by_username(*credential)) == "unknown"  # no evidence yet
    assert "every validation failure seen was answered like a credential failure" in \
        sig.why_unknown(by_username(*credential))
    sig.classify(by_username(400, {"error": "USERNAME_TOO_LONG"}))  # a request expected to *fail*: no evidence
    assert sig.evidence == [] and sig.classify(by_username(*credential)) == "unknown"
    refused = _invalid_username(400, {"error": "USERNAME_TOO_LONG"})
    assert sig.classify(refused) == "validation" and sig.evidence == [refused]
    assert sig.classify(by_username(*credential)) == "credential"
    assert "1 schema-invalid request(s) of the run answered unlike a credential failure" in sig.describe()


def test_every_probe_answered_like_credentials_stays_undecided():
    credential = (401, {"error": "INVALID_CREDENTIALS"})
    sig = learn([credential] * 3, credential)
    sig.classify(_invalid_username(*credential))  # the run's invalid requests alike too: no evidence
    assert not sig.distinguishable and sig.classify(exchange(*credential)) == "unknown"


def test_wrong_password_may_differ_from_unknown_account():
    """SEC-01 (SHOULD) asks them alike; a server where they differ still has two credential answers."""
    sig = learn([(400, {"error": "INVALID_REQUEST"})] * 3, (404, {"error": "NO_SUCH_USER"}),
                wrong_password=(401, {"error": "WRONG_PASSWORD"}))
    assert sig.classify(exchange(401, {"error": "WRONG_PASSWORD"})) == "credential"
    assert sig.classify(exchange(404, {"error": "NO_SUCH_USER"})) == "credential"
    assert sig.classify(exchange(400, {"error": "INVALID_REQUEST"})) == "validation"


def test_per_request_fields_do_not_make_every_answer_differ():
    def answer(status, error, rid, when):
        return status, {"error": error, "request_id": rid, "timestamp": when}

    sig = learn([answer(400, "INVALID_REQUEST", "a1", "2026-11-30T22:48:20Z")] * 3,
                answer(201, "NO_SUCH_USER", "b2", "2026-11-30T22:48:21Z"),
                repeated=answer(201, "NO_SUCH_USER", "c3", "2026-11-30T22:48:22Z"))
    assert sig.volatile == frozenset()
    assert sig.classify(exchange(*answer(201, "NO_SUCH_USER", "d4", "2026-11-30T22:49:00Z"))) == "credential"
    assert sig.classify(exchange(*answer(400, "INVALID_EMAIL", "e5", "2026-11-30T22:49:01Z"))) == "validation"


def test_an_error_echoing_the_address_is_left_out_of_comparisons():
    sig = learn([(400, {"error": "Invalid request"})] * 3, (401, {"error": "No account for a@example.com"}),
                repeated=(401, {"error": "No account for b@example.com"}),
                username=(401, {"error": "No account for c@example.com"}))
    assert sig.volatile == frozenset({"error"})
    assert sig.classify(by_username(401, {"error": "No account for uuuu@example.com"})) == "credential"
    assert sig.classify(exchange(400, {"error": "Invalid email"})) == "validation"
    assert "changing per request: error" in sig.describe()


def test_username_credential_answer_is_learned_on_its_own():
    """A server naming the field in its credential error: a username login is compared with a username login."""
    sig = learn([(400, {"error": "INVALID_REQUEST"})] * 3, (401, {"error": "EMAIL_NOT_FOUND"}),
                username=(401, {"error": "USERNAME_NOT_FOUND"}))
    assert sig.classify(by_username(401, {"error": "USERNAME_NOT_FOUND"})) == "credential"
    assert sig.classify(by_username(400, {"error": "USERNAME_TOO_LONG"})) == "validation"
    assert sig.classify(exchange(401, {"error": "USERNAME_NOT_FOUND"})) == "validation"  # not an email answer


def test_policy_answers_are_neither_learned_nor_classified():
    sig = learn([(500, {"error": "INTERNAL_ERROR"}), (400, {"error": "INVALID_REQUEST"})],
                (429, {"error": "RATE_LIMITED"}), username=(401, {"error": "INVALID_CREDENTIALS"}))
    assert sig.credential["email"] == [] and len(sig.credential["username"]) == 1
    assert [ex.status for ex in sig.refusals] == [400]
    assert sig.classify(exchange(400, {"error": "INVALID_EMAIL"})) == "unknown"  # no email answer to compare with
    assert sig.classify(by_username(400, {"error": "USERNAME_TOO_LONG"})) == "validation"
    assert sig.classify(by_username(423, {"error": "ACCOUNT_LOCKED"})) == "unknown"
    assert sig.classify(by_username(500, {"error": "INTERNAL_ERROR"})) == "unknown"
    assert not sig.distinguishable  # nothing learned for email


def test_no_clean_validation_probe_leaves_credential_answers_undecided():
    sig = learn([(500, {"error": "INTERNAL_ERROR"})] * 3, (401, {"error": "INVALID_CREDENTIALS"}))
    assert not sig.distinguishable
    assert sig.classify(exchange(401, {"error": "INVALID_CREDENTIALS"})) == "unknown"
    assert sig.classify(exchange(400, {"error": "INVALID_EMAIL"})) == "validation"
    assert "none refused as such" in sig.describe()


def test_why_unknown_names_the_cause():
    same = (401, {"error": "INVALID_CREDENTIALS"})
    alike = learn([same, same], same)
    assert alike.why_unknown(exchange(*same)).startswith("every validation failure seen was answered like a "
                                                          "credential failure: canned got 401 error 'INVALID_CREDENTIALS'")
    assert "policy answer" in alike.why_unknown(exchange(429, {"error": "RATE_LIMITED"}))
    no_email = learn([(400, {"error": "INVALID_REQUEST"})], (500, {}), username=same)
    assert no_email.why_unknown(exchange(401, {})) == "no credential failure for a login by email was observed to compare with"
    crashed = learn([(500, {})], same)
    assert "no unmistakably invalid probe was refused" in crashed.why_unknown(exchange(*same))


def test_a_body_parsers_refusal_says_nothing_of_the_field_validation():
    """Validation of the fields answered exactly like credentials, only a non-object body refused 400 (by the body
    parser, before any field is read): field-level answers stay undecided."""
    credential = (401, {"error": "INVALID_CREDENTIALS"})
    non_object = exchange(400, {"error": "INVALID_BODY"}, request=LoginRequest(
        purpose="validation probe: non-object body", expect="invalid", json=["not", "an", "object"]))
    sig = Signatures([exchange(*credential), non_object, exchange(*credential)],
                     [exchange(*credential), by_username(*credential)], exchange(*credential))
    assert not sig.distinguishable
    assert sig.classify(_invalid_username(*credential)) == "unknown"
    # the same refusal of a JSON object is field-level evidence
    sig.classify(_invalid_username(400, {"error": "INVALID_BODY"}))
    assert sig.distinguishable
