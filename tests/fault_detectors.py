"""Direct-HTTP detectors of the requirements the reference server's faults break (the fuzzing and opt-in faults have
their own modules), merged into tests/test_reference_server.py's PROBES table: each takes that module's ``Api`` and
says whether the server breaks the requirement. They check the faults themselves, independently of the contract
suite (whose verdicts on them tests/test_faults.py checks)."""

from __future__ import annotations

import base64
import json
import re
import time

import httpx

from contract_tests.reference import DEMO_EMAIL, DEMO_PASSWORD, DEMO_USER_UUID, OTHER_USER_UUID

MIB = 1024 * 1024
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


def _body(response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _logs_in(response) -> bool:
    body = _body(response)
    return response.status_code in (200, 201) and bool(body.get("token")) and not body.get("error")


def _refused(response) -> bool:
    """A proper refusal: below 500, no token, a non-empty string error."""
    body = _body(response)
    return response.status_code < 500 and not body.get("token") and isinstance(body.get("error"), str) \
        and bool(body["error"])


def _claims(token: str) -> dict:
    segment = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def _login(api, **extra):
    return api.post({"email": DEMO_EMAIL, "password": DEMO_PASSWORD, **extra})


def _b64(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def broken_resp_02(api) -> bool:
    body = _body(_login(api))
    strings = all(isinstance(body.get(k), str) and body[k] for k in ("token", "user_uuid"))
    return not strings or any(k in body and not isinstance(body[k], str) for k in ("username", "avatar_url"))


def broken_resp_05(api) -> bool:
    """The oversized-body answer carries an error too (the SHOULD clause)."""
    response = api.post(raw=b'{"email": "a@example.com", "password": "' + b"a" * MIB + b'"}')
    return not isinstance(_body(response).get("error"), str)


def broken_resp_06(api) -> bool:
    """No JWT-shaped string in a failed login from a browser (an Origin header)."""
    response = api.post({"email": DEMO_EMAIL, "password": "wrong"}, headers={"Origin": "https://app.example"})
    return bool(JWT.search(response.text + "\n" + "\n".join(f"{k}: {v}" for k, v in response.headers.items())))


def broken_depr_01(api) -> bool:
    response = api.post({"username": DEMO_EMAIL, "password": DEMO_PASSWORD})
    return not _logs_in(response) or _body(response).get("user_uuid") != DEMO_USER_UUID


def broken_depr_02(api) -> bool:
    return not _logs_in(api.post({"email": DEMO_EMAIL, "username": "nobody@hyper3d.test", "password": DEMO_PASSWORD}))


def broken_input_01(api) -> bool:
    return not _refused(api.post({"email": DEMO_EMAIL}))


def broken_input_02(api) -> bool:
    return not _refused(api.post({"password": DEMO_PASSWORD}))


def broken_input_04(api) -> bool:
    return any(not 400 <= api.post(raw=raw).status_code < 500 for raw in (b"42", b"null", b'"x"', b"[1]"))


def broken_input_06(api) -> bool:
    return not 400 <= api.post({"email": 7, "password": "x"}).status_code < 500


def broken_input_07(api) -> bool:
    response = api.post({"email": DEMO_EMAIL, "password": DEMO_PASSWORD}, headers={"Content-Type": "text/plain"})
    return _logs_in(response) or response.status_code not in (400, 415)


def broken_input_08(api) -> bool:
    """Not a 4xx, or not a 413 and the same answer as the unpadded unknown-account login."""
    credentials = {"email": "a@example.com", "password": "Unknown-Acc0unt-Passw0rd!"}
    unpadded = api.post(credentials)
    try:
        response = api.post({**credentials, "padding": "a" * MIB}, timeout=3)
    except httpx.TimeoutException:
        return True  # no answer within the timeout: not refused at all

    if not 400 <= response.status_code < 500:
        return True
    same = (response.status_code, _body(response).get("error")) == (unpadded.status_code, _body(unpadded).get("error"))
    return response.status_code != 413 and same


def broken_input_09(api) -> bool:
    """Hostile strings get no 5xx, also as the password of an existing account (the one the hasher verifies)."""
    if api.post({"username": "\ud800@example.com", "password": "x"}).status_code >= 500:
        return True
    hostile = ("a\ud800b", "a\x00\x01" + "\U0001f600" * 18, "A" * 10000)
    return any(api.post({"email": DEMO_EMAIL, "password": p}).status_code >= 500 for p in hostile)


def broken_input_10(api) -> bool:
    response = _login(api, user_uuid=OTHER_USER_UUID, avatar_url="https://evil.example/a.png")
    if not _logs_in(response):
        return not 400 <= response.status_code < 500
    body = _body(response)
    return body.get("user_uuid") != DEMO_USER_UUID or _claims(body["token"]).get("sub") != DEMO_USER_UUID


def broken_auth_01(api) -> bool:
    response = api.post({"email": DEMO_EMAIL, "password": "Wrong-Passw0rd-Detector-1"})
    return response.status_code >= 500 or _logs_in(response)


def broken_auth_02(api) -> bool:
    """An unknown account, also one matching the demo address as a SQL LIKE pattern, never logs in."""
    local, _, domain = DEMO_EMAIL.partition("@")
    lookalike = api.post({"email": f"{local[:-1]}_@{domain}", "password": DEMO_PASSWORD})
    unknown = api.post({"email": "nobody@hyper3d.test", "password": "x"})
    return _logs_in(lookalike) or not _refused(unknown)


def broken_auth_06(api) -> bool:
    now = int(time.time())
    alg_none = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64({'sub': DEMO_USER_UUID, 'iat': now, 'exp': now + 60})}."
    for token in (alg_none, "not-a-token"):
        response = api.post({"email": DEMO_EMAIL, "password": "wrong"}, headers={"Authorization": f"Bearer {token}"})
        if response.status_code >= 500 or _logs_in(response):
            return True
    return False


def broken_auth_07(api) -> bool:
    token = _body(_login(api)).get("token")
    response = api.post({"email": DEMO_EMAIL, "password": DEMO_PASSWORD}, headers={"Authorization": f"Bearer {token}"})
    body = _body(response)
    fresh = response.status_code == 201 and bool(body.get("token"))
    return response.status_code >= 500 or not (fresh or body.get("error") == "ALREADY_LOGGEDIN")


def broken_auth_08(api) -> bool:
    return _body(_login(api)).get("token") == _body(_login(api)).get("token")


def broken_token_02(api) -> bool:
    """exp present, a number, in the future and at most 30 days ahead."""
    exp = _claims(_body(_login(api))["token"]).get("exp")
    now = time.time()
    return not isinstance(exp, (int, float)) or isinstance(exp, bool) or exp <= now or exp - now > 30 * 86400 + 60


def broken_sec_02(api) -> bool:
    """No password/hash/salt key and no hash-looking string in a success."""
    response = _login(api)
    keys = json.dumps(sorted(_body(response)))
    return bool(re.search(r"pass(word|wd)|hash|salt", keys, re.I)) or "$argon2" in response.text


def broken_sec_04(api) -> bool:
    responses = (api.post({"email": "nobody@hyper3d.test", "password": "x"}), _login(api))
    return any(r.headers.get("x-content-type-options", "").lower() != "nosniff" for r in responses)


def broken_http_02(api) -> bool:
    response = api.post({"email": "nobody@hyper3d.test", "password": "x"})
    return response.status_code == 401 and not response.headers.get("www-authenticate")


# --- login security checks ---
def broken_auth_03_nul(api) -> bool:
    return _logs_in(api.post({"email": DEMO_EMAIL, "password": DEMO_PASSWORD + "\x00anything"}))


def broken_auth_05_get(api) -> bool:
    return bool(_body(api.request("GET", params={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})).get("token"))


def broken_auth_09(api) -> bool:
    bodies = [{"email": DEMO_EMAIL, "password": {"$gte": ""}}, {"email": {"$eq": DEMO_EMAIL}, "password": DEMO_PASSWORD}]
    responses = [api.post(body) for body in bodies]
    return any(r.status_code >= 500 or _logs_in(r) for r in responses)


def broken_token_03_hash(api) -> bool:
    return "$argon2" in json.dumps(_claims(_body(_login(api))["token"]))


def broken_token_04(api) -> bool:
    import hashlib
    import hmac

    head, claims, signature = _body(_login(api))["token"].split(".")
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}.get(
        json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))).get("alg"))
    expected = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    return digest is not None and any(
        hmac.new(key.encode(), f"{head}.{claims}".encode(), digest).digest() == expected
        for key in ("secret", "your-256-bit-secret", "09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7"))


def broken_sec_08(api) -> bool:
    response = api.post(raw=b'{"email": "a@example.com", "password": ')
    return "Traceback" in response.text or 'File \\"' in response.text


FAULT_PROBES = {
    "AUTH-03": broken_auth_03_nul, "AUTH-05": broken_auth_05_get, "AUTH-09": broken_auth_09,
    "TOKEN-03": broken_token_03_hash, "TOKEN-04": broken_token_04, "SEC-08": broken_sec_08,
    "RESP-02": broken_resp_02, "RESP-05": broken_resp_05, "RESP-06": broken_resp_06, "DEPR-01": broken_depr_01,
    "DEPR-02": broken_depr_02, "INPUT-01": broken_input_01, "INPUT-02": broken_input_02, "INPUT-04": broken_input_04,
    "INPUT-06": broken_input_06, "INPUT-07": broken_input_07, "INPUT-08": broken_input_08, "INPUT-09": broken_input_09,
    "INPUT-10": broken_input_10, "AUTH-01": broken_auth_01, "AUTH-02": broken_auth_02, "AUTH-06": broken_auth_06,
    "AUTH-07": broken_auth_07, "AUTH-08": broken_auth_08, "TOKEN-02": broken_token_02, "SEC-02": broken_sec_02,
    "SEC-04": broken_sec_04, "HTTP-02": broken_http_02,
}
