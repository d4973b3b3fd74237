"""Each check against a canned good and a canned bad response."""

import time

import pytest
from helpers import exchange, jwt

from contract_tests.judging import checks
from contract_tests.judging.checks import Mismatch

pytestmark = pytest.mark.unit  # the fast lane: python -m pytest tests -m unit

GOOD_TOKEN = jwt({"alg": "HS256", "typ": "JWT"}, {"sub": "u1", "exp": int(time.time()) + 3600})
SUCCESS = {"token": GOOD_TOKEN, "user_uuid": "u1", "username": "demo", "avatar_url": "", "email": "d@x.test"}


def holds(check, ex, *args):
    check(ex, *args)


def breaks(check, ex, *args):
    with pytest.raises(Mismatch) as info:
        check(ex, *args)
    assert info.value.expected  # every mismatch says what was expected
    return info.value


CASES = [
    # check, args, good exchange, bad exchange
    (checks.status_is, (201,), exchange(201, SUCCESS), exchange(200, SUCCESS)),
    (checks.status_in, ((415, 400),), exchange(400, {"error": "X"}), exchange(422, {"error": "X"})),
    (checks.not_5xx, (), exchange(400, {"error": "X"}), exchange(500, {"error": "X"})),
    (checks.is_4xx, (), exchange(415, {"error": "X"}), exchange(201, {"error": "X"})),
    (checks.is_json_object, (), exchange(401, {"error": "X"}),
     exchange(401, raw=b"<html>401</html>", headers={"content-type": "text/html"})),
    (checks.is_json_object, (), exchange(401, {"error": "X"}, {"content-type": "application/problem+json"}),
     exchange(401, ["error"])),
    (checks.has_error, (), exchange(401, {"error": "WRONG_PASSWORD"}), exchange(401, {"error": ""})),
    (checks.has_error, (), exchange(201, {"error": "ALREADY_LOGGEDIN"}), exchange(401, {"message": "bad"})),
    (checks.no_error, (), exchange(201, SUCCESS), exchange(201, {**SUCCESS, "error": "OK"})),
    (checks.no_error, (), exchange(201, {**SUCCESS, "error": None}), exchange(201, {**SUCCESS, "error": ""})),
    (checks.no_token, (), exchange(401, {"error": "X"}), exchange(401, {"error": "X", "token": "abc"})),
    (checks.no_token, (), exchange(401, {"error": "X", "token": ""}),
     exchange(401, {"error": "X"}, {"set-cookie": f"session={GOOD_TOKEN}"})),
    (checks.success_shape, (), exchange(201, {**SUCCESS, "username": None}), exchange(201, {**SUCCESS, "username": 7})),
    (checks.no_null_fields, (), exchange(201, SUCCESS), exchange(201, {**SUCCESS, "username": None})),
    (checks.same_account, ("u1",), exchange(201, SUCCESS), exchange(201, {**SUCCESS, "user_uuid": "u2"})),
    (checks.same_account, ("u1",), exchange(201, SUCCESS), exchange(401, {"error": "X"})),
    (checks.same_account_or_4xx, ("u1",), exchange(400, {"error": "X"}), exchange(201, {**SUCCESS, "user_uuid": "u2"})),
    (checks.same_account_or_4xx, ("u1",), exchange(201, SUCCESS), exchange(201, {"error": "X"})),
    (checks.success_shape, (), exchange(201, {**SUCCESS, "extra": [1]}), exchange(201, {**SUCCESS, "user_uuid": ""})),
    (checks.success_shape, (), exchange(201, SUCCESS, {"content-type": "text/plain"}),
     exchange(201, {**SUCCESS, "token": None})),
    (checks.json_object_body, (), exchange(401, {"error": "X"}, {"content-type": "text/html"}),
     exchange(401, raw=b"<html>401</html>", headers={"content-type": "application/json"})),
    (checks.json_content_type, (), exchange(401, {"error": "X"}, {"content-type": "application/problem+json"}),
     exchange(401, {"error": "X"}, {"content-type": "text/html"})),
    (checks.jws_shape, (), exchange(201, SUCCESS),
     exchange(201, {**SUCCESS, "token": jwt({"alg": "none"}, {"sub": "u1"}, "")})),
    (checks.jws_shape, (), exchange(201, SUCCESS),
     exchange(201, {**SUCCESS, "token": jwt({"alg": "HS256"}, {"sub": "u1"}, "")})),
    (checks.jws_shape, (), exchange(201, SUCCESS), exchange(201, {**SUCCESS, "token": "opaque-session-id"})),
    (checks.exp_valid, (), exchange(201, {**SUCCESS, "token": jwt({"alg": "HS256"}, {"sub": "u"})}),
     exchange(201, {**SUCCESS, "token": jwt({"alg": "HS256"}, {"exp": int(time.time()) - 10})})),
    (checks.exp_valid, (), exchange(201, SUCCESS),
     exchange(201, {**SUCCESS, "token": jwt({"alg": "HS256"}, {"exp": "tomorrow"})})),
    (checks.exp_bounded, (30 * 86400,), exchange(201, SUCCESS),
     exchange(201, {**SUCCESS, "token": jwt({"alg": "HS256"}, {"exp": int(time.time()) + 400 * 86400})})),
    (checks.exp_bounded, (30 * 86400,), exchange(201, SUCCESS),
     exchange(201, {**SUCCESS, "token": jwt({"alg": "HS256"}, {"sub": "no expiry"})})),
    (checks.fresh_token, ("first-token",), exchange(201, SUCCESS), exchange(201, {**SUCCESS, "token": "first-token"})),
    (checks.fresh_token, (GOOD_TOKEN,), exchange(201, {**SUCCESS, "token": GOOD_TOKEN + "x"}), exchange(201, SUCCESS)),
    (checks.token_free_of, ("S3cret-Pw!",), exchange(201, SUCCESS),
     exchange(201, {**SUCCESS, "token": jwt({"alg": "HS256"}, {"pwd": "S3cret-Pw!"})})),
    (checks.no_password_echo, (["S3cret-Pw!"],), exchange(401, {"error": "X"}),
     exchange(401, {"error": "X", "detail": "wrong password S3cret-Pw!"})),
    (checks.no_secret_keys, (), exchange(401, {"error": "X"}), exchange(201, {**SUCCESS, "user": {"password_hash": "x"}})),
    (checks.no_hash_strings, (), exchange(401, {"error": "X"}),
     exchange(401, {"error": "X", "debug": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"})),
    (checks.no_hash_strings, (), exchange(401, {"error": "X"}), exchange(401, {"error": "$2b$12$abcdefghijklmnopqrstuv"})),
    (checks.no_db_error_text, (), exchange(400, {"error": "INVALID_REQUEST"}),
     exchange(500, {"error": 'sqlite3.OperationalError: near "x": syntax error'})),
    (checks.cache_no_store, (), exchange(201, SUCCESS, {"cache-control": "private, no-store"}),
     exchange(201, SUCCESS, {"cache-control": "no-cache"})),
    (checks.nosniff, (), exchange(401, {"error": "X"}), exchange(401, {"error": "X"}, {"x-content-type-options": ""})),
    (checks.hsts, (), exchange(401, {}, {"strict-transport-security": "max-age=63072000; includeSubDomains"}),
     exchange(401, {}, {"strict-transport-security": "max-age=86400"})),
    (checks.cors_safe, ("https://evil.example",), exchange(403, {}, {"access-control-allow-origin": "https://app.test",
                                                                    "access-control-allow-credentials": "true"}),
     exchange(200, {}, {"access-control-allow-origin": "https://evil.example", "access-control-allow-credentials": "true"})),
    (checks.cors_safe, ("null",), exchange(200, {}, {"access-control-allow-origin": "*"}),
     exchange(200, {}, {"access-control-allow-origin": "*", "access-control-allow-credentials": "true"})),
    (checks.allows_post, (), exchange(405, {"error": "X"}, {"allow": "POST, OPTIONS"}),
     exchange(405, {"error": "X"}, {"allow": "GET"})),
    (checks.allows_post, (), exchange(405, {"error": "X"}, {"allow": "post"}), exchange(404, {"error": "X"})),
    (checks.www_authenticate_on_401, (), exchange(401, {"error": "X"}, {"www-authenticate": 'Bearer realm="x"'}),
     exchange(401, {"error": "X"})),
]


# --- login security checks: TOKEN-03 credential material, TOKEN-04 weak HMAC key, SEC-08 internal error details
def _hs(key: str, alg: str = "HS256", claims: dict | None = None) -> str:
    import base64
    import hashlib
    import hmac
    import json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = b64(json.dumps(claims or {"sub": "u1"}).encode())
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    return f"{head}.{body}." + b64(hmac.new(key.encode(), f"{head}.{body}".encode(), digest).digest())


SECURITY_CASES = [
    (checks.hmac_key_not_weak, (), exchange(201, {**SUCCESS, "token": _hs("k9$Qz!long-random-key-0f3a9c2e7b11d4")}),
     exchange(201, {**SUCCESS, "token": _hs("your-256-bit-secret")})),
    (checks.hmac_key_not_weak, (), exchange(201, {**SUCCESS, "token": _hs("k9$Qz!long-random-key", "HS512")}),
     exchange(201, {**SUCCESS, "token": _hs("secret", "HS512")})),
    (checks.hmac_key_not_weak, (), exchange(201, SUCCESS), exchange(201, {**SUCCESS, "token": _hs("")})),
    (checks.no_credential_material, (["Demo-Passw0rd!"],),
     exchange(201, {**SUCCESS, "token": jwt({"alg": "HS256"}, {"sub": "u", "at_hash": "x1", "pwd_changed_at": 5})}),
     exchange(201, {**SUCCESS, "token": jwt({"alg": "HS256"}, {"sub": "u", "pwd_hash": "abc"})})),
    (checks.no_credential_material, (["Demo-Passw0rd!"],), exchange(201, SUCCESS),
     exchange(201, {**SUCCESS, "token": jwt({"alg": "HS256"}, {"sub": "u", "v": "$2b$12$" + "a" * 53})})),
    (checks.no_credential_material, (["Demo-Passw0rd!", "demo-passw0rd!"],), exchange(201, SUCCESS),
     exchange(201, {**SUCCESS, "token": jwt({"alg": "HS256"}, {"sub": "u", "p": "demo-passw0rd!"})})),
    (checks.no_credential_material, ([],), exchange(201, SUCCESS),
     exchange(201, {**SUCCESS, "token": jwt({"alg": "HS256", "kid": {"secret": "k"}}, {"sub": "u"})})),
    (checks.no_internal_error_details, (), exchange(400, {"error": "WRONG_PASSWORD"}),
     exchange(500, {"error": "x", "trace": 'Traceback (most recent call last):\n  File "/app/x.py", line 3, in f'})),
    (checks.no_internal_error_details, (),
     exchange(400, {"statusCode": 400, "message": ["email must be an email"], "error": "Bad Request"}),
     exchange(500, {"message": "TypeError: Cannot read properties of undefined (reading 'password')"})),
    (checks.no_internal_error_details, (),
     exchange(422, {"detail": [{"type": "missing", "loc": ["body", "password"], "msg": "Field required",
                                "input": {"email": "a@b.test"}, "url": "https://errors.pydantic.dev/2.5/v/missing"}]}),
     exchange(500, {"error": "QueryFailedError: duplicate key value violates unique constraint \"users_pkey\""})),
    (checks.no_internal_error_details, (),
     exchange(400, {"statusCode": 400, "message": "Unexpected token } in JSON at position 12", "error": "Bad Request"}),
     exchange(400, raw=b"<pre>SyntaxError: Unexpected token<br> &nbsp;at parse (/app/node_modules/body-parser/lib/"
                       b"types/json.js:92:19)</pre>", headers={"content-type": "text/html"})),
    (checks.no_internal_error_details, (),
     exchange(500, {"timestamp": "2024-01-01T00:00:00Z", "status": 500, "error": "Internal Server Error"}),
     exchange(500, raw=b"<h1>Whitelabel Error Page</h1>", headers={"content-type": "text/html"})),
]


CASES += SECURITY_CASES

# --- levels and stronger probes: RESP-01's MUST (a token for the right credentials), INPUT-08 (not the credential-failure answer)
CREDENTIAL_FAILURE = exchange(401, {"error": "INVALID_CREDENTIALS"})
LEVEL_CASES = [
    (checks.issues_token, (), exchange(200, SUCCESS), exchange(201, {**SUCCESS, "token": ""})),
    (checks.issues_token, (), exchange(201, SUCCESS), exchange(401, {"error": "INVALID_CREDENTIALS"})),
    (checks.answers_unlike, (CREDENTIAL_FAILURE, "the credential failure"), exchange(413, {"error": "INVALID_CREDENTIALS"}),
     exchange(401, {"error": "INVALID_CREDENTIALS", "detail": "other text"})),
    (checks.answers_unlike, (CREDENTIAL_FAILURE, "the credential failure"), exchange(401, {"error": "PAYLOAD_TOO_LARGE"}),
     exchange(401, {"error": "INVALID_CREDENTIALS"}, {"content-type": "application/json; charset=utf-8"})),
]
CASES += LEVEL_CASES


@pytest.mark.parametrize("check, args, good, bad", CASES, ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)])
def test_check_accepts_good_and_rejects_bad(check, args, good, bad):
    holds(check, good, *args)
    breaks(check, bad, *args)


def test_every_public_check_has_a_case():
    tested = {c[0].__name__ for c in CASES}
    public = {
        name for name in checks.__all__
        if callable(getattr(checks, name)) and name not in {"Mismatch", "failure_fingerprint"}
    }
    assert public - tested == set()


def test_failure_fingerprint_ignores_volatile_headers_only():
    a = exchange(401, {"error": "INVALID_CREDENTIALS"}, {"date": "Mon", "x-request-id": "1"})
    b = exchange(401, {"error": "INVALID_CREDENTIALS"}, {"date": "Tue", "x-request-id": "2"})
    assert checks.failure_fingerprint(a) == checks.failure_fingerprint(b)
    c = exchange(404, {"error": "NO_SUCH_USER"})
    assert checks.failure_fingerprint(a) != checks.failure_fingerprint(c)
    d = exchange(401, {"error": "INVALID_CREDENTIALS"}, {"x-account-locked": "0"})
    assert checks.failure_fingerprint(a) != checks.failure_fingerprint(d)



def test_weak_key_names_the_key_but_never_the_token():
    token = _hs("changeme")
    mismatch = breaks(checks.hmac_key_not_weak, exchange(201, {**SUCCESS, "token": token}))
    assert "'changeme'" in str(mismatch) and token not in str(mismatch)


def test_identical_tokens_name_the_claims_that_made_them_equal():
    """AUTH-08: two logins in one second with second-resolution `iat` and no `jti` sign the same claims."""
    token = jwt({"alg": "HS256"}, {"sub": "u1", "iat": 1764547200, "exp": 1764550800})
    why = breaks(checks.fresh_token, exchange(201, {**SUCCESS, "token": token}), token).actual
    assert "identical header and claims (`sub`, `iat`, `exp`)" in why
    assert "`iat` has 1-second resolution" in why and "no `jti`" in why
    with_jti = jwt({"alg": "HS256"}, {"sub": "u1", "iat": 1764547200.25, "jti": "a"})
    why = breaks(checks.fresh_token, exchange(201, {**SUCCESS, "token": with_jti}), with_jti).actual
    assert "1-second" not in why and "jti" in why  # named among the claims, not as the missing one
    assert "no `jti`" not in why
    assert "opaque token" in breaks(checks.fresh_token, exchange(201, {**SUCCESS, "token": "abc"}), "abc").actual


def test_tokens_that_differ_only_by_the_clock_are_not_fresh_per_login():
    """AUTH-08 decided from the claims, whatever second each login fell in."""
    first = jwt({"alg": "HS256"}, {"sub": "u1", "iat": 1764547200, "exp": 1764550800})
    next_second = jwt({"alg": "HS256"}, {"sub": "u1", "iat": 1764547201, "exp": 1764550801})
    why = breaks(checks.fresh_token, exchange(201, {**SUCCESS, "token": next_second}), first).actual
    assert "differ only in `exp`, `iat` (whole seconds)" in why and "no `jti`" in why
    fresh = [  # each of these tells two logins apart by more than the clock: a pass
        jwt({"alg": "HS256"}, {"sub": "u1", "iat": 1764547201, "exp": 1764550801, "jti": "b"}),
        jwt({"alg": "HS256"}, {"sub": "u1", "iat": 1764547200.5, "exp": 1764550800}),  # sub-second iat
        jwt({"alg": "HS256"}, {"sub": "u1", "iat": 1764547201, "exp": 1764550801, "sid": "s2"}),  # another claim
        "an-opaque-session-id",
    ]
    with_jti = jwt({"alg": "HS256"}, {"sub": "u1", "iat": 1764547200, "exp": 1764550800, "jti": "a"})
    for token, before in zip(fresh, (with_jti, first, first, first)):
        checks.fresh_token(exchange(201, {**SUCCESS, "token": token}), before)


@pytest.mark.parametrize("ex, says, never", [
    (exchange(500, raw=b"Internal Server Error", headers={"content-type": "text/plain; charset=utf-8"}),
     ["the body is not JSON", "'text/plain; charset=utf-8'", "b'Internal Server Error'"], ['"error" is']),
    (exchange(401, raw=b""), ["the body is empty"], ['"error" is']),
    (exchange(401, ["error"]), ["JSON an array, not an object"], ['"error" is']),
    (exchange(401, {"message": "bad"}), ['no "error" key', "message"], ["null"]),
    (exchange(401, {"error": None}), ['"error" is null'], []),
    (exchange(401, {"error": 7}), ['"error" is a number 7'], []),
    (exchange(401, {"error": " "}), ['"error" is an empty string'], []),
])
def test_missing_error_says_what_the_body_is(ex, says, never):
    """RESP-05 on a body that is not JSON says so (never `"error" is 'null'`, which reads as `"error": null`)."""
    actual = breaks(checks.has_error, ex).actual
    for words in says:
        assert words in actual
    for words in never:
        assert words not in actual


# ------------------------------------------------------------------ INPUT-06 and coercing validators
def test_a_coerced_login_attempt_is_not_judged_as_a_refusal():
    """A number where a string is wanted, answered exactly like the run's credential failure (a 201 with `error`, the
    vendor's style): a coercing validator read a login attempt, INPUT-06 (the status of refusals) does not judge it;
    the same request answered 201 with another error, or a missing password answered 201, still fails INPUT-06."""
    from contract_tests.judging import invariants, verdicts
    from contract_tests.sending.exchange import Exchange, LoginRequest
    from contract_tests.sending.secrets import Redactor

    def exchange(expect, body, status, error):
        ex = Exchange(request=LoginRequest("p", expect, json=body), base_url="http://t", redactor=Redactor())
        ex.status, ex.headers = status, __import__("httpx").Headers({"content-type": "application/json"})
        ex.body = __import__("json").dumps({"error": error}).encode()
        return ex

    ledger = verdicts.Ledger()
    observer = invariants.Observer(ledger)
    ctx = verdicts.TestContext("t", ("INPUT-06",))
    with ledger.running(ctx):
        observer(exchange("failure", {"email": "a@example.com", "password": "wrong"}, 201, "INVALID_CREDENTIALS"))
        observer(exchange("invalid", {"email": "a@example.com", "password": 12345}, 201, "INVALID_CREDENTIALS"))
        assert not ctx.failed("INPUT-06", repeats=True)
        observer(exchange("invalid", {"email": "a@example.com", "password": 12345}, 201, "INVALID_REQUEST"))
        observer(exchange("invalid", {"email": "a@example.com"}, 201, "INVALID_CREDENTIALS"))
        assert len(ctx.failed("INPUT-06", repeats=True)) == 2
