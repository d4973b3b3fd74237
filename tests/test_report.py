"""Units of the report and gate layer: waivers, the gate's verdict and exit code, the JSON schema, Markdown and HTML
rendering and the step summary (end-to-end runs are in test_gate.py; the CI examples in test_ci_examples.py)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contract_tests.contract.catalog import load_catalog
from contract_tests.report import SCHEMA_FILE, build_report, evaluate
from contract_tests.report.html import render_html
from contract_tests.report.json_report import strip_credentials
from contract_tests.report.markdown import append_step_summary, render_markdown, text
from contract_tests.judging.results import Observation, Results, Verdict
from contract_tests.judging.run_record import RunRecord
from contract_tests.judging.waivers import Waiver, WaiverError, load_waivers

CATALOG = load_catalog()


# ---------------------------------------------------------------------------------------------- waivers
def _write(tmp_path, content: str) -> Path:
    path = tmp_path / "waivers.yaml"
    path.write_text(content, encoding="utf-8")
    return path


def test_waivers_parse_mapping_and_bare_list(tmp_path):
    mapping = _write(tmp_path, "waivers:\n  - id: SEC-01\n    reason: '  vendor   style  '\n    expires: 2099-01-31\n")
    assert load_waivers(mapping, CATALOG) == (Waiver("SEC-01", "vendor style", dt.date(2099, 1, 31)),)
    bare = _write(tmp_path, "- {id: SEC-03, reason: cdn, expires: '2099-02-01'}\n")
    assert load_waivers(bare, CATALOG)[0].expires == dt.date(2099, 2, 1)
    assert load_waivers(_write(tmp_path, ""), CATALOG) == ()
    assert load_waivers(_write(tmp_path, "waivers: []\n"), CATALOG) == ()


def test_waiver_protects_through_its_expiry_day():
    day = dt.date(2026, 11, 30)  # a fixed day: the run may cross midnight (UTC)
    waiver = Waiver("SEC-01", "x", day)
    assert waiver.status(on=day) == "active" and not waiver.expired(on=day)
    assert waiver.expired(on=day + dt.timedelta(days=1))
    assert Waiver("SEC-01", "x", day - dt.timedelta(days=1)).status(on=day) == "expired"
    assert waiver.to_dict(on=day) == {"id": "SEC-01", "reason": "x", "expires": day.isoformat(), "status": "active"}


@pytest.mark.parametrize(
    "content, message",
    [
        ("- {id: NOPE-01, reason: x, expires: 2099-01-01}\n", "unknown requirement ID 'NOPE-01'"),
        ("- {id: 7, reason: x, expires: 2099-01-01}\n", "unknown requirement ID 7"),
        ("- {id: SEC-01, reason: x, expires: 2099-01-01}\n- {id: SEC-01, reason: y, expires: 2099-01-01}\n",
         "waived twice"),
        ("- {id: SEC-01, expires: 2099-01-01}\n", "missing reason"),
        ("- {id: SEC-01, reason: x}\n", "missing expires"),
        ("- {id: SEC-01, reason: '  ', expires: 2099-01-01}\n", "reason must be a non-empty string"),
        ("- {id: SEC-01, reason: x, expires: 31/12/2099}\n", "expires must be a date"),
        ("- {id: SEC-01, reason: x, expires: 2099-01-01, until: 2100-01-01}\n", "unknown key(s) ['until']"),
        ("- SEC-01\n", "expected a mapping"),
        ("waiver:\n  - {id: SEC-01, reason: x, expires: 2099-01-01}\n", "unknown top-level key(s) ['waiver']"),
        ("waivers: {id: SEC-01}\n", "expected a list of waivers"),
        ("waivers: [\n", "the waiver file is not valid YAML at line 2, column 1 (did not find expected node content)"),
    ],
)
def test_invalid_waiver_files_are_errors(tmp_path, content, message):
    with pytest.raises(WaiverError, match=None) as info:
        load_waivers(_write(tmp_path, content), CATALOG)
    assert message in str(info.value)


def test_a_waiver_file_that_is_not_utf8_is_one_line(tmp_path):
    path = tmp_path / "waivers.yaml"
    path.write_bytes(b"- {id: SEC-01, reason: caf\xe9, expires: 2099-01-01}\n")  # Latin-1, as an old editor saves it
    with pytest.raises(WaiverError) as info:
        load_waivers(path, CATALOG)
    assert str(info.value) == f"{path}: the waiver file is not UTF-8 text (byte 26 is 0xe9)"


def test_missing_waiver_file_is_an_error(tmp_path):
    with pytest.raises(WaiverError, match="cannot read the waiver file"):
        load_waivers(tmp_path / "nope.yaml", CATALOG)


# ---------------------------------------------------------------------------------------------- the gate
def _state(observations=(), *, fail_on="must", inconclusive=False, waivers=(), could_not_test=None, errors=0,
           workers=0, passed=None, credentials=True, selected=None, stopped=None):
    """A run record where every requirement passed (or those in *passed*), plus *observations*."""
    results = Results(CATALOG)
    for rid in CATALOG if passed is None else passed:
        results.add(Observation(rid, Verdict.PASSED, f"t::{rid}", "ok"))
    for obs in observations:
        results.add(obs)
    return RunRecord(
        catalog=CATALOG, results=results, target="https://api.example.test", fail_on=fail_on,
        fail_on_inconclusive=inconclusive, waivers=tuple(waivers), credentials=credentials,
        could_not_test=could_not_test, suite_errors=errors, workers=workers, selected=selected, stopped=stopped,
        started=1_700_000_000.0, finished=1_700_000_002.5,
    )


def _fail(rid, level=None):
    message = f"{rid} [{level or CATALOG[rid].level}] statement\n  expected:  A\n  actual:    B\n  reproduce: curl x"
    return Observation(rid, Verdict.FAILED, f"t::{rid}", message, level,
                       [{"request": "POST /", "response": {"status": 500, "headers": {}, "body": "{}"},
                         "elapsed_ms": 1.0, "reproduce": "curl x"}], expected="A", actual="B")


FUTURE = Waiver("SEC-06", "known", dt.date(2099, 1, 1))
EXPIRED = Waiver("SEC-06", "known", dt.date(2000, 1, 1))
MUST, SHOULD, UNDECIDED = _fail("SEC-06"), _fail("SEC-03"), Observation("INPUT-05", Verdict.INCONCLUSIVE, "t", "?")
BLOCKED_MUST = Observation("AUTH-01", Verdict.BLOCKED, "t", "blocked: captcha")
ACCEPT_AUTH_01 = Waiver("AUTH-01", "staging enforces a captcha", dt.date(2099, 1, 1))


@pytest.mark.parametrize(
    "observations, options, exit_code, verdict",
    [
        ((), {}, 0, "conforming"),
        ((MUST,), {}, 1, "non-conforming"),
        ((SHOULD,), {}, 0, "conforming"),
        ((SHOULD,), {"fail_on": "should"}, 1, "non-conforming"),
        ((_fail("RESP-04", "SHOULD"),), {}, 0, "conforming"),  # a MUST requirement's SHOULD clause
        ((MUST,), {"waivers": [FUTURE]}, 0, "conforming"),
        ((MUST,), {"waivers": [EXPIRED]}, 1, "non-conforming"),
        ((UNDECIDED,), {}, 0, "conforming"),  # an undecided SHOULD does not hold the gate...
        ((UNDECIDED,), {"inconclusive": True}, 10, "inconclusive"),  # ...unless asked
        ((BLOCKED_MUST,), {}, 10, "inconclusive"),  # an undecided MUST always does
        ((BLOCKED_MUST,), {"waivers": [ACCEPT_AUTH_01]}, 0, "conforming"),  # accepted as not observable here
        ((MUST, UNDECIDED), {"inconclusive": True}, 1, "non-conforming"),
        ((MUST, UNDECIDED), {"inconclusive": True, "waivers": [FUTURE]}, 10, "inconclusive"),
        ((), {"errors": 2}, 1, "error"),
        ((MUST,), {"could_not_test": "cannot reach"}, 4, "could-not-test"),
        ((), {"stopped": "interrupted"}, 10, "inconclusive"),
        ((), {"passed": [r for r in CATALOG if CATALOG[r].level == "SHOULD"]}, 10, "inconclusive"),  # MUSTs not run
        ((), {"passed": [], "selected": frozenset()}, 10, "inconclusive"),  # nothing selected: nothing observed
        ((), {"passed": ["AUTH-02"], "selected": frozenset({"AUTH-02"})}, 0, "conforming"),  # narrowed, stated
    ],
)
def test_gate_verdict_and_exit_code(observations, options, exit_code, verdict):
    outcome = evaluate(_state(observations, **options))
    assert (outcome.exit_code, outcome.verdict) == (exit_code, verdict), outcome.reasons
    assert bool(outcome.reasons) == (exit_code != 0)


_VERDICTS = [Verdict.PASSED, Verdict.FAILED, Verdict.INCONCLUSIVE, Verdict.BLOCKED, Verdict.SKIPPED]


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    observed=st.dictionaries(st.sampled_from(sorted(CATALOG)), st.lists(st.sampled_from(_VERDICTS), max_size=3)),
    fail_on=st.sampled_from(["must", "should"]),
    inconclusive=st.booleans(),
    credentials=st.booleans(),
    waived=st.sets(st.sampled_from(sorted(CATALOG)), max_size=3),
)
def test_no_observations_make_a_conforming_run_with_an_undecided_must(observed, fail_on, inconclusive, credentials,
                                                                        waived):
    observations = [Observation(rid, v, "t", f"{v.value}: x") for rid, vs in observed.items() for v in vs]
    record = _state(observations, passed=[], fail_on=fail_on, inconclusive=inconclusive, credentials=credentials,
                    waivers=[Waiver(rid, "accepted", dt.date(2099, 1, 1)) for rid in waived])
    outcome = evaluate(record)
    if outcome.verdict != "conforming":
        return
    in_scope_must = [r for r in outcome.requirements.values()
                     if r.result.requirement.level == "MUST" and not r.out_of_scope]
    assert all(r.verdict in (Verdict.PASSED, Verdict.WAIVED) or r.accepted
               or (r.verdict is Verdict.SKIPPED and all(o.not_applicable for o in r.result.observations))
               for r in in_scope_must), outcome.reasons
    assert any(r.verdict is Verdict.PASSED for r in in_scope_must)


def test_waived_and_expired_waivers_are_reported():
    outcome = evaluate(_state([MUST], waivers=[FUTURE, Waiver("SEC-01", "unused", dt.date(2099, 1, 1))]))
    assert outcome.requirements["SEC-06"].verdict is Verdict.WAIVED and not outcome.requirements["SEC-06"].gating
    assert [w.id for w in outcome.unused_waivers] == ["SEC-01"]
    expired = evaluate(_state([MUST], waivers=[EXPIRED]))
    assert expired.requirements["SEC-06"].verdict is Verdict.FAILED and expired.gating == ["SEC-06"]
    assert expired.expired_waivers == [EXPIRED]
    assert "expired waiver(s) no longer protect: SEC-06" in expired.reasons


# ---------------------------------------------------------------------------------------------- JSON schema
@pytest.fixture(scope="module")
def validator():
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


@pytest.fixture
def report():
    record = _state([MUST, SHOULD, UNDECIDED, _fail("RESP-03")],
                    waivers=[Waiver("RESP-03", "legacy", dt.date(2099, 1, 1))])
    return build_report(record, evaluate(record))


def test_built_report_is_valid_and_complete(validator, report):
    assert not list(validator.iter_errors(report))
    assert report["summary"]["failed"] == 2 and report["summary"]["waived"] == 1
    assert report["summary"]["inconclusive"] == 1
    by_id = {r["id"]: r for r in report["requirements"]}
    assert by_id["SEC-06"]["failure"]["expected"] == "A" and by_id["SEC-06"]["failure"]["actual"] == "B"
    assert by_id["SEC-06"]["reason"] == "expected A; actual B"
    assert by_id["SEC-06"]["reproduction"] == "curl x"
    assert report["run"]["duration_s"] == 2.5 and report["run"]["hypothesis_seed"] is None


@pytest.mark.parametrize(
    "mutate",
    [
        lambda r: r["requirements"][0].update(verdict="maybe"),
        lambda r: r["run"].pop("target"),
        lambda r: r["run"].update(target="https://user:secret@api.example.test"),
        lambda r: r["run"].update(verdict="fine"),
        lambda r: r.update(schema_version="2.0"),
        lambda r: next(x for x in r["requirements"] if x["id"] == "SEC-06").update(failure=None),
        lambda r: r["summary"].pop("waived"),
        lambda r: r.update(extra=True),
    ],
)
def test_schema_rejects_malformed_reports(validator, report, mutate):
    broken = copy.deepcopy(report)
    mutate(broken)
    assert list(validator.iter_errors(broken))


def test_rate_limits_and_lockouts_are_shown_in_every_report(validator, report):
    assert (report["run"]["rate_limited"], report["run"]["locked_out"], report["run"]["backoff_s"]) == (0, 0, 0)
    assert "Rate limits" not in render_markdown(report) and "rate limits and lockouts" not in render_html(report)
    record = _state()
    record.rate_limited, record.locked_out, record.backoff_seconds = 16, 1, 18.04
    met = build_report(record, evaluate(record))
    assert not list(validator.iter_errors(met))
    assert (met["run"]["rate_limited"], met["run"]["locked_out"], met["run"]["backoff_s"]) == (16, 1, 18.0)
    line = "16 rate limits (429 / RATE_LIMITED / 503 again) and 1 lockout (423 / lock error) met, 18 s of back-off in total"
    assert f"**Rate limits and lockouts:** {line}" in render_markdown(met)
    assert line in render_html(met)
    assert met["summary"]["failed"] == 0  # counted and shown, never a failure
    broken = copy.deepcopy(met)
    broken["run"]["backoff_s"] = -1
    assert list(validator.iter_errors(broken))


def test_target_credentials_and_query_are_stripped():
    assert strip_credentials("https://u:p@api.example.test:8443/base?x=1#f") == "https://api.example.test:8443/base"
    assert strip_credentials("http://[::1]:8080") == "http://[::1]:8080"


def test_scope_notes_name_what_was_left_out():
    narrowed = evaluate(_state(passed=["AUTH-02"], selected=frozenset({"AUTH-02"})))
    assert narrowed.scope_notes[0].startswith("scope narrowed")
    assert "RESP-01" in narrowed.scope_notes[0] and "AUTH-02" not in narrowed.scope_notes[0]
    no_creds = [Observation(r, Verdict.SKIPPED, "t", "no credentials: set LOGIN_EMAIL") for r in CATALOG
                if CATALOG[r].credentials == "required"]
    record = _state(no_creds, passed=[r for r in CATALOG if CATALOG[r].credentials != "required"],
                    credentials=False)
    outcome = evaluate(record)  # not asked for: the credential-free subset is no gate's evidence
    assert outcome.verdict == "inconclusive" and "no credentials" in outcome.scope_notes[0]
    assert any(reason.startswith("no credentials:") and "--without-credentials" in reason for reason in outcome.reasons)
    record.without_credentials = True  # asked for: the subset is judged alone
    outcome = evaluate(record)
    assert outcome.verdict == "conforming" and "no credentials" in outcome.scope_notes[0]


def test_report_carries_scope_and_accepted(validator):
    record = _state([BLOCKED_MUST], waivers=[ACCEPT_AUTH_01])
    report = build_report(record, evaluate(record))
    assert not list(validator.iter_errors(report))
    auth01 = next(r for r in report["requirements"] if r["id"] == "AUTH-01")
    assert auth01["accepted"] is True and auth01["verdict"] == "blocked"
    assert any("accepted" in note for note in report["run"]["scope"])


def test_no_raw_control_characters_in_any_report():
    dirty = _fail("SEC-06")
    dirty.message += "\n  actual:    NUL\x00 ESC\x1b[31m RLO\u202e"
    dirty.evidence[0]["response"]["body"] = "\x00\x07"
    record = _state([dirty])
    report = build_report(record, evaluate(record))
    rendered = json.dumps(report, ensure_ascii=False) + render_markdown(report) + render_html(report)
    assert not [c for c in rendered if (ord(c) < 32 and c not in "\n\t") or c == "\u202e"]
    assert "\\x00" in json.dumps(report)


# ---------------------------------------------------------------------------------------------- Markdown / HTML
def test_markdown_text_is_inert():
    assert text("<LOGIN_PASSWORD> a|b *c* [d](e)") == r"&lt;LOGIN\_PASSWORD&gt; a\|b \*c\* \[d\](e)"
    assert text("set `Cache-Control: no-store` | x") == r"set `Cache-Control: no-store` \| x"
    assert text("x" * 400).endswith("…") and len(text("x" * 400)) == 300


def test_markdown_report_order(report):
    md = render_markdown(report)
    assert md.splitlines()[0] == "# ❌ Hyper3D login API: NON-CONFORMING at --fail-on=must (exit 1)"
    assert md.index("## Failures (2)") < md.index("## Not decided (1)") < md.index("## Waivers") < md.index(
        "## All requirements")
    assert md.count("\n| ") == len(CATALOG) + 1  # header + one row per requirement


def test_step_summary_is_appended_only_when_set(tmp_path):
    assert append_step_summary("x", env={}) is None
    target = tmp_path / "summary.md"
    target.write_text("before\n")
    assert append_step_summary("# report", env={"GITHUB_STEP_SUMMARY": str(target)}) == target
    assert target.read_text() == "before\n# report\n"


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_html_escapes_hostile_evidence(report):
    evil = "<script>alert('x')</script><img src=x onerror=alert(1)>"
    hostile = copy.deepcopy(report)
    sec06 = next(r for r in hostile["requirements"] if r["id"] == "SEC-06")
    sec06["evidence"][0]["response"]["body"] = evil
    sec06["failure"]["actual"] = evil
    page = render_html(hostile)
    assert evil not in page and "&lt;script&gt;" in page
    parser = _Elements()
    parser.feed(page)
    assert [t for t, _ in parser.tags].count("script") == 1  # the page's own filter script only
    assert not [t for t, a in parser.tags if t == "img" or "onerror" in a]
    assert sum(1 for t, a in parser.tags if t == "tbody" and "req" in a.get("class", "")) == len(CATALOG)


# ---------------------------------------------------------------------------------------------- rows not run
def test_rows_not_run_say_why_the_run_did_not_run_them(validator):
    cause = "https://api.example.test is unreachable: connection refused"
    record = _state(passed=[], could_not_test=cause)
    report = build_report(record, evaluate(record))
    assert not list(validator.iter_errors(report))
    reasons = {r["reason"] for r in report["requirements"]}
    assert reasons == {f"not run (could not test: {cause})"}
    for rendered in (render_markdown(report), render_html(report)):
        assert "deselected" not in rendered and f"not run (could not test: {cause})" in rendered

    stopped = _state(passed=["AUTH-02"], stopped="the run deadline (--run-deadline 60 s) passed")
    by_id = {r["id"]: r for r in build_report(stopped, evaluate(stopped))["requirements"]}
    assert by_id["RESP-01"]["reason"] == "not run (the run stopped early: the run deadline (--run-deadline 60 s) passed)"
    assert by_id["AUTH-02"]["reason"] == "ok"
    narrowed = _state(passed=["AUTH-02"], selected=frozenset({"AUTH-02"}))
    by_id = {r["id"]: r for r in build_report(narrowed, evaluate(narrowed))["requirements"]}
    assert by_id["RESP-01"]["reason"] == "not run (deselected)"  # said only when it was


# ---------------------------------------------------------------------------------------------- a MUST failed at SHOULD
class _Terminal:
    """What pytest's terminal reporter is to write_summary: lines of text."""

    def __init__(self):
        self.text = ""

    def write_sep(self, sep, title, **markup):
        self.text += f"{sep * 3} {title} {sep * 3}\n"

    def write(self, text, **markup):
        self.text += text

    def write_line(self, text, **markup):
        self.text += text + "\n"


def _terminal(record) -> str:
    from contract_tests.report.terminal import write_summary

    tr = _Terminal()
    write_summary(tr, record, evaluate(record))
    return tr.text


def test_a_must_requirement_that_failed_its_should_clause_says_so_in_words():
    record = _state([_fail("RESP-04", "SHOULD")], passed=[r for r in CATALOG if r != "RESP-04"])
    report = build_report(record, evaluate(record))
    words = "MUST requirement, failed its SHOULD clause"
    should_clause = " ".join(CATALOG["RESP-04"].should_clause.split())
    md = render_markdown(report)
    assert f"### RESP-04 [{words}] " in md
    assert f"Its SHOULD clause: {text(should_clause, 500)}" in md
    assert "| RESP-04 | MUST | Every response is a JSON object | ❌ failed its SHOULD clause |" in md
    html = render_html(report)
    assert f'<span class="pill v-failed">{words}</span> RESP-04' in html
    assert '<span class="label">its SHOULD clause:</span>' in html
    assert '<span class="pill v-failed">failed its SHOULD clause</span>' in html  # the table row
    row = next(line for line in _terminal(record).splitlines() if line.startswith("RESP-04"))
    assert f"{words}: expected A; actual B" in row
    # a failure at the requirement's own level says nothing more
    must = _state([_fail("SEC-06")])
    assert "failed its" not in render_markdown(build_report(must, evaluate(must)))


# ---------------------------------------------------------------------------------------------- answer latency
def _answers(count: int, seconds: float, start: float = 1_700_000_000.0, gap: float = 0.0):
    return tuple((start + i * (seconds + gap), seconds, True) for i in range(count))


def test_latency_median_p95_and_the_time_spent_waiting():
    from contract_tests.judging.run_record import latency_of

    times = (*_answers(19, 0.010), (1_700_000_100.0, 1.0, True), (1_700_000_200.0, 10.0, False))
    found = latency_of(times, 300.0)
    assert found.answered == 20 and found.median_s == pytest.approx(0.010)
    assert 0.010 < found.p95_s < 1.0  # the one slow answer is above the 95th percentile's interpolation
    assert found.waiting_s == pytest.approx(19 * 0.010 + 1.0 + 10.0)  # the unanswered request was waited for too
    # requests in flight overlap: the time waited is their union, not their sum
    overlapping = ((100.0, 2.0, True), (100.5, 2.0, True), (101.0, 0.5, True), (110.0, 1.0, True))
    assert latency_of(overlapping, 20.0).waiting_s == pytest.approx(2.5 + 1.0)
    assert latency_of(((100.0, 5.0, False),), 10.0) is None  # nothing answered: no latency to report


@pytest.mark.parametrize("count, seconds, duration, dominates", [
    (45, 2.0, 91.0, True),  # a target answering every request in 2 s: 90 s of a 91 s run
    (260, 0.010, 9.8, False),  # loopback: quick answers, the run is the suite's own time
    (400, 0.050, 25.0, False),  # 20 s of waiting, but each answer quick: many requests, not slowness
    (8, 1.0, 9.0, False),  # slow answers, a short run: nothing to explain
    (30, 0.5, 60.0, False),  # 15 s of waiting in a 60 s run: not the larger part
])
def test_the_summary_says_when_slowness_dominates_the_run_time(validator, count, seconds, duration, dominates):
    record = _state()
    record.answer_times = _answers(count, seconds)
    record.finished = record.started + duration
    report = build_report(record, evaluate(record))
    assert not list(validator.iter_errors(report))
    latency = report["run"]["latency"]
    assert latency["answered"] == count and latency["median_ms"] == round(seconds * 1000, 1)
    assert latency["dominates"] is dominates
    said = "slowness dominates the run time"  # (HTML escapes the apostrophe before it)
    for rendered in (render_markdown(report), render_html(report), _terminal(record)):
        assert f"over {count} answered requests" in rendered
        assert (said in rendered) is dominates
    assert "**Answer latency:** median " in render_markdown(report)
    terminal = _terminal(record).splitlines()
    line = next(i for i, t in enumerate(terminal) if t.startswith("answer latency: median "))
    assert line < next(i for i, t in enumerate(terminal) if t.startswith("gate --fail-on"))


def test_latency_of_a_run_that_got_no_answer_is_null(validator, report):
    assert report["run"]["latency"] is None and not list(validator.iter_errors(report))
    assert "latency" not in render_markdown(report).lower() and 'id="latency"' not in render_html(report)


def test_a_reproduction_says_which_secrets_to_export_whatever_shell_expression_names_them():
    """The near-miss passwords reach the command as "${LOGIN_PASSWORD}x" or "${LOGIN_PASSWORD%?}": the report says to
    export LOGIN_PASSWORD for those too, and for the captcha token; a command reading none says nothing."""
    from contract_tests.sending.reproduction import export_hint, exports_needed

    assert exports_needed('curl --data-raw "{\\"p\\": \\"${LOGIN_PASSWORD%?}\\"}" -H "cf: $LOGIN_CAPTCHA_TOKEN" '
                          '"${LOGIN_PASSWORD}x"') == ["LOGIN_PASSWORD", "LOGIN_CAPTCHA_TOKEN"]
    assert export_hint('curl -d "${LOGIN_PASSWORD}x"') == " (export LOGIN_PASSWORD first)"
    assert export_hint("curl --data-raw '{\"password\": {\"$ne\": null}}'") == "" and export_hint(None) == ""
