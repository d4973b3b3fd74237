"""What happens on the wire is reported as a typed kind and in words a framework team understands, never as
``ReadError: ReadError``; an early refusal is a refusal; a target hanging on a large body fails INPUT-08; an
unreadable Retry-After is evidence, not a crash.

Each case is a real socket on loopback (tests/misbehaving_targets.py), so the kinds are those the network stack
really produces, not those a mock chooses.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import trustme

from contract_tests.inputs.padding import OVERSIZED, padded
from contract_tests.sending.client import ClientLimits, ContractClient, TargetError, retry_after
from contract_tests.sending.exchange import LoginRequest
from contract_tests.sending.secrets import Redactor
from contract_tests.sending.transport import Failure
from tests.misbehaving_targets import BEHAVIOURS, RawTarget

BIG = padded({"email": "x@example.com", "password": "Some-Passw0rd!"}, "padding", OVERSIZED)


def _client(url: str, **limits) -> ContractClient:
    return ContractClient(url, Redactor(), ClientLimits(**{"timeout": 5, "lost_after": 99, **limits}))


def _send(url: str, request: LoginRequest, **limits):
    client = _client(url, **limits)
    try:
        return client.send(request)
    finally:
        client.close()


def _small() -> LoginRequest:
    return LoginRequest("small", "failure", json={"email": "x@example.com", "password": "p"},
                        accept_transport_error=True)


def _big(expect_continue: bool = True) -> LoginRequest:
    return LoginRequest("big", "invalid", json=BIG, accept_transport_error=True,
                        headers={"Expect": "100-continue"} if expect_continue else {})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def tls_context():
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


def _says_what_happened(message: str) -> None:
    assert "ReadError" not in message and "WriteError" not in message and "RemoteProtocolError" not in message


# ------------------------------------------------------------------------------------------------ kinds and words
@pytest.mark.parametrize("behaviour, kind, words", [
    # a reset may come before the small body was written (a loaded machine): then it was reset while uploading
    ("resets", (Failure.RESET, Failure.RESET_WHILE_UPLOADING), "reset the connection"),
    ("closes", Failure.CLOSED, "closed the connection without answering; if that port serves HTTPS, use https://"),
    ("tls-alert-to-plain-http", Failure.PLAIN_TO_TLS_PORT, "that port speaks TLS; use https://"),
    ("never-answers", Failure.TIMEOUT, "no complete answer within 0.5 s (--timeout bounds the whole request): the "
                                       "request was sent in full (body: "),
])
def test_a_small_request_without_an_answer_says_what_happened(behaviour, kind, words):
    # only the silent target needs a short deadline; the others answer at once (a loaded machine may take a while)
    with RawTarget(BEHAVIOURS[behaviour]) as target:
        ex = _send(target.url, _small(), timeout=0.5 if behaviour == "never-answers" else 10.0)
    assert ex.failure is not None and ex.failure.kind in (kind if isinstance(kind, tuple) else (kind,)), ex.failure
    assert words in ex.transport_error
    _says_what_happened(ex.transport_error)


def test_plain_http_to_a_tls_port_asks_whether_it_is_https(tls_context):
    with RawTarget(BEHAVIOURS["html-200"], tls=tls_context) as target:
        ex = _send(target.url.replace("https://", "http://"), _small())
    assert ex.failure.kind.ended_without_answer or ex.failure.kind is Failure.PLAIN_TO_TLS_PORT
    assert "https://" in ex.transport_error
    _says_what_happened(ex.transport_error)


def test_https_to_a_silent_port_is_a_handshake_timeout():
    with RawTarget(BEHAVIOURS["never-answers"]) as target:
        client = _client(target.url.replace("http://", "https://"), timeout=0.5)
        with pytest.raises(TargetError, match="TLS handshake did not complete within 0.5 s.*is it a TLS port") as info:
            client.probe()
        client.close()
    assert info.value.failure.kind is Failure.TLS_HANDSHAKE_TIMEOUT and info.value.reached


def test_https_to_a_plain_port_says_use_http():
    from contract_tests.reference import start_reference_server

    with start_reference_server() as server:  # an HTTP server answers the ClientHello with a 400 in plain HTTP
        client = _client(server.url.replace("http://", "https://"))
        with pytest.raises(TargetError, match="answers in plain HTTP, not TLS; use http://") as info:
            client.probe()
        client.close()
    assert info.value.failure.kind is Failure.TLS_TO_PLAIN_PORT and info.value.reached


def test_a_closed_port_is_refused_and_cannot_be_reached():
    client = _client(f"http://127.0.0.1:{_free_port()}")
    with pytest.raises(TargetError, match="connection refused .*nothing listens on that port") as info:
        client.probe()
    client.close()
    assert info.value.failure.kind is Failure.REFUSED and not info.value.reached


def test_garbage_is_a_protocol_error():
    def garbage(conn, stop):
        conn.recv(65536)
        conn.sendall(b"hello there\r\n\r\n")

    with RawTarget(garbage) as target:
        ex = _send(target.url, _small())
    assert ex.failure.kind is Failure.PROTOCOL and "did not answer with valid HTTP" in ex.transport_error


# ------------------------------------------------------------------------------------------- large bodies on the wire
def test_an_early_refusal_is_read_before_the_body_goes():
    """Expect: 100-continue: the 413 decided from the headers is read, nothing of the body is sent, whatever the edge
    does with the connection afterwards."""
    with RawTarget(BEHAVIOURS["refuses-from-headers-and-resets"]) as target:
        ex = _send(target.url, _big())
    assert ex.status == 413 and ex.failure is None


def test_a_connection_cut_mid_upload_is_reset_while_uploading():
    with RawTarget(BEHAVIOURS["drops-mid-upload"]) as target:
        ex = _send(target.url, _big(expect_continue=False))
    assert ex.failure.kind is Failure.RESET_WHILE_UPLOADING, ex.failure
    # how far the upload got before the reset depends on the socket buffers (on loopback it may all be buffered)
    assert "while the body was still being sent (about" in ex.transport_error \
        or "before taking the whole 3 MiB (3,145,728 bytes) body" in ex.transport_error
    assert "https://" not in ex.transport_error  # an upload cut short says nothing about the scheme
    _says_what_happened(ex.transport_error)


def test_a_target_that_stops_taking_the_body_times_out_and_says_so():
    with RawTarget(BEHAVIOURS["hangs-on-large-body"]) as target:
        ex = _send(target.url, _big(expect_continue=False), timeout=1)
    assert ex.failure.kind is Failure.TIMEOUT
    # the kernels' buffers may take the whole body on loopback: what the client could write is said either way
    assert ("the target stopped taking the body after" in ex.transport_error and "of 3 MiB" in ex.transport_error) \
        or "the request was sent in full (body: 3 MiB (3,145,728 bytes)), and nothing" in ex.transport_error


# ----------------------------------------------------------------------------------------------- Retry-After
@pytest.mark.parametrize("value, seconds", [
    ("7", 7.0), ("1.5", 1.5), ("later, please", None), ("", None), ("-3", None), ("Mon, 99 Foo 2024", None),
    ("soon", None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
])
def test_retry_after_is_read_or_treated_as_absent(value, seconds):
    assert retry_after(httpx.Headers({"Retry-After": value})) == seconds


def test_an_unreadable_retry_after_is_evidence_not_a_crash():
    sleeps = []
    with RawTarget(BEHAVIOURS["429-unreadable-retry-after"]) as target:
        client = ContractClient(target.url, Redactor(), ClientLimits(timeout=5), sleep=sleeps.append)
        seen = []
        client.observer = seen.append
        ex = client.send(LoginRequest("p", "failure", json={"email": "x@example.com", "password": "p"}))
        client.close()
    assert ex.status == 401 and client.rate_limited == 1
    assert len(sleeps) == 1 and 1.0 <= sleeps[0] <= 1.2  # the default back-off (plus the pause's margin), bounded
    assert "Retry-After 'later, please' is neither a number of seconds nor an HTTP-date" in seen[0].describe_response()


def test_wrong_password_message_is_true_about_what_was_sent():
    from contract_tests.sending.client import Account
    from contract_tests.sending.preflight import CannotTest, check_target

    def handler(request):
        return httpx.Response(401, json={"error": "INVALID_CREDENTIALS"})

    client = ContractClient("http://target.test", Redactor(), ClientLimits(),
                            transport=httpx.MockTransport(handler))
    with pytest.raises(CannotTest) as info:
        check_target(client, Account.from_values("a@example.com", "Wrong-Passw0rd!"))
    client.close()
    said = str(info.value)
    assert "no failed login was spent" not in said
    assert "reached the server, and a lockout policy counts it as a failed login" in said
    assert "Wrong-Passw0rd!" not in said


# ------------------------------------------------------------------------------------------- INPUT-08 end to end
SUITE = ("-p", "contract_tests.plugin", "--pyargs", "contract_tests.suite", "-p", "no:cacheprovider",
         "--assert=plain", "-q",
         "-k", "INPUT-08")
CLEAN_ENV = ("PYTEST_BASE_URL", "PYTEST_ADDOPTS", "LOGIN_EMAIL", "LOGIN_PASSWORD", "LOGIN_CAPTCHA_TOKEN",
             "PYTEST_CURRENT_TEST", "PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID",
             "GITHUB_STEP_SUMMARY")
INPUT_08 = {  # target -> (verdict, words of its message, options)
    "refuses-from-headers-and-resets": ("passed", None, ()),
    "refuses-mid-upload-and-resets": ("passed", None, ()),
    "drops-mid-upload": ("passed", "cut the connection while the 3 MiB (3,145,728 bytes) body was being sent, 2 "
                                   "times", ()),
    "hangs-on-large-body": ("failed", "no complete answer within 2 s (--timeout bounds the whole request): ",
                            ("--timeout=2",)),
}


def _input_08(name: str, work: Path) -> dict:
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    verdict, words, options = INPUT_08[name]
    with RawTarget(BEHAVIOURS[name]) as target:
        proc = subprocess.run([sys.executable, "-m", "pytest", *SUITE, f"--base-url={target.url}",
                               "--report-dir=out", *options], cwd=work, env=env, capture_output=True, text=True,
                              timeout=120)
    report = json.loads((work / "out" / "conformance.json").read_text(encoding="utf-8"))
    result = next(r for r in report["requirements"] if r["id"] == "INPUT-08")
    return {"result": result, "output": proc.stdout + proc.stderr}


@pytest.fixture(scope="module")
def input_08_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("input08")
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(INPUT_08, pool.map(lambda n: _input_08(n, root / n), INPUT_08)))


@pytest.mark.parametrize("name", list(INPUT_08))
def test_input_08_judges_what_happened_on_the_wire(input_08_runs, name):
    verdict, words, _ = INPUT_08[name]
    run = input_08_runs[name]
    result = run["result"]
    assert result["verdict"] == verdict, (result, run["output"][-3000:])
    messages = " ".join(o["message"] for o in result["observations"])
    if words:
        assert words in messages, messages
    assert "Traceback" not in run["output"] and "ReadError" not in run["output"]
    if verdict == "failed":
        assert "3 MiB (3,145,728 bytes)" in messages
        reproduce = next(line for line in messages.splitlines() if "reproduce:" in line)
        assert "--data-binary @body.json" in reproduce and "'\"'\"'" not in reproduce  # no quoting puzzle


# ------------------------------------------------------------------------------------- the reproduction of a big body
@pytest.mark.parametrize("extra", ["", "é \" ' \\\\ ünï", "\ud800"])
def test_a_long_body_is_reproduced_by_a_short_readable_command_with_the_exact_bytes(tmp_path, extra):
    body = padded({"email": "x@example.com", "password": "Pass'word"}, "padding", 200_000)
    body["email"] += extra
    request = LoginRequest("p", "invalid", json=body, headers={"Expect": "100-continue"})
    command = request.curl("http://127.0.0.1:9")
    make, _, send = command.partition(" && ")
    assert len(command) < 600 and "--data-binary @body.json" in send and send.startswith("curl ")
    assert '"a" * ' in make and "$(" not in command  # no command substitution holding the body
    subprocess.run(make, shell=True, cwd=tmp_path, check=True)
    assert (tmp_path / "body.json").read_bytes() == request.body_bytes()


# ------------------------------------------------------------------------------- no verdict decided by message text
ROOT = Path(__file__).resolve().parents[1] / "contract_tests"
_TEXT_VERDICT = __import__("re").compile(
    r"""["'][^"']+["']\s+(not\s+)?in\s+[\w.()]*(transport_error|\.message|\.reason|str\(exc\)|str\(e\))\b""")


def test_no_check_branches_on_the_words_of_an_error_or_a_message():
    """Transport outcomes travel as kinds (sending/transport.py Failure), findings by the check that made them:
    no check, test or fuzzing step decides by looking for words in an error or a message."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        if "reference" in path.parts:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if _TEXT_VERDICT.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)


def test_an_echoed_password_is_recorded_with_the_check_that_found_it():
    """The fuzzing discounts a "password echoed" finding of a generated password the target says anyway by the
    check that found it (its record), not by the message's words."""
    from contract_tests.judging import checks, invariants, verdicts

    client = ContractClient("http://target.test", Redactor(), ClientLimits(), transport=httpx.MockTransport(
        lambda r: httpx.Response(401, json={"error": "INVALID_CREDENTIALS", "detail": "bad Echoed-Passw0rd"})))
    client.ledger = ledger = verdicts.Ledger()
    client.observer = invariants.Observer(ledger)
    ctx = verdicts.TestContext("t", ("SEC-02",))
    try:
        with ledger.running(ctx):
            client.send(LoginRequest("p", "failure", json={"email": "x@example.com", "password": "Echoed-Passw0rd"}))
    finally:
        client.close()
    [obs] = ctx.failed("SEC-02")
    echo = checks.no_password_echo
    assert obs.check["name"] == f"{echo.__module__}:{echo.__qualname__}"


# ------------------------------------------------------------------------------------- malformed headers are evidence
def _raw_answer(head: bytes):
    def behave(conn, stop):
        from tests.misbehaving_targets import read_request

        while not stop.is_set() and read_request(conn):
            conn.sendall(head)

    return behave


def test_a_malformed_content_length_is_a_protocol_error_not_a_crash():
    head = b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: twelve\r\n\r\n{}"
    with RawTarget(_raw_answer(head)) as target:
        ex = _send(target.url, _small())
    assert ex.failure.kind is Failure.PROTOCOL and "did not answer with valid HTTP" in ex.transport_error


def test_malformed_headers_of_an_answer_are_judged_as_evidence():
    """Content-Type, Set-Cookie, Retry-After and WWW-Authenticate nobody could parse: every check of every invariant
    runs over the answer, nothing raises but the checks' own findings."""
    from contract_tests.judging import invariants, verdicts

    body = b'{"error":"RATE_LIMITED"}'
    head = (b"HTTP/1.1 429 Too Many Requests\r\nContent-Type: ;;;\xff charset==\r\nSet-Cookie: =;;; Max-Age=soon\r\n"
            b"Retry-After: later, please\r\nWWW-Authenticate: \x01\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    sleeps = []
    with RawTarget(_raw_answer(head)) as target:
        client = ContractClient(target.url, Redactor(), ClientLimits(timeout=5, max_retry_wait=3),
                                sleep=sleeps.append)
        client.ledger = ledger = verdicts.Ledger()
        client.observer = invariants.Observer(ledger)
        ctx = verdicts.TestContext("t", ("INPUT-01",))
        try:
            with ledger.running(ctx), pytest.raises(Exception) as info:
                client.send(LoginRequest("p", "invalid", json={"email": "x@example.com"}))
        finally:
            client.close()
    from contract_tests.sending.client import RateLimited

    assert isinstance(info.value, RateLimited), info.value  # backed off by default, then blocked: never a crash
    # the default back-off (1 s, then 2 s; each with the pause's margin) within --max-retry-wait
    assert sleeps and 1.0 <= sleeps[0] <= 1.2 and sum(sleeps) <= 3.0 * 1.05
    assert "'later, please' is neither a number of seconds" in info.value.reason


def test_a_target_that_says_100_continue_gets_the_body_and_answers_it():
    """uvicorn says 100 Continue when the application starts reading: the body goes at once, not after the wait."""
    import time

    from contract_tests.reference import start_reference_server

    body = padded({"email": "x@example.com", "password": "Some-Passw0rd!"}, "password", 20 * 1024)
    with start_reference_server() as server:
        client = _client(server.url, continue_wait=60, timeout=90)
        started = time.monotonic()
        ex = client.send(LoginRequest("p", "failure", json=body, headers={"Expect": "100-continue"}))
        took = time.monotonic() - started
        client.close()
    assert ex.status == 401 and ex.failure is None
    assert took < 30  # answered on its 100 Continue, not after the wait for a target that says nothing (60 s)


def test_a_trust_store_that_cannot_be_loaded_is_could_not_test_in_one_line(tmp_path):
    """SSL_CERT_FILE naming a missing file, or one with no certificate: httpx fails making its TLS context before the
    first request (for an http:// target too). Exit 4, one line naming the variable, a report; no traceback."""
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate\n", encoding="utf-8")
    for value, reason in ((tmp_path / "missing.pem", "No such file or directory"), (not_pem, "NO_CERTIFICATE_OR_CRL_FOUND")):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LOGIN_", "PYTEST_"))}
        env["SSL_CERT_FILE"] = str(value)
        done = subprocess.run([sys.executable, "-m", "contract_tests", "-q", "--base-url=http://127.0.0.1:9",
                               f"--report-dir={tmp_path / 'out'}"], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=120, check=False)
        text = done.stdout + done.stderr
        assert done.returncode == 4 and "Traceback" not in text and "INTERNALERROR" not in text, text[-2000:]
        assert f"COULD NOT TEST: cannot load the CA certificates in SSL_CERT_FILE={value} (" in text
        assert reason in text
        report = json.loads((tmp_path / "out" / "conformance.json").read_text(encoding="utf-8"))
        assert report["run"]["verdict"] == "could-not-test"


def _spring_404(request: httpx.Request, message: str) -> httpx.Response:
    """Spring Boot's error attributes: "error" is the reason phrase, for a missing route and a mapped exception alike."""
    return httpx.Response(404, json={"timestamp": f"2026-12-07T14:{len(message):02d}:00.000+00:00", "status": 404,
                                     "error": "Not Found", "message": message, "path": request.url.path})


def test_a_404_to_an_unknown_account_is_the_apis_answer_when_the_configured_login_succeeds():
    """A user-not-found exception mapped to 404 in Spring's shape says "Not Found" like a missing route; the
    configured account's login at the same URL tells them apart (benign space seed 541988113 ended could-not-test)."""
    from contract_tests.sending.client import Account
    from contract_tests.sending.preflight import CannotTest, check_target

    def api(request: httpx.Request) -> httpx.Response:
        if request.url.path != "/api/user/login":
            return _spring_404(request, "No static resource")
        body = json.loads(request.content or b"{}")
        if body.get("email") == "a@example.com" and body.get("password") == "Right-Passw0rd!":
            return httpx.Response(201, json={"token": "t.t.t", "user_uuid": "u"})
        return _spring_404(request, "NO_SUCH_USER")

    def no_route(request: httpx.Request) -> httpx.Response:
        return _spring_404(request, "No static resource")

    account = Account.from_values("a@example.com", "Right-Passw0rd!")
    client = ContractClient("http://target.test", Redactor(), ClientLimits(), transport=httpx.MockTransport(api))
    login = check_target(client, account)
    client.close()
    assert login is not None and login.token
    client = ContractClient("http://target.test", Redactor(), ClientLimits(), transport=httpx.MockTransport(no_route))
    with pytest.raises(CannotTest, match="answered 404 Not Found. --base-url must be the server root"):
        check_target(client, account)
    client.close()
