"""One cause, one requirement: invariant failures are reported under their own requirement, the
headline of a failed requirement is at its failed level, JUnit properties are pairs, reasons are cut at words."""

import json
import xml.etree.ElementTree as ET

import pytest
from helpers import exchange

from contract_tests.contract.catalog import load_catalog
from contract_tests.judging import invariants, verdicts
from contract_tests.judging.results import Observation, Verdict, aggregate, clip
from contract_tests.sending.exchange import LoginRequest

CATALOG = load_catalog()
from helpers import SUITE


# ------------------------------------------------------------------------------------------ unit: the observer
def _no_nosniff(status=401, body=None, **request):
    req = LoginRequest(purpose="canned", expect=request.pop("expect", "failure"),
                       json={"email": "a@example.com", "password": "x"}, **request)
    return exchange(status, {"error": "X"} if body is None else body, {"x-content-type-options": ""}, request=req)


def test_invariant_failure_is_held_for_its_own_item_not_the_sending_test(in_test, ledger):
    observer = invariants.Observer(ledger)
    ctx = in_test("AUTH-04")
    observer(_no_nosniff())
    assert ctx.observations == []  # the SQL-injection test that sent the request does not fail for nosniff
    held, judged = observer.take("SEC-04")
    assert [o.requirement for o in held] == ["SEC-04"] and judged == 1
    assert held[0].message.startswith("SEC-04 [SHOULD]") and held[0].test == ctx.nodeid
    assert observer.take("SEC-04") == ([], 1)  # taken once: never counted twice


def test_invariant_failure_is_the_running_tests_own_when_it_checks_that_requirement(in_test, ledger):
    observer = invariants.Observer(ledger)
    ctx = in_test("SEC-04")
    observer(_no_nosniff())
    assert [o.requirement for o in ctx.failed()] == ["SEC-04"]
    assert observer.take("SEC-04") == ([], 1)


def test_a_held_repeat_is_marked_and_a_good_exchange_only_counts(in_test, ledger):
    observer = invariants.Observer(ledger)
    in_test("AUTH-01")
    observer(_no_nosniff())
    observer(_no_nosniff())
    observer(exchange(401, {"error": "X"}))  # nosniff present: judged, held
    held, judged = observer.take("SEC-04")
    assert [o.repeat for o in held] == [False, True] and judged == 3


def test_5xx_is_charged_to_the_requests_own_requirement(in_test, ledger):
    observer = invariants.Observer(ledger)
    ctx = in_test("DEPR-03")
    observer(_no_nosniff(500, {"error": "X"}, requirement="INPUT-01"))  # a shared probe sent for INPUT-01
    assert ctx.observations == [] or all(o.requirement != "DEPR-03" for o in ctx.observations)
    assert "INPUT-01" in {o.requirement for o in ledger.take_held()}
    ctx = in_test("INPUT-09")
    observer(exchange(500, {"error": "X"}, request=LoginRequest(purpose="p", expect="invalid", json={})))
    assert [o.requirement for o in ctx.failed()] == ["INPUT-09"]


def test_input_06_leaves_unparseable_bodies_to_input_04(in_test, ledger):
    observer = invariants.Observer(ledger)
    in_test("INPUT-04")
    observer(exchange(201, {"error": "NO_SUCH_USER"}, request=LoginRequest(
        purpose="p", expect="invalid", raw=b"{", content_type="application/json")))
    assert observer.take("INPUT-06") == ([], 0)
    in_test("INPUT-03")
    observer(exchange(201, {"error": "X"}, request=LoginRequest(purpose="p", expect="invalid", json={"email": 1})))
    held, judged = observer.take("INPUT-06")
    assert judged == 1 and [o.requirement for o in held] == ["INPUT-06"]


def _coerced_login(requirement=None, content_type=None, password="Right-Passw0rd!"):
    """A schema-invalid request carrying the right password in a coerced form, answered with a token."""
    fields = {"raw": b"email=a@example.com", "content_type": content_type} if content_type else \
        {"json": {"email": "a@example.com", "password": [password]}}
    req = LoginRequest(purpose="right password in a one-element array", expect="invalid", requirement=requirement,
                       **fields)
    return exchange(201, {"token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln", "user_uuid": "u",
                          "detail": "echo Echoed-Passw0rd!"}, request=req)


@pytest.mark.parametrize("order", ["invariants first", "specific check first"])
def test_a_general_invariant_is_not_charged_where_a_more_specific_requirement_failed(in_test, ledger, order):
    """The token for a coerced right password is INPUT-03's (the request was sent to check it); RESP-06 and
    INPUT-06 break for the same cause (the same check on the same exchange) and are named as "also affects"."""
    from contract_tests.judging import checks

    observer = invariants.Observer(ledger)
    ctx = in_test("RESP-06", "INPUT-03")
    ex = _coerced_login("INPUT-03")
    ex.ledger = ledger  # the run's, as its client stamps every exchange
    if order == "invariants first":
        observer(ex)
    own = verdicts.verify("INPUT-03", ex, checks.no_token)
    general = verdicts.verify("RESP-06", ex, checks.no_token)
    if order != "invariants first":
        observer(ex)
    assert not own and not general  # both checks do fail: only the charge is decided once
    assert [o.requirement for o in ctx.failed()] == ["INPUT-03"]
    assert sorted(ctx.failed()[0].also_affects) == ["INPUT-06", "RESP-06"]
    assert "  also affects: " in ctx.failed()[0].message and "RESP-06 (Tokens only for right credentials)" in \
        ctx.failed()[0].message
    assert observer.take("INPUT-06")[0] == [] and observer.take("RESP-06")[0] == []


def test_another_cause_on_the_same_exchange_is_still_charged(in_test, ledger):
    """A different check failing on the same exchange is a different cause: SEC-02's echo is charged to SEC-02."""
    from contract_tests.judging import checks

    observer = invariants.Observer(ledger)
    in_test("INPUT-03")
    ex = _coerced_login("INPUT-03", password="Echoed-Passw0rd!")
    ex.ledger = ledger  # the run's, as its client stamps every exchange
    observer(ex)
    verdicts.verify("INPUT-03", ex, checks.no_token)
    assert [o.requirement for o in observer.take("SEC-02")[0]] == ["SEC-02"]


def test_a_specific_failure_at_a_weaker_level_never_hides_a_stricter_one(in_test, ledger):
    """INPUT-07 (SHOULD) carries "no token" too; it must not absorb RESP-06 (MUST): the gate is never lowered."""
    from contract_tests.judging import checks

    observer = invariants.Observer(ledger)
    ctx = in_test("INPUT-07")
    ex = _coerced_login("INPUT-07", content_type="text/plain")
    ex.ledger = ledger  # the run's, as its client stamps every exchange
    observer(ex)
    verdicts.verify("INPUT-07", ex, checks.no_token)
    assert [o.requirement for o in ctx.failed()] == ["INPUT-07"] and not ctx.failed()[0].also_affects
    assert [o.requirement for o in observer.take("RESP-06")[0]] == ["RESP-06"]


def test_specificity_is_by_the_exchange(ledger):
    ex = _coerced_login("INPUT-03")
    ex.ledger = ledger  # the run's, as its client stamps every exchange
    assert verdicts.specificity("INPUT-03", ex) > verdicts.specificity("AUTH-09", ex) > \
        verdicts.specificity("RESP-06", ex)
    assert verdicts.specificity("RESP-06", _coerced_login("RESP-06")) == 2  # its own request: the most specific


def test_http_02_applies_to_401s_only(in_test, ledger):
    observer = invariants.Observer(ledger)
    in_test("AUTH-02")
    observer(exchange(400, {"error": "X"}))
    assert observer.take("HTTP-02") == ([], 0)
    observer(exchange(401, {"error": "X"}))
    held, judged = observer.take("HTTP-02")
    assert judged == 1 and held and held[0].requirement == "HTTP-02"


# ------------------------------------------------------------------------------------------ unit: the headline
def _failed(rid, level, message, repeat=False):
    return Observation(rid, Verdict.FAILED, "t", message, level, [], repeat=repeat)


def test_headline_is_a_failure_at_the_failed_level_with_that_levels_statement():
    req = CATALOG["RESP-04"]
    should = _failed("RESP-04", "SHOULD", "RESP-04 [SHOULD] 1 MiB -> HTML 413")
    must = _failed("RESP-04", "MUST", "RESP-04 [MUST] a 500 in text/plain")
    result = aggregate(req, [should, must])
    assert result.failed_level == "MUST" and result.headline is must
    assert result.reason.startswith("RESP-04 [MUST] a 500") and result.reason.endswith("(+1 more)")
    assert result.failed_statement == req.statement
    only_should = aggregate(req, [should])
    assert only_should.headline is should and only_should.failed_statement == req.should_clause


def test_headline_prefers_a_first_hand_report_to_a_repeat():
    req = CATALOG["SEC-04"]
    repeat, first = _failed("SEC-04", None, "again", repeat=True), _failed("SEC-04", None, "first")
    assert aggregate(req, [repeat, first]).headline is first
    assert aggregate(req, [Observation("SEC-04", Verdict.PASSED, "t")]).headline is None


def test_statement_at_a_level():
    assert CATALOG["TOKEN-02"].statement_at("SHOULD") == CATALOG["TOKEN-02"].should_clause
    assert CATALOG["TOKEN-02"].statement_at("MUST") == CATALOG["TOKEN-02"].statement
    assert CATALOG["SEC-04"].statement_at("SHOULD") == CATALOG["SEC-04"].statement  # no clause: the statement
    assert CATALOG["AUTH-01"].statement_at(None) == CATALOG["AUTH-01"].statement


@pytest.mark.parametrize("text, limit, want", [
    ("spent every failed login 100 of the budget", 30, "spent every failed login 100…"),
    ("spent every failed login 100 of the budget", 28, "spent every failed login…"),  # never "... login 10"
    ("short", 30, "short"),
    ("a  b\n c", 30, "a b c"),
    ("x" * 40, 10, "x" * 9 + "…"),  # one token longer than the limit: nothing better to do
])
def test_clip_cuts_at_a_word_boundary(text, limit, want):
    assert clip(text, limit) == want
    assert len(clip(text, limit)) <= limit


# --------------------------------------------------------------------------------- end to end (pytester runs)
@pytest.fixture
def run(pytester, monkeypatch):
    for key in ("LOGIN_EMAIL", "LOGIN_PASSWORD", "PYTEST_BASE_URL", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(key, raising=False)
    # -rfE: pytest's FAILED lines, which name the test items (the suite's own name requirements)
    return lambda *args: pytester.runpytest_inprocess(*SUITE, "--report-dir=out", "-rfE", *args)


def _failed_items(result) -> list[str]:
    """pytest's FAILED / ERROR lines, which name a test item (the suite's own FAILED lines name a requirement)."""
    return [line.split(" ", 1)[1].split(" - ")[0] for line in result.stdout.lines
            if line.startswith(("FAILED ", "ERROR ")) and "::" in line.split(" - ")[0]]


def _report(pytester) -> dict:
    return json.loads((pytester.path / "out" / "conformance.json").read_text())


@pytest.mark.parametrize("fault, rid", [("headers-on-success-only", "SEC-04"), ("failure-without-error", "RESP-05")])
def test_invariant_failure_names_its_requirement_and_no_other_test_fails(run, pytester, fault, rid):
    """Only tests that check the requirement fail (its own item among them); the failure names it first."""
    result = run(f"--reference-fault={fault}", "--fail-on=should", "--junitxml=out/junit.xml")
    assert result.ret == 1
    item = f"test_invariants.py::test_invariant[{rid} {CATALOG[rid].title}]"
    assert item in _failed_items(result), result.stdout.lines[-12:]
    text = result.stdout.str()
    assert f"{rid} [{CATALOG[rid].level}]" in text and "(which sent the request; it does not fail for this)" in text
    report = {r["id"]: r for r in _report(pytester)["requirements"]}
    assert [i for i, r in report.items() if r["verdict"] == "failed"] == [rid]
    # JUnit: every failing case checks the requirement (an ID = level property) and its message names it first
    cases = list(ET.parse(pytester.path / "out" / "junit.xml").getroot().iter("testcase"))
    failing = [c for c in cases if c.find("failure") is not None]
    assert len(failing) == len(_failed_items(result))
    assert any(f"test_invariant[{rid} {CATALOG[rid].title}]" == c.get("name") for c in failing)
    for case in failing:
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        assert props.get(rid) == CATALOG[rid].level, (case.get("name"), props)
        assert case.find("failure").get("message", "").split("\n")[0].startswith(rid), case.get("name")


def test_junit_properties_are_id_level_pairs_for_every_requirement_of_a_case(run, pytester):
    result = run("--junitxml=out/junit.xml", "-k", "fuzz_schema_invalid")
    assert result.ret in (0, 10), result.stdout.str()[-2000:]
    case = next(ET.parse(pytester.path / "out" / "junit.xml").getroot().iter("testcase"))
    props = [(p.get("name"), p.get("value")) for p in case.iter("property")]
    declared = ("INPUT-01", "INPUT-02", "INPUT-03", "INPUT-04", "INPUT-06", "RESP-04", "RESP-05", "RESP-06")
    assert props == [(rid, CATALOG[rid].level) for rid in declared]
    assert dict(props)["INPUT-06"] == "SHOULD" and dict(props)["RESP-05"] == "MUST"  # a dict reader keeps them all


def test_selecting_an_invariant_alone_sends_requests_that_exercise_it(run, pytester):
    result = run("--requirement=SEC-04", "--reference-fault=headers-on-success-only", "--fail-on=should")
    assert result.ret == 1
    report = _report(pytester)
    sec04 = next(r for r in report["requirements"] if r["id"] == "SEC-04")
    assert sec04["verdict"] == "failed" and report["run"]["requests"] > 0
    clean = run("--requirement=SEC-04")
    assert clean.ret in (0, 10)
    sec04 = next(r for r in _report(pytester)["requirements"] if r["id"] == "SEC-04")
    assert sec04["verdict"] == "passed"
    assert any("held on" in o["message"] for o in sec04["observations"])


def test_xdist_workers_each_judge_their_own_exchanges(run, pytester):
    pytest.importorskip("xdist")
    serial = run("--reference-fault=headers-on-success-only", "--fail-on=should")
    assert serial.ret == 1
    serial_count = next(r for r in _report(pytester)["requirements"] if r["id"] == "SEC-04")["failure"]["count"]
    assert serial_count <= _report(pytester)["run"]["requests"]  # one failure per exchange at most
    result = run("--reference-fault=headers-on-success-only", "--fail-on=should", "-n", "2")
    assert result.ret == 1
    failed = _failed_items(result)
    assert failed and all("SEC-04" in f or "test_nosniff" in f for f in failed), failed
    report = _report(pytester)
    assert [r["id"] for r in report["requirements"] if r["verdict"] == "failed"] == ["SEC-04"]
    sec04 = next(r for r in report["requirements"] if r["id"] == "SEC-04")
    # each worker judges its own exchanges (session fixtures run once per worker, so it sends a few more): none
    # lost (at least the serial run's, less the answers sent ahead that no test took: sent, never judged -- a
    # worker's fuzzing has a few when the budget shared with the other worker changes which examples name the
    # account), none doubled (at most one per exchange sent)
    unused = report["run"].get("unused_ahead") or 0
    assert serial_count - unused <= sec04["failure"]["count"] <= report["run"]["requests"]
    shown = [(o["test"], o["message"]) for o in sec04["observations"] if o["verdict"] == "failed"]
    assert len(shown) == len(set(shown))


# ------------------------------------------------------------------------------------- the report writers
def _obs(rid, level, expected, actual, curls=("curl x",)):
    message = (f"{rid} [{level}] {CATALOG[rid].statement_at(level)}\n  expected:  {expected}\n  actual:    {actual}\n"
               + "".join(f"  reproduce: {c}\n" for c in curls))
    evidence = [{"request": f"POST / #{i}", "response": {"status": 500, "headers": {}, "body": "{}"},
                 "elapsed_ms": 1.0, "reproduce": c} for i, c in enumerate(curls)]
    return Observation(rid, Verdict.FAILED, f"t::{rid}", message.rstrip("\n"), level, evidence, expected=expected,
                       actual=actual)


def _built(*observations):
    from contract_tests.judging.results import Results
    from contract_tests.judging.run_record import RunRecord
    from contract_tests.report import build_report, evaluate

    results = Results(CATALOG)
    for rid in CATALOG:
        results.add(Observation(rid, Verdict.PASSED, f"t::{rid}", "ok"))
    for obs in observations:
        results.add(obs)
    record = RunRecord(catalog=CATALOG, results=results, target="https://api.example.test", fail_on="should",
                       started=1_700_000_000.0, finished=1_700_000_002.5)
    outcome = evaluate(record)
    return record, outcome, build_report(record, outcome)


def test_reports_headline_the_must_violation_with_the_must_statement():
    from contract_tests.report.html import render_html
    from contract_tests.report.markdown import render_markdown
    from contract_tests.report.terminal import _note

    should = _obs("RESP-04", "SHOULD", "a JSON object", "HTML 413 for a 1 MiB body", ("curl big",))
    must = _obs("RESP-04", "MUST", "a JSON object", "text/plain 500", ("curl small",))
    record, outcome, report = _built(should, must)
    r = next(r for r in report["requirements"] if r["id"] == "RESP-04")
    assert r["failed_level"] == "MUST" and r["failure"]["level"] == "MUST"
    assert r["failure"]["actual"] == "text/plain 500" and r["reproduction"] == "curl small"
    assert r["failure"]["statement"] == CATALOG["RESP-04"].statement and "actual text/plain 500" in r["reason"]
    md = render_markdown(report)
    section = md[md.index("### RESP-04"):md.index("## All requirements")]
    assert "[MUST]" in section and "text/plain 500" in section and "HTML 413" not in section
    assert CATALOG["RESP-04"].statement[:60] in section  # the MUST statement
    assert "text/plain 500" in render_html(report)
    assert _note(outcome.requirements["RESP-04"], record, outcome).endswith("actual text/plain 500")
    # failed at SHOULD only: the SHOULD clause is printed
    _, _, report = _built(should)
    r = next(r for r in report["requirements"] if r["id"] == "RESP-04")
    assert r["failure"]["statement"] == CATALOG["RESP-04"].should_clause
    md = render_markdown(report)
    assert CATALOG["RESP-04"].should_clause[:60] in md[md.index("### RESP-04"):md.index("## All requirements")]


def test_sec_01_reproduction_shows_both_requests_compared():
    both = _obs("SEC-01", "SHOULD", "identical", "status 401 vs 404", ("curl unknown-account", "curl wrong-password"))
    _, _, report = _built(both)
    r = next(r for r in report["requirements"] if r["id"] == "SEC-01")
    assert r["reproduction"] == "curl unknown-account\ncurl wrong-password"
