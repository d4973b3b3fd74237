"""The suite against a deployment over https, as most real ones are: the reference server behind TLS (a private CA
the suite is told about with SSL_CERT_FILE, as a deployment behind a company CA would be), run as a user runs it
(``python -m contract_tests --base-url=https://...``).

Over plain http SEC-05 (HSTS) is not applicable, so only these runs observe it: the conforming server passes it (never
"skipped" on https), and servers whose HSTS is missing or too short fail it at SHOULD -- the statement's level --
without failing anything else, and without gating a run at the default ``--fail-on=must``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import trustme

from contract_tests.reference import DEMO_EMAIL, DEMO_PASSWORD, start_reference_server
from contract_tests.reference.service import LoginService

from test_faults import CLEAN_ENV

RUN_TIMEOUT = 300.0


class NoHsts(LoginService):
    """An edge that terminates TLS but never adds Strict-Transport-Security (a common omission)."""

    def base_headers(self) -> dict[str, str]:
        return {k: v for k, v in super().base_headers().items() if k != "Strict-Transport-Security"}


class ShortHsts(LoginService):
    """HSTS with a five-minute max-age, the value of a copy-pasted test configuration: far below the year asked for."""

    def base_headers(self) -> dict[str, str]:
        return {**super().base_headers(), "Strict-Transport-Security": "max-age=300"}


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    files = {"ca": root / "ca.pem", "cert": root / "cert.pem", "key": root / "key.pem"}
    ca.cert_pem.write_to_path(str(files["ca"]))
    cert.cert_chain_pems[0].write_to_path(str(files["cert"]))
    cert.private_key_pem.write_to_path(str(files["key"]))
    return files


def run_over_tls(tls_files, tmp_path: Path, service: LoginService | None, *options: str) -> tuple[int, dict, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    env.update(SSL_CERT_FILE=str(tls_files["ca"]), LOGIN_EMAIL=DEMO_EMAIL, LOGIN_PASSWORD=DEMO_PASSWORD)
    with start_reference_server(service=service, tls=(str(tls_files["cert"]), str(tls_files["key"]))) as server:
        assert server.url.startswith("https://")
        result = subprocess.run([sys.executable, "-m", "contract_tests", f"--base-url={server.url}",
                                 f"--report-dir={tmp_path / 'out'}", *options],
                                env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    report = json.loads((tmp_path / "out" / "conformance.json").read_text(encoding="utf-8"))
    return result.returncode, report, result.stdout + result.stderr


def verdicts(report: dict) -> dict[str, str]:
    return {r["id"]: r["verdict"] for r in report["requirements"]}


def test_conforming_server_over_https_passes_hsts(tls_files, tmp_path):
    code, report, output = run_over_tls(tls_files, tmp_path, None, "--fail-on=should")
    assert code == 0, output[-3000:]
    assert verdicts(report)["SEC-05"] == "passed"
    assert not [rid for rid, v in verdicts(report).items() if v in ("failed", "blocked", "inconclusive")]
    assert DEMO_PASSWORD not in output


@pytest.mark.parametrize(("service", "came_back"), [(NoHsts(), "(absent)"), (ShortHsts(), "max-age=300")],
                         ids=["missing", "five-minutes"])
def test_weak_hsts_fails_sec05_at_should_only(tls_files, tmp_path, service, came_back):
    code, report, output = run_over_tls(tls_files, tmp_path, service, "--fail-on=should")
    found = verdicts(report)
    assert code == 1, output[-3000:]
    assert [rid for rid, v in found.items() if v == "failed"] == ["SEC-05"], found
    sec05 = next(r for r in report["requirements"] if r["id"] == "SEC-05")
    assert sec05["failed_level"] == "SHOULD", sec05
    failure = output[output.index("SEC-05"):]
    assert "Strict-Transport-Security" in failure and came_back in failure, failure[:2000]
    # the default gate (MUST) lets a SHOULD through: same run, exit 0
    code, _, output = run_over_tls(tls_files, tmp_path / "must", service)
    assert code == 0, output[-3000:]
