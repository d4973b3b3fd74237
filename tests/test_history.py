"""Run to run: the baseline comparison (--baseline, --fail-on-new), replay of recorded failures, the HAR exchange log."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import jsonschema
import helpers
import pytest

from contract_tests.contract.catalog import load_catalog
from contract_tests.history import baseline as hb
from contract_tests.history.replay import main as replay_main
from contract_tests.inputs.near_misses import near_misses
from contract_tests.judging.results import Observation, Verdict, aggregate
from contract_tests.reference import DEMO_EMAIL, DEMO_PASSWORD, start_reference_server
from contract_tests.reference.guards import CAPTCHA_TEST_TOKEN
from contract_tests.reference.registry import service_class
from contract_tests.report.json_report import SCHEMA_FILE
from contract_tests.sending.exchange import LoginRequest
from contract_tests.sending.replayable import Unavailable, from_text, to_text
from contract_tests.sending.secrets import Redactor, password_secret

SUITE = (*helpers.SUITE, "-p", "no:randomly")
HAR_SCHEMA = Path(__file__).with_name("data") / "har-1.2.schema.json"
KNOWN_FAULT, SECOND_FAULT = "cors-reflect-origin", "password-in-token"  # SEC-06 and TOKEN-03, both MUST
SIGNED_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{8,}")


@pytest.fixture(scope="module")
def report_schema():
    data = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(data, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


@pytest.fixture(scope="module")
def har_schema():
    data = json.loads(HAR_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(data)
    return jsonschema.Draft202012Validator(data)


@pytest.fixture
def run(pytester, monkeypatch):
    for key in ("LOGIN_EMAIL", "LOGIN_PASSWORD", "PYTEST_BASE_URL", "GITHUB_STEP_SUMMARY", "LOGIN_CAPTCHA_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    return lambda *args: pytester.runpytest_inprocess(*SUITE, *args)


def _valid(path: Path, schema) -> dict:
    report = json.loads(path.read_text(encoding="utf-8"))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in schema.iter_errors(report)]
    assert not errors, errors[:5]
    return report


def _result(rid: str, verdict: Verdict, level: str | None = None):
    obs = [Observation(rid, verdict, "t", "m", level=level)]
    return aggregate(load_catalog()[rid], obs)


# -- the comparison, requirement by requirement ------------------------------------------------------------------
@pytest.mark.parametrize("before, now, level, change", [
    (None, Verdict.FAILED, None, hb.NEW),
    (hb.Known("passed", None), Verdict.FAILED, None, hb.NEW),
    (hb.Known("failed", "SHOULD"), Verdict.FAILED, "MUST", hb.WORSE),
    (hb.Known("failed", "MUST"), Verdict.FAILED, "MUST", hb.STILL),
    (hb.Known("failed", "MUST"), Verdict.FAILED, "SHOULD", hb.STILL),
    (hb.Known("failed", "MUST"), Verdict.PASSED, None, hb.FIXED),
    (hb.Known("failed", "MUST"), Verdict.BLOCKED, None, hb.NOT_RECHECKED),
    (hb.Known("passed", None), Verdict.PASSED, None, hb.UNCHANGED),
    (hb.Known("inconclusive", None), Verdict.BLOCKED, None, hb.UNCHANGED),
])
def test_change_per_requirement(before, now, level, change):
    assert hb.change_of(before, _result("RESP-04", now, level)) == change


def test_known_failures_are_those_not_new_and_not_worse(tmp_path):
    known = {"RESP-04": hb.Known("failed", "SHOULD"), "SEC-06": hb.Known("failed", "MUST")}
    baseline = hb.Baseline(tmp_path / "b.json", known, None, None, None, None, None)
    results = {"RESP-04": _result("RESP-04", Verdict.FAILED, "MUST"), "SEC-06": _result("SEC-06", Verdict.FAILED),
               "AUTH-01": _result("AUTH-01", Verdict.FAILED)}
    comparison = hb.compare(baseline, results)
    assert comparison.known_failures() == {"SEC-06"}
    assert comparison.ids(hb.NEW) == ["AUTH-01"] and comparison.ids(hb.WORSE) == ["RESP-04"]


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    ("{not json", "is not JSON"),
    ('{"a": 1}', "is not a conformance.json"),
    ('{"schema_version": "2.0", "run": {}, "requirements": []}', "this suite reads 1.x"),
    ('{"schema_version": "1.1", "run": {}, "requirements": [{"id": "RESP-01", "verdict": "great"}]}',
     "unknown verdict"),
])
def test_unusable_baseline_is_one_line(tmp_path, content, message):
    path = tmp_path / "baseline.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(hb.BaselineError) as info:
        hb.load_baseline(path)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_unusable_baseline_ends_the_run_with_exit_4(run, pytester):
    (pytester.path / "b.json").write_text("[]")
    result = run("--baseline=b.json", "--report-dir=out")
    assert result.ret == 4
    assert "is not a conformance.json" in result.stderr.str() + result.stdout.str()
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_fail_on_new_without_baseline_is_a_usage_error(run):
    result = run("--fail-on-new")
    assert result.ret == 4
    assert "--fail-on-new needs --baseline" in result.stderr.str() + result.stdout.str()


def test_baseline_from_another_catalog_or_spec_is_said(tmp_path):
    document = {"schema_version": "1.1", "run": {"catalog_digest": "sha256:" + "0" * 64, "spec_digest": None},
                "requirements": [{"id": "RESP-01", "verdict": "passed", "observed_verdict": "passed"}]}
    path = tmp_path / "old.json"
    path.write_text(json.dumps(document))
    mismatch = hb.load_baseline(path).mismatch
    assert "another catalog and spec" in mismatch and "\n" not in mismatch


def test_reports_of_schema_1_1_still_load(report_schema, tmp_path):
    """A 1.1 report (no baseline, no replay) validates against the 1.2 schema and serves as a baseline."""
    catalog = load_catalog()
    from contract_tests.judging.outcome import evaluate
    from contract_tests.judging.results import Results
    from contract_tests.judging.run_record import RunRecord
    from contract_tests.report.json_report import build_report

    results = Results(catalog)
    results.add(Observation("SEC-06", Verdict.FAILED, "t", "SEC-06 [MUST]\n  expected: x\n  actual: y"))
    record = RunRecord(catalog=catalog, results=results, reference_server=True)
    report = build_report(record, evaluate(record))
    report["schema_version"] = "1.1"
    del report["baseline"]
    for r in report["requirements"]:
        del r["replay"]
    assert not list(report_schema.iter_errors(report))
    path = tmp_path / "old.json"
    path.write_text(json.dumps(report))
    assert hb.load_baseline(path).requirements["SEC-06"] == hb.Known("failed", "MUST")
    out = io.StringIO()
    code = replay_main([str(path), "--base-url", "http://127.0.0.1:9"], env={}, out=out)
    assert code == 4 and "could not test" in out.getvalue()  # nothing listens on port 9
    out = io.StringIO()
    code = replay_main([str(path), "--base-url", "http://ci:Url-Pw-31@127.0.0.1:9"], env={}, out=out)
    assert code == 4 and "could not test http://ci:<url-password>@127.0.0.1:9" in out.getvalue()
    assert "Url-Pw-31" not in out.getvalue()  # the URL's password is a secret in replay's lines too


# -- the bundled server with two faults ---------------------------------------------------------------------------
def test_two_faults_combine_only_when_they_change_different_methods():
    combined = service_class(f"{KNOWN_FAULT},{SECOND_FAULT}")
    assert {c.mutation_name for c in combined.__mro__[1:3]} == {KNOWN_FAULT, SECOND_FAULT}
    with pytest.raises(ValueError, match="both change LoginService.prepare_password"):
        service_class("strip-password,case-insensitive-password")
    with pytest.raises(ValueError, match="unknown fault 'nope'"):
        service_class(f"{KNOWN_FAULT},nope")


# -- done-when: a baseline from one fault, a run with a second fault -----------------------------------------------
def test_baseline_then_second_fault_reports_one_new_failure_and_gates_on_it(run, pytester, report_schema):
    first = run(f"--reference-fault={KNOWN_FAULT}", "--report-dir=first")
    assert first.ret == 1
    from contract_tests.__main__ import main

    assert main(["baseline", "record", "first/conformance.json", "-o", "baseline.json"]) == 0

    both = run(f"--reference-fault={KNOWN_FAULT},{SECOND_FAULT}", "--baseline=baseline.json", "--fail-on-new",
               "--report-dir=both")
    assert both.ret == 1
    report = _valid(pytester.path / "both" / "conformance.json", report_schema)
    changes = report["baseline"]["changes"]
    assert [rid for rid, c in changes.items() if c["change"] == "new"] == ["TOKEN-03"]
    assert [rid for rid, c in changes.items() if c["change"] == "still failing"] == ["SEC-06"]
    assert report["baseline"]["mismatch"] is None and report["baseline"]["fail_on_new"] is True
    gating = {r["id"]: r["gating"] for r in report["requirements"] if r["verdict"] == "failed"}
    assert gating == {"TOKEN-03": True, "SEC-06": False}
    assert report["run"]["verdict"] == "non-conforming" and report["run"]["exit_status"] == 1
    text = both.stdout.str()
    assert "since baseline baseline.json: 1 new, 1 still failing" in text
    assert re.search(r"new\s+TOKEN-03\s+passed -> failed at MUST", text)
    # the comparison comes first in Markdown and HTML
    markdown = (pytester.path / "both" / "conformance.md").read_text(encoding="utf-8")
    assert markdown.index("## Since the baseline: 1 new, 1 still failing") < markdown.index("## Failures")
    assert "🆕 **new**: **TOKEN-03**" in markdown
    html = (pytester.path / "both" / "conformance.html").read_text(encoding="utf-8")
    assert html.index('id="baseline"') < html.index('id="failures"')

    again = run(f"--reference-fault={KNOWN_FAULT}", "--baseline=baseline.json", "--fail-on-new",
                "--report-dir=again", "-rx")
    assert again.ret == 0  # the known failure is reported, not gated
    report = _valid(pytester.path / "again" / "conformance.json", report_schema)
    assert report["run"]["verdict"] == "no-new-failures"
    assert {r["id"] for r in report["requirements"] if r["verdict"] == "failed"} == {"SEC-06"}
    assert "NO-NEW-FAILURES" in again.stdout.str()
    assert "hyper3d-login baseline: " in again.stdout.str() and "(1 known failure(s)); --fail-on-new" in again.stdout.str()
    assert "known from the baseline (--fail-on-new): SEC-06" in again.stdout.str()  # xfail, not FAILED

    without = run(f"--reference-fault={KNOWN_FAULT}", "--baseline=baseline.json", "--report-dir=plain")
    assert without.ret == 1  # without --fail-on-new the gate is unchanged


# -- replay --------------------------------------------------------------------------------------------------------
def test_replay_reports_fixed_against_the_fixed_server_and_still_failing_against_the_broken_one(run, pytester):
    assert run(f"--reference-fault={KNOWN_FAULT},{SECOND_FAULT}", "--report-dir=out").ret == 1
    report = str(pytester.path / "out" / "conformance.json")
    env = {"LOGIN_EMAIL": DEMO_EMAIL, "LOGIN_PASSWORD": DEMO_PASSWORD}
    with start_reference_server() as fixed:
        out = io.StringIO()
        assert replay_main([report, "--base-url", fixed.url], env=env, out=out) == 0
    text = out.getvalue()
    assert re.search(r"SEC-06 .* FIXED", text) and re.search(r"TOKEN-03 .* FIXED", text)
    assert "FIXED; fixed: TOKEN-03, SEC-06 (exit 0)" in text
    with start_reference_server(fault=SECOND_FAULT) as broken:
        out = io.StringIO()
        assert replay_main([report, "--base-url", broken.url], env=env, out=out) == 1
    text = out.getvalue()
    assert re.search(r"TOKEN-03 .* STILL FAILING .*claims member 'pwd'", text)
    assert re.search(r"SEC-06 .* FIXED", text)
    assert DEMO_PASSWORD not in text


def test_replay_without_the_password_does_not_guess(run, pytester):
    assert run(f"--reference-fault={SECOND_FAULT}", "--report-dir=out").ret == 1
    with start_reference_server() as fixed:
        out = io.StringIO()
        code = replay_main([str(pytester.path / "out" / "conformance.json"), "--base-url", fixed.url], env={},
                           out=out)
    assert code == 10
    assert "export LOGIN_PASSWORD" in out.getvalue() and "STILL FAILING" not in out.getvalue()


TOKEN_FAULTS = "session-revoke-crash,bearer-decode-crash"  # AUTH-07 and AUTH-06: requests carrying issued tokens


def test_replay_renews_the_issued_tokens_a_recorded_request_carried(run, pytester):
    """AUTH-07 presents the token its login was issued, AUTH-06 forgeries of one: the report keeps their labels, and
    the replay logs in with the configured credentials (through the same client) to rebuild them."""
    assert run(f"--reference-fault={TOKEN_FAULTS}", "--requirement=AUTH-06,AUTH-07", "--report-dir=out").ret == 1
    report = str(pytester.path / "out" / "conformance.json")
    recorded = (pytester.path / "out" / "conformance.json").read_text(encoding="utf-8")
    assert "<Bearer issued token>" in recorded and "<forged bearer: alg-none>" in recorded
    env = {"LOGIN_EMAIL": DEMO_EMAIL, "LOGIN_PASSWORD": DEMO_PASSWORD}
    outputs = []

    def replay(server, env) -> tuple[int, str]:
        out = io.StringIO()
        code = replay_main([report, "--base-url", server.url, "--fail-on", "should"], env=env, out=out)
        outputs.append(out.getvalue())
        return code, out.getvalue()

    with start_reference_server() as fixed:
        code, text = replay(fixed, env)
        assert code == 0, text
        assert re.search(r"AUTH-06 .* FIXED +3 fixed", text) and re.search(r"AUTH-07 .* FIXED +1 fixed", text)
        # the reachability probe, then a renewing login before each of the 4 replayed requests
        assert "against " + fixed.url + ": 9 request(s) sent" in text
        code, text = replay(fixed, {"LOGIN_EMAIL": DEMO_EMAIL, "LOGIN_PASSWORD": "Not-The-Demo-Passw0rd!"})
        assert code == 10 and "the login renewing the token issued none (status 401" in text
    with start_reference_server(fault=TOKEN_FAULTS) as broken:
        code, text = replay(broken, env)
        assert code == 1 and "STILL FAILING: AUTH-06, AUTH-07" in text
        code, text = replay(broken, {})
    assert code == 10 and "STILL FAILING" not in text and "FIXED" not in text.split("replay --fail-on")[0]
    assert "built from a token the target issued during the recorded run: export LOGIN_EMAIL and LOGIN_PASSWORD" in text
    joined = "".join(outputs)
    assert DEMO_PASSWORD not in joined and not SIGNED_JWT.search(joined)


@pytest.mark.parametrize("argv, message", [
    (["missing.json", "--base-url", "http://127.0.0.1:9"], "no such file"),
    (["{report}", "--base-url", "ftp://x"], "must be an http(s) URL"),
    (["{report}", "--base-url", "http://ci:Pw-9@[::1"], "(not a valid URL (Invalid IPv6 URL)), got 'http://ci:<url-password>@[::1'"),
    (["{report}", "--base-url", "http://127.0.0.1:9", "--timeout", "nan"], "finite number"),
    (["{report}", "--base-url", "http://127.0.0.1:9", "--requirement", "NOPE-01"], "unknown requirement"),
])
def test_bad_replay_input_is_one_line_and_exit_4(tmp_path, argv, message):
    report = tmp_path / "r.json"
    report.write_text(json.dumps({"schema_version": "1.2", "run": {}, "requirements": []}))
    out = io.StringIO()
    code = replay_main([a.replace("{report}", str(report)) for a in argv], env={}, out=out)
    assert code == 4 and message in out.getvalue() and len(out.getvalue().splitlines()) == 1


def test_replay_with_a_trust_store_that_cannot_be_loaded_is_one_line_and_exit_4(tmp_path, monkeypatch):
    report = tmp_path / "r.json"
    report.write_text(json.dumps({"schema_version": "1.2", "run": {}, "requirements": []}))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    out = io.StringIO()
    code = replay_main([str(report), "--base-url", "http://127.0.0.1:9"], env={}, out=out)
    assert code == 4 and out.getvalue() == (f"ERROR: replay: cannot load the CA certificates in SSL_CERT_FILE="
                                            f"{tmp_path / 'missing.pem'} (No such file or directory): correct it, "
                                            "or unset it to use the defaults\n")


def test_request_data_round_trips_with_secrets_from_the_environment():
    redactor = Redactor()
    password = password_secret("Round-Trip-Pw-99")
    redactor.add(password)
    miss = near_misses(password)["char-appended"]
    requests = [
        LoginRequest("p", "success", json={"email": "a@example.com", "password": password}, real_account=True),
        LoginRequest("p", "failure", json={"email": "a@example.com", "password": miss, "n": [1, 2.5, None]}),
        LoginRequest("p", "invalid", raw=b'{"email": "\xff"}', content_type="application/json"),
        LoginRequest("p", "failure", form=[("email", "a@example.com"), ("password", password)]),
        LoginRequest("p", "any", method="GET", params=[("email", "a"), ("password", password)]),
    ]
    fresh = password_secret("Round-Trip-Pw-99")
    labels = {fresh.label: fresh, **{s.label: s for s in near_misses(fresh).values() if hasattr(s, "label")}}
    for request in requests:
        text = to_text(request, redactor)
        assert "Round-Trip" not in text and text.isascii()
        back = from_text(text, labels.__getitem__)
        assert back.httpx_kwargs() == request.httpx_kwargs()
        assert (back.expect, back.real_account) == (request.expect, request.real_account)


def test_request_data_never_keeps_a_value_derived_from_a_secret():
    redactor = Redactor()
    redactor.add(password_secret("Derived-Pw-12345"))
    plain = LoginRequest("p", "failure", json={"email": "a@example.com", "password": "Derived-Pw-12345 "})
    assert "unavailable" in json.loads(to_text(plain, redactor))
    raw = LoginRequest("p", "failure", raw=b'{"password": "Derived-Pw-12345"}')
    assert "unavailable" in json.loads(to_text(raw, redactor))
    big = LoginRequest("p", "invalid", json={"email": "a" * 20000})
    assert "too large" in json.loads(to_text(big, redactor))["unavailable"]
    from contract_tests.history.replay import Replayer

    from contract_tests.sending.client import ClientLimits, ContractClient

    # no account: nothing can be renewed; nothing is sent (the port is never connected to)
    replayer = Replayer(ContractClient("http://127.0.0.1:9", redactor, ClientLimits()), secrets={})
    with pytest.raises(Unavailable, match="it only existed during the recorded run"):
        replayer.secret("<a value of the recorded run>")
    with pytest.raises(Unavailable, match="export LOGIN_EMAIL and LOGIN_PASSWORD to log in and renew it"):
        replayer.secret("<Bearer issued token>")  # built from an issued token: renewed only with credentials


# -- HAR -----------------------------------------------------------------------------------------------------------
def _har_checks(path: Path, har_schema) -> dict:
    text = path.read_text(encoding="utf-8")
    har = json.loads(text)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in har_schema.iter_errors(har)]
    assert not errors, errors[:5]
    for secret in (DEMO_PASSWORD, json.dumps(DEMO_PASSWORD)[1:-1], CAPTCHA_TEST_TOKEN):
        assert secret not in text
    assert not SIGNED_JWT.search(text), "an issued token kept its signature"
    return har


def test_har_of_a_run_loads_validates_and_holds_no_secret(run, pytester, har_schema):
    result = run("--har=out/run.har", "--report-dir=out")
    assert result.ret == 0, result.stdout.str()[-2000:]
    har = _har_checks(pytester.path / "out" / "run.har", har_schema)
    entries = har["log"]["entries"]
    report = json.loads((pytester.path / "out" / "conformance.json").read_text(encoding="utf-8"))
    assert len(entries) >= report["run"]["requests"]  # every attempt, the pre-flight probes included
    text = json.dumps(entries)
    assert "<LOGIN_PASSWORD>" in text and "<JWT " in text
    successes = [e for e in entries if e["response"]["status"] == 201]
    assert successes and all("signature removed" in e["response"]["content"]["text"] for e in successes)
    assert max(len(e["request"].get("postData", {}).get("text", "")) for e in entries) <= 16 * 1024


def test_har_shows_the_captcha_token_as_its_label(run, pytester, har_schema):
    result = run("--reference-variant=captcha-turnstile", "--requirement=RESP-01", "--har=run.har")
    assert result.ret in (0, 10)  # the variant's verdict is not this test's concern (tests/test_faults.py)
    har = _har_checks(pytester.path / "run.har", har_schema)
    posts = [e for e in har["log"]["entries"] if e["request"]["method"] == "POST"]
    assert posts and all({"name": "cf-turnstile-response", "value": "<LOGIN_CAPTCHA_TOKEN>"} in e["request"]["headers"]
                         for e in posts)


def test_har_with_xdist_holds_every_workers_exchanges(run, pytester, har_schema):
    pytest.importorskip("xdist")
    # loadfile: test_fuzz.py goes to one worker while the other may still run hand-written files
    result = run("-n", "2", "--dist=loadfile", "--har=run.har", "--report-dir=out")
    assert result.ret == 0, result.stdout.str()[-2000:]
    har = _har_checks(pytester.path / "run.har", har_schema)
    report = json.loads((pytester.path / "out" / "conformance.json").read_text(encoding="utf-8"))
    assert report["run"]["xdist_workers"] == 2
    assert len(har["log"]["entries"]) >= report["run"]["requests"]
    assert not list(pytester.path.glob("run.har.part-*"))
    started = [e["startedDateTime"] for e in har["log"]["entries"]]
    assert started == sorted(started)
    # fuzzing shares what the hand-written checks of the whole run left of the failed-login budget: on xdist it
    # waits for those of every worker (without that, one run blocked AUTH-03 with the budget spent by fuzzing)
    # (the session fixtures a fuzzing test uses are set up by it where no hand-written test used them first)
    fixtures = ("validation probe", "another account that does not exist", "an account that does not exist",
                "login to an account that does not exist", "wrong password for the configured account")
    purposes = [e["request"].get("comment") or "" for e in har["log"]["entries"]]
    fuzzing = [i for i, purpose in enumerate(purposes) if purpose.startswith("fuzz")]
    hand_written = [i for i, purpose in enumerate(purposes)
                    if not purpose.startswith(("fuzz", "interleaved", *fixtures))]
    assert fuzzing and hand_written and max(hand_written) < min(fuzzing), [
        purposes[i] for i in hand_written if i > min(fuzzing)]


def test_har_body_cap_and_labels():
    from contract_tests.sending.har import BODY_CAP, HarRecorder
    from helpers import exchange

    redactor = Redactor()
    password = password_secret("Har-Pw-424242")
    redactor.add(password)
    big = exchange(401, {"error": "X", "pad": "y" * (BODY_CAP * 2)}, redactor=redactor, request=LoginRequest(
        "p", "failure", json={"email": "a@example.com", "password": password}))
    recorder = HarRecorder({"User-Agent": "t"}, "cf-turnstile-response")
    recorder(big, 1.0, True)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.har"
        recorder.write(path)
        entry = json.loads(path.read_text())["log"]["entries"][0]
    assert len(entry["response"]["content"]["text"]) == BODY_CAP and "body cut" in entry["response"]["content"]["comment"]
    assert '"<LOGIN_PASSWORD>"' in entry["request"]["postData"]["text"]
    assert {"name": "cf-turnstile-response", "value": "<LOGIN_CAPTCHA_TOKEN>"} in entry["request"]["headers"]


def test_har_and_replay_data_of_a_server_that_echoes_the_password_hold_no_secret(run, pytester, har_schema):
    result = run("--reference-fault=echo-password", "--har=run.har", "--report-dir=out")
    assert result.ret == 1
    _har_checks(pytester.path / "run.har", har_schema)
    report = (pytester.path / "out" / "conformance.json").read_text(encoding="utf-8")
    assert DEMO_PASSWORD not in report and json.dumps(DEMO_PASSWORD)[1:-1] not in report
    assert '\\"secret\\": \\"<LOGIN_PASSWORD>\\"' in report  # the replay data holds the label


def test_baseline_record_checks_the_file_and_refuses_a_run_that_could_not_test(tmp_path):
    good = {"schema_version": "1.2", "run": {"verdict": "non-conforming"},
            "requirements": [{"id": "SEC-06", "verdict": "waived", "observed_verdict": "failed", "failed_level": "MUST"}]}
    (tmp_path / "good.json").write_text(json.dumps(good))
    out = io.StringIO()
    assert hb.record_main(["record", str(tmp_path / "good.json"), "-o", str(tmp_path / "b.json")], out=out) == 0
    assert "1 known failure(s): SEC-06" in out.getvalue()  # a waived failure is still a known one
    assert json.loads((tmp_path / "b.json").read_text()) == good
    bad = {**good, "run": {"verdict": "could-not-test"}}
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    out = io.StringIO()
    assert hb.record_main(["record", str(tmp_path / "bad.json"), "-o", str(tmp_path / "c.json")], out=out) == 4
    assert "could not test its target" in out.getvalue() and not (tmp_path / "c.json").exists()
