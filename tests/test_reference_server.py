"""Tests of the bundled reference server (contract_tests/reference): conforming behaviour, faults, variants,
start/stop, command line."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import jwt
import pytest
import yaml

from contract_tests import reference
from contract_tests.reference import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    FAULTS,
    LOGIN_PATH,
    OTHER_EMAIL,
    OTHER_PASSWORD,
    VARIANTS,
    LoginService,
    RunningServer,
    create_app,
    start_reference_server,
)
from fault_detectors import FAULT_PROBES
from fuzz_detectors import FUZZ_PROBES
from opt_in_detectors import OPT_IN_PROBES
from parser_detectors import PARSER_PROBES

ROOT = Path(__file__).resolve().parents[1]
JSON = {"Content-Type": "application/json"}
HSTS = "max-age=31536000; includeSubDomains"


# ---------------------------------------------------------------------------------------------- fixtures / helpers
@pytest.fixture(scope="module")
def servers():
    """Factory: one running server per (fault, variant), started on demand, all stopped together at the end."""
    running: dict[tuple, RunningServer] = {}

    def get(fault=None, variant=None, fresh=False) -> RunningServer:
        key = (fault, variant)
        if fresh or key not in running:
            server = start_reference_server(fault=fault, variant=variant)
            if fresh:
                running[(fault, variant, id(server))] = server
            else:
                running[key] = server
            return server
        return running[key]

    yield get
    for server in running.values():
        server.stop(wait=False)
    for server in running.values():
        server.stop()


OPEN_CLIENTS: list[httpx.Client] = []


@pytest.fixture(autouse=True)
def _close_clients():
    """Close the httpx clients a test opened (module-scoped ones are closed by their fixture)."""
    before = len(OPEN_CLIENTS)
    yield
    while len(OPEN_CLIENTS) > before:
        OPEN_CLIENTS.pop().close()


class Api:
    """Tiny httpx wrapper that checks the invariants every reference response must satisfy."""

    def __init__(self, server: RunningServer, strict: bool = True):
        self.server = server
        self.strict = strict
        self.http = httpx.Client(base_url=server.url, timeout=10)
        OPEN_CLIENTS.append(self.http)

    def request(self, method, path=LOGIN_PATH, **kwargs) -> httpx.Response:
        response = self.http.request(method, path, **kwargs)
        if self.strict:
            check_invariants(response)
        return response

    def post(self, body=None, *, raw=None, headers=None, **kwargs) -> httpx.Response:
        headers = {**JSON, **(headers or {})}
        content = raw if raw is not None else json.dumps(body)
        return self.request("POST", content=content, headers=headers, **kwargs)

    def login(self, email=DEMO_EMAIL, password=DEMO_PASSWORD, **extra) -> httpx.Response:
        body = {"password": password, **extra}
        if email is not None:
            body["email"] = email
        return self.post(body)


def check_invariants(response: httpx.Response) -> None:
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["strict-transport-security"] == HSTS
    if response.request.method == "HEAD":
        return
    body = response.json()
    assert isinstance(body, dict)
    if "token" not in body:
        assert isinstance(body.get("error"), str) and body["error"]
    text = response.text
    for secret in ("$argon2", "Traceback", "sqlite", DEMO_PASSWORD, OTHER_PASSWORD):
        assert secret not in text


def is_success(response: httpx.Response) -> bool:
    return response.status_code in (200, 201) and "token" in response.json() and not response.json().get("error")


def jwt_parts(token: str) -> tuple[dict, dict, str]:
    def b64(segment):
        return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    header, claims, signature = token.split(".")
    return b64(header), b64(claims), signature


@pytest.fixture(scope="module")
def api(servers):
    client = Api(servers())
    OPEN_CLIENTS.remove(client.http)
    with client.http:
        yield client


# ---------------------------------------------------------------------------------------------- conforming: success
def test_success_shape_status_headers_and_token(api):
    response = api.login()
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"token", "user_uuid", "username", "avatar_url", "email"}
    assert all(isinstance(v, str) and v for v in body.values())
    assert body["email"] == DEMO_EMAIL and body["username"] == DEMO_USERNAME
    assert response.headers["cache-control"] == "no-store"
    header, claims, signature = jwt_parts(body["token"])
    assert header["alg"] == "HS256" and signature
    decoded = jwt.decode(body["token"], api.server.service.secret, algorithms=["HS256"])
    assert decoded == claims
    assert claims["sub"] == body["user_uuid"]
    assert claims["exp"] - claims["iat"] == 24 * 3600 and claims["exp"] > time.time()
    assert set(claims) == {"sub", "iat", "exp", "jti"}
    assert DEMO_PASSWORD not in json.dumps([header, claims])


def test_two_logins_give_different_tokens(api):
    assert api.login().json()["token"] != api.login().json()["token"]


def test_accounts_and_deprecated_username(api):
    demo = api.login().json()["user_uuid"]
    other = api.login(OTHER_EMAIL, OTHER_PASSWORD).json()
    assert other["user_uuid"] != demo and other["email"] == OTHER_EMAIL
    by_username = api.post({"username": DEMO_EMAIL, "password": DEMO_PASSWORD})
    assert by_username.status_code == 201 and by_username.json()["user_uuid"] == demo
    # email decides: right email + wrong username logs in; wrong email + right username does not
    both = api.post({"email": DEMO_EMAIL, "username": "nobody@hyper3d.test", "password": DEMO_PASSWORD})
    assert both.status_code == 201 and both.json()["user_uuid"] == demo
    assert api.post({"email": "nobody@hyper3d.test", "username": DEMO_EMAIL, "password": DEMO_PASSWORD}).status_code == 401
    assert api.login(OTHER_EMAIL, DEMO_PASSWORD).status_code == 401


def test_content_type_with_charset_is_json(api):
    assert api.post({"email": DEMO_EMAIL, "password": DEMO_PASSWORD},
                    headers={"Content-Type": "application/json; charset=utf-8"}).status_code == 201


def test_unknown_fields_are_ignored(api):
    demo = api.login().json()["user_uuid"]
    other_uuid = api.login(OTHER_EMAIL, OTHER_PASSWORD).json()["user_uuid"]
    response = api.login(user_uuid=other_uuid, role="admin", token="x", error=None)
    assert response.status_code == 201 and response.json()["user_uuid"] == demo
    assert api.login(password="wrong", user_uuid=other_uuid).status_code == 401


def test_authorization_header_is_ignored(api):
    token = api.login().json()["token"]
    forged = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."
    for value in (f"Bearer {token}", f"Bearer {forged}", "Bearer garbage", "Basic Zm9vOmJhcg==", "Bearer"):
        assert api.post({"email": DEMO_EMAIL, "password": DEMO_PASSWORD},
                        headers={"Authorization": value}).status_code == 201
        assert api.post({"email": DEMO_EMAIL, "password": "wrong"}, headers={"Authorization": value}).status_code == 401


# ---------------------------------------------------------------------------------------------- conforming: failures
def test_credential_failures_are_identical(api):
    unknown = api.login("nobody@hyper3d.test", DEMO_PASSWORD)
    wrong = api.login(DEMO_EMAIL, "not-the-password")
    for response in (unknown, wrong):
        assert response.status_code == 401
        assert response.json() == {"error": "INVALID_CREDENTIALS"}
        assert response.headers["www-authenticate"] == 'Bearer realm="hyper3d-login"'
    assert unknown.content == wrong.content
    strip = lambda r: [(k, v) for k, v in r.headers.items() if k != "date"]  # noqa: E731
    assert strip(unknown) == strip(wrong)


@pytest.mark.parametrize("password", [
    DEMO_PASSWORD.swapcase(), DEMO_PASSWORD.lower(), DEMO_PASSWORD + "x", DEMO_PASSWORD[:-1], DEMO_PASSWORD[1:],
    f" {DEMO_PASSWORD} ", DEMO_PASSWORD + "\n", "", DEMO_PASSWORD[:8], DEMO_PASSWORD[:4],
    "' OR '1'='1", "'--", DEMO_PASSWORD + "'--",
])
def test_near_miss_and_injection_passwords_never_log_in(api, password):
    response = api.login(password=password)
    assert response.status_code == 401 and "token" not in response.json()


@pytest.mark.parametrize("field", ["email", "username"])
@pytest.mark.parametrize("suffix", ["'--", "' OR '1'='1", "\"--", "'; DROP TABLE users;--", "\\'"])
def test_sql_injection_in_identifier(api, field, suffix):
    response = api.post({field: DEMO_EMAIL + suffix, "password": DEMO_PASSWORD})
    assert response.status_code in (400, 401)
    assert "token" not in response.json()
    assert api.login().status_code == 201  # table still there


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/jsonx", "text/json"])
def test_non_json_content_types_are_415(api, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    content = json.dumps({"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
    response = api.request("POST", content=content, headers=headers)
    assert response.status_code == 415 and response.json() == {"error": "UNSUPPORTED_MEDIA_TYPE"}


def test_form_encoded_credentials_are_not_parsed(api):
    response = api.request("POST", data={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
    assert response.status_code == 415


def test_oversized_bodies_are_413(api):
    big = b'{"email": "demo@hyper3d.test", "password": "' + b"x" * (1 << 20) + b'"}'
    response = api.post(raw=big)
    assert response.status_code == 413 and response.json() == {"error": "PAYLOAD_TOO_LARGE"}

    def chunks():  # no Content-Length: the bounded read must catch it
        yield b'{"password": "'
        for _ in range(20):
            yield b"y" * 8192
        yield b'"}'
    assert api.post(raw=chunks()).status_code == 413
    # exactly 64 KiB is accepted; one byte more is not
    body = json.dumps({"email": DEMO_EMAIL, "password": DEMO_PASSWORD}).encode()
    exact = body + b" " * (64 * 1024 - len(body))
    assert api.post(raw=exact).status_code == 201
    assert api.post(raw=exact + b" ").status_code == 413
    assert api.login().status_code == 201  # the connection pool still works


@pytest.mark.parametrize("raw", [b"", b"   ", b"{", b'{"email": ', b"[]", b'"x"', b"1", b"null", b"true",
                                 b'[{"email": "demo@hyper3d.test"}]', b"\xff\xfe\x00", b"[" * 5000 + b"]" * 5000,
                                 b'{"password": NaN', b"1" * 5000])
def test_malformed_bodies_are_400(api, raw):
    response = api.post(raw=raw)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "INVALID_REQUEST" and isinstance(body["detail"], str)


WRONG_TYPES = [1, 1.5, True, False, None, [], ["x"], {}, {"$ne": None}, {"$gt": ""}]


@pytest.mark.parametrize("value", WRONG_TYPES, ids=repr)
@pytest.mark.parametrize("field", ["password", "email", "username"])
def test_wrong_types_are_validation_failures(api, field, value):
    body = {"email": DEMO_EMAIL, "password": DEMO_PASSWORD, field: value}
    response = api.post(body)
    assert response.status_code == 400 and response.json()["error"] == "INVALID_REQUEST"


@pytest.mark.parametrize("body", [
    {"email": DEMO_EMAIL},
    {"username": DEMO_EMAIL},
    {"password": DEMO_PASSWORD},
    {"password": DEMO_PASSWORD, "name": DEMO_EMAIL},
    {},
])
def test_missing_fields_are_validation_failures(api, body):
    response = api.post(body)
    assert response.status_code == 400 and response.json()["error"] == "INVALID_REQUEST"


@pytest.mark.parametrize("email", ["", "demo", "demo@", "@hyper3d.test", "demo@hyper3d", "demo@@hyper3d.test",
                                   "de mo@hyper3d.test", "demo@hyper3d.test ", "demo@hyper3d..test", "demo@.test",
                                   "demo\x00@hyper3d.test", "a@b.c@d.e", "x" * 250 + "@hyper3d.test"])
def test_malformed_emails_are_validation_failures(api, email):
    response = api.login(email=email)
    assert response.status_code == 400 and response.json()["error"] == "INVALID_REQUEST"


@pytest.mark.parametrize("username, ok", [
    ("a" * 80, True), ("a" * 81, False), ("😀" * 80, True), ("😀" * 81, False), ("é" * 80, True), ("", True),
])
def test_username_max_length_in_code_points(api, username, ok):
    response = api.post({"username": username, "password": DEMO_PASSWORD})
    if ok:
        assert response.status_code == 401
    else:
        assert response.status_code == 400 and response.json()["error"] == "INVALID_REQUEST"


WEIRD = ["\x00", "\ud800", "\udfff", "a\ud800b", "\x01\x1f\x7f", "\u202eevil", "שלום", "😀" * 50, "x" * 60000,
         "\ufeff", "\\", "%00", "' OR 1=1 --"]


@pytest.mark.parametrize("value", WEIRD, ids=lambda v: repr(v)[:20])
@pytest.mark.parametrize("field", ["email", "username", "password", "extra"])
def test_weird_strings_never_5xx(api, field, value):
    body = {"email": DEMO_EMAIL, "password": "wrong", field: value}
    if field == "email":
        body["email"] = value
    response = api.post(body)  # json.dumps escapes lone surrogates as \ud800
    assert response.status_code in (400, 401)
    # also as an email suffix / local part
    response = api.post({"email": value[:100] + "@hyper3d.test", "password": value})
    assert response.status_code in (400, 401)


def test_query_string_credentials_never_log_in(api):
    params = {"email": DEMO_EMAIL, "username": DEMO_EMAIL, "password": DEMO_PASSWORD}
    for raw in (b"{}", b'{"password": "x"}', b""):
        response = api.post(raw=raw, params=params)
        assert response.status_code == 400
    assert api.post({"email": DEMO_EMAIL}, params=params).status_code == 400


# ---------------------------------------------------------------------------------------------- conforming: HTTP
@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "HEAD", "TRACE", "FOO"])
def test_other_methods_are_405(api, method):
    response = api.request(method, json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST, OPTIONS"
    if method != "HEAD":
        assert response.json() == {"error": "METHOD_NOT_ALLOWED"}


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://127.0.0.1"])
def test_cors_never_allows_foreign_origins(api, origin):
    preflight = api.request("OPTIONS", headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                                "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 403 and preflight.json() == {"error": "CORS_ORIGIN_NOT_ALLOWED"}
    assert "POST" in preflight.headers["allow"]
    post = api.post({"email": DEMO_EMAIL, "password": DEMO_PASSWORD}, headers={"Origin": origin})
    assert post.status_code == 201
    for response in (preflight, post):
        assert "access-control-allow-origin" not in response.headers
        assert "access-control-allow-credentials" not in response.headers


def test_plain_options(api):
    response = api.http.options(LOGIN_PATH)
    assert response.status_code == 200 and response.headers["allow"] == "POST, OPTIONS"
    assert response.json() == {"allow": ["POST", "OPTIONS"]}


@pytest.mark.parametrize("path", ["/", "/api/user/login/", "/api/api/user/login", "/api/user/LOGIN", "/x?y=1"])
def test_unknown_paths_are_404(api, path):
    for method in ("GET", "POST"):
        response = api.request(method, path, json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
        assert response.status_code == 404 and response.json() == {"error": "NOT_FOUND"}


def test_unexpected_exception_is_json_500(servers, caplog):
    server = servers(fresh=True)

    def broken(key):
        raise RuntimeError("sqlite exploded at /srv/app.py line 3")
    server.service.find_user = broken
    response = Api(server).login()
    assert response.status_code == 500 and response.json() == {"error": "INTERNAL_ERROR"}
    assert "exploded" not in response.text


# ---------------------------------------------------------------------------------------------- faults
def demo_login(api, password=DEMO_PASSWORD, headers=None, **extra):
    return api.post({"email": DEMO_EMAIL, "password": password, **extra}, headers=headers)


def broken_resp_01(api):
    return demo_login(api).status_code != 201


def broken_resp_03(api):
    return demo_login(api).json().get("error") is not None


def broken_resp_04(api):
    r = api.post({"email": DEMO_EMAIL, "password": "wrong"})
    return not r.headers.get("content-type", "").startswith("application/json")


def broken_resp_05(api):
    r = api.post({"email": DEMO_EMAIL, "password": "wrong"})
    return "token" not in r.json() and not r.json().get("error")


def broken_auth_03(api):
    misses = [DEMO_PASSWORD.swapcase(), f" {DEMO_PASSWORD} ", DEMO_PASSWORD + "!", DEMO_PASSWORD[:8]]
    return any(is_success(demo_login(api, p)) for p in misses)


def broken_auth_04(api):
    responses = [api.post({"email": DEMO_EMAIL + s, "password": DEMO_PASSWORD}) for s in ("'--", "'")]
    responses += [api.post({"username": DEMO_EMAIL + "' OR '1'='1", "password": DEMO_PASSWORD})]
    return any(is_success(r) or r.status_code >= 500 or "sqlite" in r.text.lower() or "syntax" in r.text
               for r in responses)


def broken_input_03(api):
    return any(demo_login(api, v).status_code >= 500 or is_success(demo_login(api, v)) for v in WRONG_TYPES)


def failure_signature(api, body):
    r = api.post(body)
    return r.status_code, r.json().get("error")


def broken_depr_03(api):
    credential = failure_signature(api, {"username": "nobody@hyper3d.test", "password": "x"})

    def validation(username):
        return failure_signature(api, {"username": username, "password": "x"}) != credential
    combining = "e\u0301" * 34 + "u@example.com"  # 81 code points, 47 graphemes
    return validation("😀" * 80) or validation("a" * 80) or not validation("a" * 81) or not validation(combining)


def broken_sec_01(api):
    a = api.post({"email": "nobody@hyper3d.test", "password": "x"})
    b = api.post({"email": DEMO_EMAIL, "password": "x"})
    return (a.status_code, a.json().get("error"), sorted(a.json())) != (b.status_code, b.json().get("error"),
                                                                        sorted(b.json()))


def broken_token_03(api):
    return DEMO_PASSWORD in json.dumps(jwt_parts(demo_login(api).json()["token"])[:2])


def broken_token_01(api):
    header, _, signature = jwt_parts(demo_login(api).json()["token"])
    return header["alg"].lower() == "none" or not signature


def broken_sec_03(api):
    return "no-store" not in demo_login(api).headers.get("cache-control", "")


def broken_sec_06(api):
    for origin in ("https://evil.example", "null"):
        for r in (api.request("OPTIONS", headers={"Origin": origin, "Access-Control-Request-Method": "POST"}),
                  demo_login(api, headers={"Origin": origin})):
            acao = r.headers.get("access-control-allow-origin")
            creds = r.headers.get("access-control-allow-credentials") == "true"
            if creds and acao in (origin, "*"):
                return True
    return False


def broken_auth_05(api):
    params = {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}
    return any(is_success(api.post(raw=raw, params=params)) for raw in (b"{}", b""))


def broken_sec_02(api):
    password = "Distinctive-Guess-93!"
    return any(password in api.post({"email": e, "password": password}).text
               for e in (DEMO_EMAIL, "nobody@hyper3d.test"))


def broken_input_05(api):
    return failure_signature(api, {"email": "not-an-email", "password": "x"}) == failure_signature(
        api, {"email": "nobody@hyper3d.test", "password": "x"})


def broken_http_01(api):
    r = api.request("GET")
    return r.status_code != 405 or "POST" not in r.headers.get("allow", "")


PROBES = {
    "RESP-01": broken_resp_01, "RESP-03": broken_resp_03, "RESP-04": broken_resp_04, "RESP-05": broken_resp_05,
    "AUTH-03": broken_auth_03, "AUTH-04": broken_auth_04, "AUTH-05": broken_auth_05, "INPUT-03": broken_input_03,
    "INPUT-05": broken_input_05, "DEPR-03": broken_depr_03, "SEC-01": broken_sec_01, "SEC-02": broken_sec_02,
    "SEC-03": broken_sec_03, "SEC-06": broken_sec_06, "TOKEN-01": broken_token_01, "TOKEN-03": broken_token_03,
    "HTTP-01": broken_http_01,
}
PROBES.update(OPT_IN_PROBES)  # opt-in probes: ABUSE-01, SEC-07, CAPTCHA-01 (tests/opt_in_detectors.py)


def _merge(probes: dict, detectors: dict) -> None:
    """Add *detectors*; where one exists already, a requirement is broken if either says so."""
    for requirement, detector in detectors.items():
        existing = probes.get(requirement)
        probes[requirement] = detector if existing is None else (lambda api, a=existing, b=detector: a(api) or b(api))


_merge(PROBES, FUZZ_PROBES)  # fuzzing: INPUT-04, RESP-06, INPUT-03 for the fuzzing faults (tests/fuzz_detectors.py)
_merge(PROBES, FAULT_PROBES)  # the other faults' requirements (tests/fault_detectors.py)
_merge(PROBES, PARSER_PROBES)  # structure: parser differentials (tests/parser_detectors.py)


@pytest.mark.parametrize("requirement", sorted(PROBES))
def test_probe_is_clean_on_reference(api, requirement):
    assert not PROBES[requirement](api)


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_fault_breaks_what_it_declares(servers, name):
    api = Api(servers(fault=name), strict=False)
    for requirement in FAULTS[name].breaks:
        assert PROBES[requirement](api), f"{name} should break {requirement}"
    # everything else stays sane: the real credentials still log in (except where that is the fault)
    if name not in ("status-200-on-success", "error-field-on-success") and not api.server.service.captcha_required:
        assert demo_login(api).status_code == 201


def test_fault_details(servers):
    sqli = Api(servers(fault="sqli-email"), strict=False)
    r = sqli.login(email=DEMO_EMAIL + "'")
    assert r.status_code == 500 and "OperationalError" in r.json()["detail"]
    assert is_success(sqli.login(email=DEMO_EMAIL + "'--"))

    crash = Api(servers(fault="crash-on-non-string-password"), strict=False)
    for value in (1, None, ["x"], {"$ne": None}, True):
        assert crash.login(password=value).json() == {"error": "INTERNAL_ERROR"}
    assert crash.post({"email": DEMO_EMAIL}).status_code == 400

    utf16 = Api(servers(fault="username-length-utf16"), strict=False)
    assert utf16.post({"username": "a" * 80, "password": "x"}).status_code == 401
    assert utf16.post({"username": "😀" * 80, "password": "x"}).status_code == 400
    assert utf16.post({"username": "\ud800" * 80, "password": "x"}).status_code == 401  # no crash

    graphemes = Api(servers(fault="username-length-graphemes"), strict=False)
    assert graphemes.post({"username": "\U0001f469\u200d\U0001f4bb" * 27, "password": "x"}).status_code == 401
    assert graphemes.post({"username": "a" * 81, "password": "x"}).status_code == 400

    off = Api(servers(fault="username-off-by-one"), strict=False)
    assert off.post({"username": "a" * 81, "password": "x"}).status_code == 401
    assert off.post({"username": "a" * 82, "password": "x"}).status_code == 400

    html = Api(servers(fault="html-401"), strict=False).login(password="x")
    assert html.status_code == 401 and html.headers["content-type"].startswith("text/html")

    dist = Api(servers(fault="distinguishable-failures"), strict=False)
    assert dist.login("nobody@hyper3d.test").json() == {"error": "NO_SUCH_USER"}
    assert dist.login(password="x").json() == {"error": "WRONG_PASSWORD"}

    for fault, password in (("strip-password", f"  {DEMO_PASSWORD}\t"),
                            ("case-insensitive-password", DEMO_PASSWORD.swapcase()),
                            ("password-prefix-8", DEMO_PASSWORD[:8] + "anything")):
        api = Api(servers(fault=fault), strict=False)
        assert is_success(api.login(password=password)), fault
        assert api.login(password="wrong").status_code == 401

    token = demo_login(Api(servers(fault="password-in-token"), strict=False)).json()["token"]
    assert jwt_parts(token)[1]["pwd"] == DEMO_PASSWORD
    assert demo_login(Api(servers(fault="alg-none-token"), strict=False)).json()["token"].endswith(".")

    no405 = Api(servers(fault="no-405"), strict=False).request("DELETE")
    assert no405.status_code == 404 and "allow" not in no405.headers

    echo = Api(servers(fault="echo-password"), strict=False).login(password="Guess-1")
    assert echo.json()["detail"] == "wrong password: Guess-1"

    fmt = Api(servers(fault="token-for-missing-email-format"), strict=False)
    assert fmt.login(email="not-an-email").status_code == 401
    assert fmt.login(email=7).status_code == 400


def test_each_fault_overrides_exactly_one_method():
    base = {name for klass in LoginService.__mro__[:-1] for name in vars(klass)}  # LoginService and its parts
    for name, mutation in FAULTS.items():
        cls = mutation.service_class
        assert issubclass(cls, LoginService) and cls.__bases__ == (LoginService,)
        overridden = [k for k, v in vars(cls).items() if k in base and callable(v)]
        assert len(overridden) == 1, (name, overridden)


# ---------------------------------------------------------------------------------------------- variants
def test_variant_error_in_201(servers):
    api = Api(servers(variant="error-in-201"))
    assert api.login(password="x").status_code == 201
    assert api.login(password="x").json() == {"error": "INVALID_CREDENTIALS"}
    r = api.post({"email": DEMO_EMAIL})
    assert r.status_code == 400 and r.json()["error"] == "INVALID_REQUEST"  # validation stays 4xx (INPUT-06)
    assert api.post(raw=b"[]").status_code == 400
    assert api.request("POST", content=b"{}").status_code == 415
    assert is_success(api.login())


def test_variant_validation_422(servers):
    api = Api(servers(variant="validation-422"))
    r = api.login(password=5)
    assert r.status_code == 422
    body = r.json()
    assert body["statusCode"] == 422 and body["error"] == "Unprocessable Entity"
    assert isinstance(body["message"], list) and all(isinstance(m, str) for m in body["message"])
    assert api.post({"username": "a" * 81, "password": "x"}).status_code == 422
    assert api.post({"username": "a" * 80, "password": "x"}).status_code == 401
    for raw in (b"{", b"", b"[]", b"1"):
        r = api.post(raw=raw)
        assert r.status_code == 422 and r.json()["error"] == "Unprocessable Entity"
    assert api.login(password="x").status_code == 401 and is_success(api.login())


def test_variant_reject_unknown_fields(servers):
    api = Api(servers(variant="reject-unknown-fields"))
    r = api.login(role="admin")
    assert r.status_code == 400 and r.json()["error"] == "INVALID_REQUEST" and "role" in r.json()["detail"]
    assert is_success(api.login())


def test_variant_already_loggedin(servers):
    api = Api(servers(variant="already-loggedin"))
    token = api.login().json()["token"]
    again = api.post({"email": DEMO_EMAIL, "password": DEMO_PASSWORD}, headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 201 and again.json() == {"error": "ALREADY_LOGGEDIN"}
    header, claims, _ = jwt_parts(token)
    forged = [token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "garbage",
              jwt.encode(claims, None, algorithm="none"), jwt.encode(claims, "guessed-secret-000000000000000000")]
    for value in forged:
        r = api.post({"email": DEMO_EMAIL, "password": DEMO_PASSWORD}, headers={"Authorization": f"Bearer {value}"})
        assert is_success(r), value
    # a token of another account is not "already logged in" as demo; wrong password stays a failure
    other = api.login(OTHER_EMAIL, OTHER_PASSWORD).json()["token"]
    assert is_success(api.post({"email": DEMO_EMAIL, "password": DEMO_PASSWORD},
                               headers={"Authorization": f"Bearer {other}"}))
    assert api.post({"email": DEMO_EMAIL, "password": "x"},
                    headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_variant_rate_limit_429(servers):
    api = Api(servers(variant="rate-limit-429", fresh=True))  # its counters are state: no other test's leftovers
    for _ in range(4):
        assert api.login(password="x").status_code == 401
    assert is_success(api.login())  # success resets the counter
    for _ in range(5):
        assert api.login(password="x").status_code == 401
    for password in ("x", DEMO_PASSWORD):
        r = api.login(password=password)
        assert r.status_code == 429 and r.json() == {"error": "RATE_LIMITED"} and r.headers["retry-after"] == "1"
    assert is_success(api.login(OTHER_EMAIL, OTHER_PASSWORD))  # per account
    assert api.post({"username": DEMO_EMAIL, "password": "x"}).status_code == 429  # same account via username


def test_variant_rate_limit_lockout_expires(servers):
    server = servers(variant="rate-limit-429", fresh=True)
    server.service.lockout_seconds = 0.2
    api = Api(server)
    for _ in range(5):
        api.login(password="x")
    assert api.login().status_code == 429
    time.sleep(0.25)
    assert is_success(api.login())


def test_variant_slow(servers):
    api = Api(servers(variant="slow"))
    started = time.perf_counter()
    assert api.login(password="x").status_code == 401
    assert 0.05 < time.perf_counter() - started < 2


def test_variant_extra_fields(servers):
    body = Api(servers(variant="extra-fields")).login().json()
    assert body["plan"] == "free" and body["roles"] == [] and isinstance(body["created_at"], str)
    assert {"token", "user_uuid", "username", "avatar_url", "email"} <= set(body)


def test_variant_rs256_kid(servers):
    pytest.importorskip("cryptography", reason="rs256-kid needs the cryptography package (pyjwt[crypto])")
    server = servers(variant="rs256-kid")
    token = Api(server).login().json()["token"]
    header, claims, signature = jwt_parts(token)
    assert header["alg"] == "RS256" and header["kid"] == server.service.kid and signature
    assert jwt.decode(token, server.service.public_key, algorithms=["RS256"])["sub"] == claims["sub"]


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variants_keep_invariants(servers, name):
    if VARIANTS[name].service_class.captcha_required:
        pytest.skip("every login needs a fresh captcha token; covered by tests/test_probes.py")
    if name == "rs256-kid":
        pytest.importorskip("cryptography")
    api = Api(servers(variant=name))
    assert is_success(api.login())
    assert api.login("nobody@hyper3d.test", "x").json()["error"]
    probes = ["RESP-01", "RESP-03", "RESP-04", "RESP-05", "AUTH-03", "AUTH-04", "AUTH-05", "TOKEN-01", "TOKEN-03",
              "SEC-02", "SEC-03", "SEC-06", "HTTP-01", "INPUT-03", "INPUT-05", "DEPR-03", "SEC-01"]
    if name == "slow":
        probes = ["RESP-01", "RESP-05", "TOKEN-01", "SEC-01"]  # ~100 ms per verification
    if name in ("rate-limit-429", "lockout-403"):
        probes = [p for p in probes if p not in ("AUTH-03", "AUTH-04", "INPUT-03")]  # many failures in a row
    for probe in probes:
        assert not PROBES[probe](api), (name, probe)


# ---------------------------------------------------------------------------------------------- registry / lifecycle / CLI
def test_registry_matches_yaml_and_catalog():
    here = ROOT / "contract_tests" / "reference"
    faults = yaml.safe_load((here / "faults.yaml").read_text())["faults"]
    variants = yaml.safe_load((here / "variants.yaml").read_text())["variants"]
    assert [f["name"] for f in faults] == list(FAULTS)
    assert [v["name"] for v in variants] == list(VARIANTS)
    for mutation in FAULTS.values():
        assert mutation.breaks and mutation.description and mutation.kind == "fault"
        assert set(mutation.breaks) <= set(PROBES)
    for mutation in VARIANTS.values():
        assert mutation.breaks == [] and mutation.description and mutation.kind == "variant"
    catalog = ROOT / "spec" / "requirements.yaml"
    if catalog.exists():
        ids = {r["id"] for r in yaml.safe_load(catalog.read_text())["requirements"]}
        assert {b for m in FAULTS.values() for b in m.breaks} <= ids


def test_unknown_names_are_value_errors():
    with pytest.raises(ValueError, match="valid faults: .*strip-password"):
        create_app(fault="nope")
    with pytest.raises(ValueError, match="valid variants: .*slow"):
        start_reference_server(variant="nope")


def test_public_names():
    assert LOGIN_PATH == "/api/user/login" and DEMO_EMAIL == "demo@hyper3d.test" and DEMO_USERNAME == "demo"
    assert reference.OTHER_EMAIL == "other@hyper3d.test" and len(DEMO_PASSWORD) > 8
    from starlette.applications import Starlette
    assert isinstance(create_app(), Starlette)


def test_many_servers_start_and_stop():
    threads_before = threading.active_count()
    servers = [start_reference_server(fault=name) for name in list(FAULTS)[:10]]
    servers += [start_reference_server() for _ in range(20)]
    assert len({s.url for s in servers}) == 30
    with httpx.Client() as http:
        for s in servers:
            assert s.url.startswith("http://127.0.0.1:") and not s.url.endswith("/")
            assert http.get(s.url + LOGIN_PATH).status_code in (404, 405)
    for s in servers:
        s.stop(wait=False)
    for s in servers:
        s.stop()
        s.stop()  # idempotent
        assert not s.running
    assert threading.active_count() <= threads_before
    with pytest.raises(httpx.ConnectError):
        httpx.get(servers[0].url + LOGIN_PATH)


def test_isolated_state_and_context_manager():
    with start_reference_server(variant="rate-limit-429") as a, start_reference_server(variant="rate-limit-429") as b:
        assert a.variant == "rate-limit-429" and a.fault is None
        assert a.service.secret != b.service.secret
        for _ in range(6):
            Api(a).login(password="x")
        assert Api(a).login().status_code == 429
        assert Api(b).login().status_code == 201
        token = Api(a).http.post(LOGIN_PATH, json={"email": OTHER_EMAIL, "password": OTHER_PASSWORD}).json()["token"]
        with pytest.raises(jwt.InvalidSignatureError):
            jwt.decode(token, b.service.secret, algorithms=["HS256"])
    assert not a.running and not b.running


def test_cli_list():
    out = subprocess.run([sys.executable, "-m", "contract_tests.reference", "--list"], cwd=ROOT,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    for name, mutation in {**FAULTS, **VARIANTS}.items():
        assert name in out.stdout and mutation.description in out.stdout


def test_cli_unknown_fault():
    out = subprocess.run([sys.executable, "-m", "contract_tests.reference", "--fault", "nope"], cwd=ROOT,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "valid faults" in out.stderr


def test_cli_foreground_server():
    proc = subprocess.Popen([sys.executable, "-m", "contract_tests.reference", "--port", "0", "--fault", "no-405"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(3)]
        url = lines[0].split(" at ", 1)[1].split()[0]
        assert "fault=no-405" in lines[0]
        assert lines[1].strip() == f"LOGIN_EMAIL={DEMO_EMAIL}" and lines[2].strip() == f"LOGIN_PASSWORD={DEMO_PASSWORD}"
        assert httpx.post(url + LOGIN_PATH, json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}).status_code == 201
        assert httpx.get(url + LOGIN_PATH).status_code == 404
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
