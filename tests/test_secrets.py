"""Redaction and reproductions: secrets never appear, reproductions rebuild them from the environment."""

import json
import os
import shutil
import subprocess
import tempfile

import pytest
from helpers import jwt

from contract_tests.sending.exchange import LoginRequest
from contract_tests.inputs.near_misses import near_misses
from contract_tests.sending.secrets import Redactor, password_secret

pytestmark = pytest.mark.unit  # the fast lane: python -m pytest tests -m unit

PASSWORD = 'Zq9!"pa ss\\wörd'


def test_redactor_replaces_raw_json_escaped_and_url_encoded_forms():
    r = Redactor()
    r.add(password_secret(PASSWORD))
    text = f"{PASSWORD} | {json.dumps(PASSWORD)} | {json.dumps(PASSWORD, ensure_ascii=False)} | Zq9%21%22pa%20ss%5Cw%C3%B6rd"
    out = r(text)
    assert "Zq9" not in out
    assert out.count("<LOGIN_PASSWORD>") == 4


def test_tokens_keep_header_and_claims_but_lose_signature():
    r = Redactor()
    token = jwt({"alg": "HS256"}, {"sub": "u1"}, "SIGNATUREsignature")
    r.add_token(token)
    out = r(f"token={token}")
    assert "SIGNATUREsignature" not in out and token not in out
    assert '"alg": "HS256"' in out and '"sub": "u1"' in out


def test_unknown_jwt_shaped_strings_are_redacted_too():
    token = jwt({"alg": "HS256"}, {"sub": "u1"}, "unseen-signature")
    assert "unseen-signature" not in Redactor()(f"Bearer {token}")


def test_password_inside_token_claims_is_redacted():
    r = Redactor()
    r.add(password_secret("Claimed-Pw-77"))
    token = jwt({"alg": "HS256"}, {"pwd": "Claimed-Pw-77"})
    r.add_token(token)
    assert "Claimed-Pw-77" not in r(token)


def test_secret_repr_never_shows_value():
    s = password_secret("Repr-Pw-123")
    assert "Repr-Pw-123" not in repr(s) and "Repr-Pw-123" not in str(s) and "Repr-Pw-123" not in repr([s])


def _run_shell_to_body(command: str, env: dict) -> bytes:
    """Run the curl command with curl replaced by a stub that prints the --data-binary argument."""
    script = (
        'curl() { while [ $# -gt 0 ]; do if [ "$1" = --data-binary ]; then\n'
        '  case "$2" in @*) cat "${2#@}";; *) printf %s "$2";; esac; fi; shift; done; }\n'
        + command
    )
    with tempfile.TemporaryDirectory() as work:  # a long body is written to body.json first: not in the checkout
        return subprocess.run(["bash", "-c", script], env={**os.environ, **env}, capture_output=True, check=True,
                              cwd=work).stdout


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize("kind", list(near_misses(password_secret("x" * 12))))
def test_curl_reproduction_rebuilds_derived_passwords_from_the_environment(kind):
    password = password_secret("Abc-def-Ghi-123")
    variant = near_misses(password)[kind]
    req = LoginRequest(purpose="t", expect="failure", json={"email": "a@example.com", "password": variant})
    command = req.curl("http://target.test")
    assert "Abc-def-Ghi" not in command
    body = json.loads(_run_shell_to_body(command, {"LOGIN_PASSWORD": password.value}))
    expected = variant.value if hasattr(variant, "value") else variant
    assert body == {"email": "a@example.com", "password": expected}


@pytest.mark.parametrize("sent", [
    {"email": "A" * 10000 + "@example.com", "password": "x"},
    {"email": "a@example.com", "password": "x", "pad": "a" * (1 << 20)},  # the 1 MiB body check's
    {"email": "a@example.com", "password": "x" * 5 + "y" * 17 + "\n" * 3 + "'" * 40 + "z" * 16 + "b" * 5000,
     "n": [1, None]},
])
def test_curl_reproduction_of_long_bodies_is_short_and_exact(sent):
    req = LoginRequest(purpose="t", expect="invalid", json=sent)
    command = req.curl("http://target.test")
    assert len(command) < 400
    assert json.loads(_run_shell_to_body(command, {})) == sent


def test_curl_reproduction_of_raw_bytes_and_headers():
    req = LoginRequest(purpose="t", expect="invalid", raw=b'{"a":\x00\'', content_type="application/json",
                       headers={"Origin": "null"})
    command = req.curl("http://target.test")
    assert "-H 'Origin: null'" in command and "-H 'Content-Type: application/json'" in command
    assert _run_shell_to_body(command, {}) == b'{"a":\x00\''
    assert "\\x00" in command
