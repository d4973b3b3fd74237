"""End-to-end self-tests of the judging principles on reference servers that produce each shape (the unit tests of
the checks are in tests/test_disclosure.py, test_classification.py, test_blame.py and test_checks.py):

* SEC-02 judges disclosure, not key names: field-keyed validation errors (``field-errors``) are clean;
* DEPR-03 decides from the run's evidence: a validator that coerces a number to a string (``coercing-validator``)
  leaves DEPR-03 decided;
* one cause, one requirement: the right password in a one-element array that logs in is INPUT-03's, with RESP-06 and
  INPUT-06 named as "also affects" (``single-item-list-unwrapped``);
* a lock is a lock: a policy locking any identifier with 403 USER_FORBIDDEN and no Retry-After (``lockout-403``)
  does not fail SEC-01, at --in-flight 1 and 8, although the suite's own requests lock its unknown identifier;
* RESP-05 says what a body that is not JSON is (``html-401``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest

from contract_tests.reference import start_reference_server
from contract_tests.reference.accounts import DEMO_EMAIL, DEMO_PASSWORD


def run_suite(tmp_path, *, variant=None, fault=None, args=()) -> tuple[int, dict, str, object]:
    """One default run of the suite at --fail-on=should against a reference server: (exit, conformance.json by
    requirement, output, the server's service after the run)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOGIN_", "PYTEST_"))}
    env.update(LOGIN_EMAIL=DEMO_EMAIL, LOGIN_PASSWORD=DEMO_PASSWORD)
    with start_reference_server(variant=variant, fault=fault) as server:
        result = subprocess.run(
            [sys.executable, "-m", "contract_tests", "--base-url", server.url, "--fail-on=should", "-q",
             "-p", "no:randomly", f"--report-dir={tmp_path / 'out'}", *args],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
        service = server.service
    report = json.loads((tmp_path / "out" / "conformance.json").read_text(encoding="utf-8"))
    by_id = {r["id"]: r for r in report["requirements"]}
    return result.returncode, by_id, result.stdout + result.stderr, service


def verdict(requirement: dict) -> str:
    return requirement.get("observed_verdict") or requirement["verdict"]


def test_field_keyed_validation_errors_are_not_a_disclosure(tmp_path):
    with start_reference_server(variant="field-errors") as server:  # the variant answers the shape in question
        blank = httpx.post(server.url + "/api/user/login", json={"email": "a@example.com", "password": ""})
    assert (blank.status_code, blank.json()) == (
        400, {"error": "INVALID_REQUEST", "fields": {"password": ["This field may not be blank."]}})
    code, report, out, _ = run_suite(tmp_path, variant="field-errors")
    assert code == 0, out[-4000:]
    assert verdict(report["SEC-02"]) == "passed"


def test_a_coerced_validation_probe_leaves_depr_03_decided(tmp_path):
    code, report, out, _ = run_suite(tmp_path, variant="coercing-validator")
    assert code == 0, out[-4000:]
    assert verdict(report["DEPR-03"]) == "passed" and verdict(report["INPUT-05"]) == "passed"


def test_the_right_password_coerced_is_charged_once(tmp_path):
    code, report, out, _ = run_suite(tmp_path, fault="single-item-list-unwrapped")
    assert code == 1
    assert verdict(report["INPUT-03"]) == "failed"
    assert verdict(report["RESP-06"]) == "passed" and verdict(report["INPUT-06"]) == "passed"
    failed = [o for o in report["INPUT-03"]["observations"] if o["verdict"] == "failed"]
    assert any(set(o["also_affects"]) == {"RESP-06", "INPUT-06"} for o in failed)
    assert "also affects: RESP-06 (Tokens only for right credentials)" in out
    assert DEMO_PASSWORD not in out


@pytest.mark.parametrize("in_flight", ["1", "8"])
def test_a_lock_in_its_own_vocabulary_is_not_enumeration(tmp_path, in_flight):
    code, report, out, service = run_suite(tmp_path, variant="lockout-403", args=[f"--in-flight={in_flight}"])
    locked = [key for key, failures in service.failures.items() if len(failures) >= service.lock_after]
    assert locked, "the suite's own requests locked no identifier: the run proves nothing"
    # never red: SEC-01 never compares a lock answer with a credential failure, nothing fails. The lock gives no
    # Retry-After and no --lockout-policy says how long it lasts, so the locked identifier is left alone for the rest of
    # the run (no hammering of a lock): what it keeps from being observed is blocked, said as such, and the run is
    # INCONCLUSIVE (exit 10); declared with --lockout-policy the same policy is conforming (tests/test_lock_pauses.py)
    assert not [rid for rid, r in report.items() if verdict(r) == "failed"], out[-4000:]
    assert verdict(report["SEC-01"]) in ("passed", "blocked")
    undecided = {rid: r for rid, r in report.items() if verdict(r) in ("blocked", "inconclusive")}
    assert code == (10 if undecided else 0), out[-4000:]
    for rid, r in undecided.items():
        assert verdict(r) == "blocked" and "locked out by the target" in r["reason"], (rid, r["reason"])


def test_resp_05_says_the_body_is_not_json(tmp_path):
    code, report, out, _ = run_suite(tmp_path, fault="html-401")
    assert verdict(report["RESP-05"]) == "failed"
    assert "the body is not JSON (Content-Type 'text/html" in out
    assert "\"error\" is 'null'" not in out
