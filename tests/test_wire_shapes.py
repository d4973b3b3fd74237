"""The wire is the wire: a conforming server is CONFORMING at --fail-on=should however HTTP carries its answers --
compressed in any coding the client asked for (gzip, br, deflate: the conforming variants of the same names, also
run by tests/test_faults.py) or spoken as HTTP/1.0 with the body delimited by the connection's close (an old proxy or
a hand-written server; uvicorn cannot answer a 1.1 request in 1.0, so a raw-socket front does it here)."""

from __future__ import annotations

import http.client
import os
import socket
import socketserver
import subprocess
import sys
import threading

import httpx
import pytest

from contract_tests.reference import start_reference_server
from contract_tests.reference.accounts import DEMO_EMAIL, DEMO_PASSWORD

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "te", "trailer", "upgrade"}


def _read_request(rfile) -> tuple[str, str, list[tuple[str, str]], bytes] | None:
    line = rfile.readline(65537).decode("latin-1")
    if not line.strip():
        return None
    method, target, _ = line.split(" ", 2)
    headers: list[tuple[str, str]] = []
    while (raw := rfile.readline(65537).decode("latin-1")) not in ("\r\n", "\n", ""):
        name, _, value = raw.partition(":")
        headers.append((name.strip(), value.strip()))
    fields = {k.lower(): v for k, v in headers}
    if fields.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while size := int(rfile.readline().split(b";")[0].strip() or b"0", 16):
            body += rfile.read(size)
            rfile.readline()
        while rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
    else:
        body = rfile.read(int(fields.get("content-length", "0") or 0))
    return method, target, headers, body


class Http10Front(socketserver.ThreadingTCPServer):
    """Answers every request in HTTP/1.0: the upstream's status, headers and body as they came (content coding
    included), no Content-Length, no chunking, ``Connection: close``, and the connection closed after the body."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.answered = 0
        super().__init__(("127.0.0.1", 0), _Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        request = _read_request(self.rfile)
        if request is None:
            return
        method, target, headers, body = request
        upstream = http.client.HTTPConnection(*self.server.upstream, timeout=30)
        try:
            upstream.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                if name.lower() not in HOP_BY_HOP:
                    upstream.putheader(name, value)
            upstream.putheader("Content-Length", str(len(body)))
            upstream.endheaders(body)
            answer = upstream.getresponse()
            data = answer.read()  # the chunked framing undone, the content coding kept
            lines = [f"HTTP/1.0 {answer.status} {answer.reason}"]
            lines += [f"{k}: {v}" for k, v in answer.getheaders() if k.lower() not in HOP_BY_HOP]
            lines.append("Connection: close")
            self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data)
            self.server.answered += 1
        finally:
            upstream.close()
        self.connection.shutdown(socket.SHUT_WR)


def run_suite(url: str, tmp_path, *extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOGIN_", "PYTEST_"))}
    env.update(LOGIN_EMAIL=DEMO_EMAIL, LOGIN_PASSWORD=DEMO_PASSWORD)
    return subprocess.run(
        [sys.executable, "-m", "contract_tests", "--base-url", url, "--fail-on=should", "-q", "-p", "no:randomly",
         f"--report-dir={tmp_path / 'out'}", *extra],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)


def test_front_speaks_http_1_0_and_closes(tmp_path):
    """The self-test's front really answers the way it claims (else the run below proves nothing)."""
    with start_reference_server(variant="gzip") as server, Http10Front((server.host, server.port)) as front:
        response = httpx.post(front.url + "/api/user/login", json={"email": "a@example.com", "password": "x"})
    assert response.http_version == "HTTP/1.0"
    assert response.headers["connection"] == "close" and "content-length" not in response.headers
    assert response.headers["content-encoding"] == "gzip" and response.json()["error"]


@pytest.mark.parametrize("variant", [None, "gzip", "br"])
@pytest.mark.parametrize("in_flight", ["1", "8"])
def test_http_1_0_with_connection_close_is_conforming(tmp_path, variant, in_flight):
    with start_reference_server(variant=variant) as server, Http10Front((server.host, server.port)) as front:
        result = run_suite(front.url, tmp_path, f"--in-flight={in_flight}")
        answered = front.answered
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "CONFORMING" in result.stdout
    assert answered > 100  # every request went through the HTTP/1.0 front


@pytest.mark.parametrize("variant", ["gzip", "br", "deflate"])
def test_compressed_answers_are_conforming(tmp_path, variant):
    """The conforming compression variants at --in-flight 8 (tests/test_faults.py runs them at the default)."""
    with start_reference_server(variant=variant) as server:
        probe = httpx.post(server.url + "/api/user/login", json={"email": "a@example.com", "password": "x"})
        result = run_suite(server.url, tmp_path, "--in-flight=8")
    assert probe.headers["content-encoding"] == variant  # the client asks for it, and the server uses it
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "CONFORMING" in result.stdout
