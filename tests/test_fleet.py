"""The fleet: `fleet FLEET.yaml` runs deployments of reference-server variants (conforming, faulty, captcha-guarded, hanging,
one without its credentials) as their own suite processes, `fleet merge` rebuilds the same report from their
conformance.json files, the exit code is the worst of theirs, a bad fleet file is one line and exit 4, no password
reaches any artifact or output, the fleet HTML works in a real browser, and the CI matrix recipes run as written."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
import yaml
from helpers import fake_gh, headless_chromium

from contract_tests.fleet.cli import main as fleet_main
from contract_tests.fleet.exit_codes import WORST_FIRST, worst
from contract_tests.fleet.fleet_file import Credentials, Deployment, load_fleet
from contract_tests.fleet.fleet_report import build_fleet_report, load_schema
from contract_tests.fleet.runner import FleetRunner
from contract_tests.fleet.sources import stand_in
from contract_tests.reference import DEMO_EMAIL, start_reference_server
from contract_tests.report.json_report import load_schema as load_conformance_schema
from misbehaving_targets import RawTarget, silent

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "fleet"
PASSWORDS = {"ok": "fleet-ok-pw-5b1e9a73", "bad": "fleet-bad-pw-c4d28f61", "captcha": "fleet-captcha-pw-09a7e3d2"}
EXPECTED = {  # deployment: (verdict, exit code)
    "bad": ("non-conforming", 1), "hang": ("could-not-test", 4), "captcha": ("inconclusive", 10),
    "nocreds": ("could-not-test", 4), "ok": ("conforming", 0),
}
FAULT = "cors-reflect-origin"  # SEC-06 (MUST) broken
UNDECIDED = "captcha-turnstile"  # demands a Turnstile token the run has not: blocked checks, never failures


def _fleet_yaml(urls: dict[str, str]) -> str:
    return f"""
deployments:
  - {{name: ok, base_url: "{urls['ok']}", credentials: {{email: FLEET_EMAIL, password: FLEET_OK_PASSWORD}}}}
  - {{name: bad, base_url: "{urls['bad']}", credentials: {{email: FLEET_EMAIL, password: FLEET_BAD_PASSWORD}}}}
  - {{name: captcha, base_url: "{urls['captcha']}", credentials: {{email: FLEET_EMAIL, password: FLEET_CAPTCHA_PASSWORD}}}}
  - name: hang
    base_url: "{urls['hang']}"
    credentials: {{email: FLEET_EMAIL, password: FLEET_OK_PASSWORD}}
    options: ["--timeout=2"]
  - {{name: nocreds, base_url: "{urls['ok']}", credentials: {{email: FLEET_EMAIL, password: FLEET_UNSET_PASSWORD}}}}
"""


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOGIN_", "PYTEST_", "GITHUB_", "FLEET_"))}
    env.update(FLEET_EMAIL=DEMO_EMAIL, FLEET_OK_PASSWORD=PASSWORDS["ok"], FLEET_BAD_PASSWORD=PASSWORDS["bad"],
               FLEET_CAPTCHA_PASSWORD=PASSWORDS["captcha"], **extra)
    return env


def _cli(*args: str, env: dict[str, str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "contract_tests", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """One fleet run of five deployments, three at once: (process, report directory, fleet file, work dir)."""
    work = tmp_path_factory.mktemp("fleet")
    with start_reference_server(demo_password=PASSWORDS["ok"]) as ok, \
            start_reference_server(fault=FAULT, demo_password=PASSWORDS["bad"]) as bad, \
            start_reference_server(variant=UNDECIDED, demo_password=PASSWORDS["captcha"]) as captcha, \
            RawTarget(silent) as hang:
        fleet_file = work / "fleet.yaml"
        fleet_file.write_text(_fleet_yaml({"ok": ok.url, "bad": bad.url, "captcha": captcha.url, "hang": hang.url}))
        summary = work / "step-summary.md"
        proc = _cli("fleet", str(fleet_file), "--report-dir", str(work / "out"), "--jobs", "3",
                    env=_env(GITHUB_STEP_SUMMARY=str(summary)), cwd=work)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return proc, work / "out", fleet_file, work


def _report(out: Path) -> dict:
    return json.loads((out / "fleet.json").read_text(encoding="utf-8"))


def test_each_deployment_gets_its_verdict_and_exit_code_and_the_fleet_the_worst(fleet):
    proc, out, _, _ = fleet
    report = _report(out)
    got = {d["name"]: (d["verdict"], d["exit_status"]) for d in report["deployments"]}
    assert got == EXPECTED, proc.stdout[-3000:]
    assert proc.returncode == report["exit_status"] == 1  # a violation outranks could-not-test and inconclusive
    assert report["verdict"] == "non-conforming"
    for name, (verdict, code) in EXPECTED.items():  # every deployment's code on the terminal as well
        assert re.search(rf"^  {name}: {verdict.upper()} \(exit {code}, ", proc.stdout, re.M), name
    assert proc.stdout.splitlines()[-1] == ("hyper3d-login fleet: NON-CONFORMING (exit 1: the worst of bad 1, captcha 10, "
                                            "hang 4, nocreds 4, ok 0)")
    own = {name: json.loads((out / name / "conformance.json").read_text())["run"] for name in EXPECTED}
    assert {name: (run["verdict"], run["exit_status"]) for name, run in own.items()} == EXPECTED
    assert "FLEET_UNSET_PASSWORD (its password)" in own["nocreds"]["could_not_test"]
    assert "no complete answer" in own["hang"]["could_not_test"]


def test_the_matrix_charges_the_fault_and_reports_the_captcha_as_blocked(fleet):
    _, out, _, _ = fleet
    report = _report(out)
    rows = {row["id"]: row for row in report["requirements"]}
    assert rows["SEC-06"]["cells"]["bad"]["verdict"] == "failed" and rows["SEC-06"]["cells"]["bad"]["gating"]
    assert rows["SEC-06"]["cells"]["ok"]["verdict"] == "passed"
    failed = {(name, rid) for rid, row in rows.items() for name, c in row["cells"].items() if c and c["verdict"] == "failed"}
    assert failed == {("bad", "SEC-06")}
    captcha_cells = [row["cells"]["captcha"]["verdict"] for row in rows.values()]
    assert "blocked" in captcha_cells and "failed" not in captcha_cells
    assert all(row["cells"]["nocreds"] is None for row in rows.values())  # nothing judged there: not listed
    assert report["could_not_test"] == ["hang", "nocreds"]
    differing = {d["id"]: d["by_verdict"] for d in report["differences"]}
    assert differing["SEC-06"]["failed"] == ["bad"] and "ok" in differing["SEC-06"]["passed"]
    assert all("hang" not in names for by in differing.values() for names in by.values())
    jsonschema.validate(report, load_schema())


def test_a_report_for_every_deployment_and_stand_ins_valid_as_conformance_reports(fleet):
    _, out, _, _ = fleet
    schema = jsonschema.Draft202012Validator(load_conformance_schema())
    for name in EXPECTED:
        document = json.loads((out / name / "conformance.json").read_text())
        assert not list(schema.iter_errors(document)), name
    assert (out / "ok" / "conformance.html").is_file() and not (out / "nocreds" / "conformance.html").exists()
    assert _report(out)["deployments"][3]["report"] == "nocreds/conformance.json"


def test_merge_of_the_same_runs_gives_the_same_report(fleet, tmp_path):
    _, out, _, work = fleet
    whole = _cli("fleet", "merge", str(out), "--report-dir", str(tmp_path / "merged"), env=_env(), cwd=work)
    assert whole.returncode == 1, whole.stderr
    # as a CI matrix leaves them: one directory per job, given one by one, gathered elsewhere
    jobs = tmp_path / "artifacts"
    for name in EXPECTED:
        shutil.copytree(out / name, jobs / f"job-{name}" / name)
    apart = _cli("fleet", "merge", *sorted(str(p / p.name[4:]) for p in jobs.iterdir()), "--report-dir",
                 str(tmp_path / "merged-apart"), env=_env(), cwd=work)
    assert apart.returncode == 1, apart.stderr
    for merged in (tmp_path / "merged", tmp_path / "merged-apart"):
        for artifact in ("fleet.json", "fleet.md", "fleet.html"):
            assert (merged / artifact).read_bytes() == (out / artifact).read_bytes(), (merged, artifact)
        assert (merged / "bad" / "conformance.html").is_file()  # the report's links work in the merged directory
    assert whole.stdout.splitlines()[-1] == apart.stdout.splitlines()[-1]


def test_no_password_in_any_artifact_or_output(fleet):
    proc, out, _, work = fleet
    texts = {str(p): p.read_bytes().decode("utf-8", "replace") for p in out.rglob("*") if p.is_file()}
    texts["stdout"], texts["stderr"] = proc.stdout, proc.stderr
    texts["step summary"] = (work / "step-summary.md").read_text()
    assert len(texts) > 20
    for where, text in texts.items():
        for password in PASSWORDS.values():
            assert password not in text, where


def test_the_step_summary_gets_the_fleet_report_once(fleet):
    _, out, _, work = fleet
    assert (work / "step-summary.md").read_text().strip() == (out / "fleet.md").read_text().strip()  # not five suites' summaries


def test_baseline_says_what_is_new_and_what_is_fixed(fleet, tmp_path):
    _, out, _, work = fleet
    before = _report(out)
    rows = {row["id"]: row for row in before["requirements"]}
    rows["SEC-06"]["cells"]["bad"]["verdict"] = "passed"  # then: bad passed SEC-06, ok failed RESP-01
    rows["RESP-01"]["cells"]["ok"]["verdict"] = "failed"
    rows["AUTH-01"]["cells"]["ok"]["verdict"] = "failed"
    before["deployments"] = [d for d in before["deployments"] if d["name"] != "hang"] + [
        {**before["deployments"][0], "name": "retired"}]
    baseline = tmp_path / "yesterday.json"
    baseline.write_text(json.dumps(before))
    proc = _cli("fleet", "merge", str(out), "--report-dir", str(tmp_path / "today"), "--baseline", str(baseline),
                env=_env(), cwd=work)
    assert proc.returncode == 1, proc.stderr
    since = _report(tmp_path / "today")["baseline"]
    assert [(e["deployment"], e["id"]) for e in since["new"]] == [("bad", "SEC-06")]
    assert sorted((e["deployment"], e["id"]) for e in since["fixed"]) == [("ok", "AUTH-01"), ("ok", "RESP-01")]
    assert since["deployments_added"] == ["hang"] and since["deployments_removed"] == ["retired"]
    markdown = (tmp_path / "today" / "fleet.md").read_text()
    assert "**New failures** (1):\n- bad: **SEC-06**" in markdown and "**Fixed** (2)" in markdown
    jsonschema.validate(_report(tmp_path / "today"), load_schema())


def test_baseline_comparison_of_undecided_cells_is_not_rechecked():
    def doc(verdict: str) -> dict:
        report = stand_in("http://a", "non-conforming", 1, "x")
        report["requirements"] = [{"id": "AUTH-01", "level": "MUST", "title": "t", "verdict": verdict,
                                   "failed_level": "MUST" if verdict == "failed" else None, "gating": False,
                                   "reason": ""}]
        return report

    then = build_fleet_report({"a": doc("failed")})
    now = build_fleet_report({"a": doc("blocked")}, baseline=then)
    assert now["baseline"]["not_rechecked"][0]["now"] == "blocked" and not now["baseline"]["fixed"]
    assert build_fleet_report({"a": doc("failed")}, baseline=then)["baseline"]["new"] == []


def test_hostile_report_text_stays_text_in_the_fleet_markdown_and_html():
    from contract_tests.fleet.html import render_html
    from contract_tests.fleet.markdown import render_markdown

    hostile = "<script>alert(1)</script> | [x](javascript:alert(1))"
    report = stand_in("http://a", "non-conforming", 1, hostile)
    report["requirements"] = [{"id": f"AUTH-01{hostile}", "level": "MUST", "title": hostile, "verdict": hostile,
                               "failed_level": hostile, "gating": True, "reason": hostile}]
    other = stand_in("http://b", "conforming", 0, "")
    other["requirements"] = [{**report["requirements"][0], "verdict": "passed", "failed_level": None}]
    fleet = build_fleet_report({"a": report, "b": other}, baseline=build_fleet_report({"b": other}))
    assert fleet["differences"] and fleet["baseline"]["deployments_added"] == ["a"]
    page, markdown = render_html(fleet), render_markdown(fleet)
    assert page.count("<script>") == 1 and "<script>alert" not in page and "&lt;script&gt;alert" in page
    assert "<script>" not in markdown and "[x](javascript:" not in markdown  # escaped: \\[x\\](...), no link
    row = next(line for line in markdown.splitlines() if line.startswith("| **AUTH"))
    assert len(re.findall(r"(?<!\\)\|", row)) == 5  # requirement, level, a, b: the table is not broken


@pytest.mark.parametrize("codes, fleet_code", [
    ([0, 0], 0), ([0, 5], 5), ([5, 10], 10), ([10, 4], 4), ([4, 1], 1), ([1, 2], 2), ([0, 3], 1), ([0, -9], 1),
    ([0, None], 1), ([], 4)])
def test_the_worst_exit_code_in_the_documented_order(codes, fleet_code):
    assert worst(codes) == fleet_code
    assert WORST_FIRST == (2, 1, 4, 10, 5, 0)


# ------------------------------------------------------------------------------------------ bad fleet files
BAD_FILES = {
    "not-yaml": ("deployments: [", "the fleet file is not valid YAML at line "),
    "no-deployments": ("defaults: {gate: must}\n", "the file: 'deployments' is a required property"),
    "empty-list": ("deployments: []\n", "deployments: expected a list of one or more deployments"),
    "unknown-key": ("deployments:\n  - {name: a, base_url: 'http://x', without_credentials: true, passwd: x}\n",
                    "deployments[0]: Additional properties are not allowed ('passwd' was unexpected)"),
    "bad-name": ("deployments:\n  - {name: '../up', base_url: 'http://x', without_credentials: true}\n",
                 "deployments[0].name: expected a name of letters, digits"),
    "duplicate-name": ("deployments:\n  - {name: eu, base_url: 'http://x', without_credentials: true}\n"
                       "  - {name: EU, base_url: 'http://y', without_credentials: true}\n",
                       "deployments[1].name: 'EU' is also the name of deployments[0]"),
    "secret-instead-of-name": ("deployments:\n  - {name: a, base_url: 'http://x', credentials: "
                               "{email: E, password: 'hunter2-s3cret!'}}\n",
                               "deployments[0].credentials.password: expected the name of an environment variable"),
    "url-with-credentials": ("deployments:\n  - {name: a, base_url: 'https://u:hunter2-s3cret!@x', "
                             "without_credentials: true}\n",
                             "deployments[0].base_url: expected the deployment's server root"),
    "option-the-file-sets": ("deployments:\n  - {name: a, base_url: 'http://x', without_credentials: true, "
                             "options: ['--report-dir=/tmp']}\n", "deployments[0].options[0]: expected a suite option"),
    "no-credentials": ("deployments:\n  - {name: a, base_url: 'http://x'}\n",
                       "deployments[0] (a): name its credentials' environment variables"),
    "missing-waivers": ("deployments:\n  - {name: a, base_url: 'http://x', without_credentials: true, "
                        "waivers: nope.yml}\n", "deployments[0].waivers: no such file: "),
    "fail-on-new-without-baseline": ("defaults: {fail_on_new: true}\ndeployments:\n  - {name: a, base_url: 'http://x', "
                                     "without_credentials: true}\n", "deployments[0] (a): fail_on_new needs its baseline"),
    "not-a-mapping": ("- just\n- a list\n", "the file: expected the deployments a fleet run tests"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_fleet_file_is_one_line_and_exit_4(case, tmp_path, capsys):
    text, expected = BAD_FILES[case]
    path = tmp_path / "fleet.yaml"
    path.write_text(text)
    assert fleet_main([str(path), "--report-dir", str(tmp_path / "out")]) == 4
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1, err
    assert err.startswith(f"hyper3d-login-conformance fleet: {path}: ") and err.endswith("(exit 4)\n")
    assert expected in err, err
    assert "hunter2" not in err  # a value in the wrong place is never echoed
    assert not (tmp_path / "out").exists()  # nothing run


@pytest.mark.parametrize("args, expected", [
    (["FLEET", "--jobs", "0"], "argument --jobs: must be 1 or more: 0"),
    (["FLEET", "--deadline", "soon"], "argument --deadline: not a number of seconds: 'soon'"),
    (["FLEET", "--baseline", "BASELINE"], "not a fleet report"),
    (["merge", "EMPTY"], "no conformance.json in it nor in its subdirectories"),
    (["merge"], "the following arguments are required: dirs"),
    (["nope.yaml"], "nope.yaml: cannot read the fleet file"),
    (["merge", "SPACED"], "a deployment's directory is named for it"),
    (["merge", "TWICE", "TWICE"], "a second deployment named twice"),
])
def test_bad_fleet_options_are_one_line_and_exit_4(args, expected, tmp_path, capsys):
    fleet_file = tmp_path / "fleet.yaml"
    fleet_file.write_text("deployments:\n  - {name: a, base_url: 'http://127.0.0.1:9', without_credentials: true}\n")
    (tmp_path / "baseline.json").write_text(json.dumps({"run": {}}))
    (tmp_path / "empty").mkdir()
    for name in ("a deployment", "twice"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "conformance.json").write_text("{}")
    names = {"FLEET": str(fleet_file), "BASELINE": str(tmp_path / "baseline.json"), "EMPTY": str(tmp_path / "empty"),
             "nope.yaml": str(tmp_path / "nope.yaml"), "SPACED": str(tmp_path / "a deployment"),
             "TWICE": str(tmp_path / "twice")}
    assert fleet_main([names.get(a, a) for a in args]) == 4
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and expected in err, err


def test_fleet_help_is_one_screen_and_the_commands_help_names_it(capsys):
    from contract_tests.__main__ import main

    assert fleet_main(["--help"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: hyper3d-login-conformance fleet FLEET.yaml") and "fleet merge DIR..." in text
    assert len(text.splitlines()) <= 20 and max(map(len, text.splitlines())) <= 120
    assert main(["--help"]) == 0 and "fleet FLEET.yaml --report-dir=DIR" in capsys.readouterr().out
    assert main(["fleet"]) == 4
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "give a fleet file (fleet FLEET.yaml)" in err


def test_deadline_option_is_the_default_where_the_file_sets_none(tmp_path):
    path = tmp_path / "fleet.yaml"
    path.write_text("deployments:\n  - {name: a, base_url: 'http://x', without_credentials: true, deadline: 30}\n"
                    "  - {name: b, base_url: 'http://x', without_credentials: true}\n")
    assert [d.deadline for d in load_fleet(path, default_deadline=90)] == [30.0, 90.0]
    assert [d.deadline for d in load_fleet(path)] == [30.0, 1200.0]
    path.write_text("defaults: {deadline: 45}\n" + path.read_text())
    assert [d.deadline for d in load_fleet(path, default_deadline=90)] == [30.0, 45.0]


def test_the_example_fleet_file_is_valid(tmp_path):
    deployments = load_fleet(EXAMPLES / "fleet.example.yaml")
    assert [d.name for d in deployments] == ["eu-prod", "us-prod", "acme-onprem-staging", "preview"]
    staging = deployments[2]
    assert (staging.gate, staging.deadline, staging.options) == ("should", 600.0, ("--in-flight=2", "--timeout=20"))
    assert deployments[0].options == ("--in-flight=4",) and deployments[0].deadline == 1200.0
    assert deployments[1].credentials.captcha_token == "US_PROD_LOGIN_CAPTCHA_TOKEN"
    assert deployments[3].without_credentials and deployments[3].credentials is None


# ------------------------------------------------------------------------- deadline and signals (the runner)
HANGS = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
PARTIAL = """
import json, pathlib, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
pathlib.Path("conformance.json").write_text(pathlib.Path(sys.argv[1]).read_text())
time.sleep(600)
"""


def _deployment(name: str, **extra) -> Deployment:
    return Deployment(name=name, base_url="http://127.0.0.1:9",
                      credentials=Credentials("FLEET_EMAIL", "FLEET_OK_PASSWORD"), deadline=0.5, **extra)


def test_a_run_past_its_deadline_is_ended_and_inconclusive_and_holds_up_no_other(fleet, tmp_path):
    partial = json.loads((fleet[1] / "ok" / "conformance.json").read_text())  # a suite's report, left as it hangs
    partial["requirements"][0]["reason"] = f"a reason quoting {PASSWORDS['ok']}"
    (tmp_path / "partial.json").write_text(json.dumps(partial))
    commands = {
        "hangs": [sys.executable, "-c", HANGS],
        "partial": [sys.executable, "-c", PARTIAL, str(tmp_path / "partial.json")],
        "quick": [sys.executable, "-c", "raise SystemExit(3)"],
    }
    lines: list[str] = []
    runner = FleetRunner([_deployment(n) for n in commands], tmp_path, jobs=2, environ=_env(), say=lines.append,
                         command=lambda d, where: commands[d.name], backstop_s=0.5, grace_s=0.5)
    finished = {f.name: f for f in runner.run()}
    assert finished["hangs"].deadline_reached and finished["partial"].deadline_reached
    assert finished["hangs"].process_exit == -signal.SIGKILL  # SIGTERM ignored: killed after the grace
    assert not finished["quick"].deadline_reached and finished["quick"].process_exit == 3
    reports = {n: json.loads((tmp_path / n / "conformance.json").read_text()) for n in commands}
    for name in ("hangs", "partial"):
        run = reports[name]["run"]
        assert (run["verdict"], run["exit_status"]) == ("inconclusive", 10)
        assert "did not end by its deadline (0.5 s, --run-deadline, and 0.5 s more)" in run["stopped"]
    assert reports["partial"]["requirements"][0]["verdict"] == "passed"  # the partial evidence is kept
    assert PASSWORDS["ok"] not in (tmp_path / "partial" / "conformance.json").read_text()  # scrubbed
    assert (tmp_path / "partial" / "conformance.html").is_file()  # re-rendered from the amended document
    quick = reports["quick"]["run"]
    assert (quick["verdict"], quick["exit_status"]) == ("error", 1) and "ended with exit 3" in quick["verdict_reasons"][0]
    assert build_fleet_report(reports)["exit_status"] == 1
    assert len(lines) == 3


RECORDS = """
import pathlib, sys, time
started = time.monotonic()
time.sleep(0.3)
pathlib.Path(sys.argv[1]).write_text(f"{started} {time.monotonic()}")
"""


def test_at_most_jobs_deployments_run_at_once(tmp_path):
    names = [f"d{i}" for i in range(5)]
    runner = FleetRunner([_deployment(n) for n in names], tmp_path, jobs=2, environ=_env(), say=lambda line: None,
                         command=lambda d, where: [sys.executable, "-c", RECORDS, str(tmp_path / f"{d.name}.times")])
    runner.run()
    spans = [tuple(map(float, (tmp_path / f"{n}.times").read_text().split())) for n in names]
    events = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    running, most = 0, 0
    for _, change in events:
        running += change
        most = max(most, running)
    assert most <= 2


def test_the_suite_process_gets_its_credentials_in_its_environment_only(tmp_path):
    shows = ("import os, sys; names = ('LOGIN_EMAIL', 'LOGIN_PASSWORD', 'FLEET_OK_PASSWORD', 'FLEET_BAD_PASSWORD'); "
             "print(sorted(n for n in names if n in os.environ)); print(sys.argv[1:])")
    other = Deployment(name="b", base_url="http://127.0.0.1:9", credentials=Credentials("FLEET_EMAIL", "FLEET_BAD_PASSWORD"))
    seen: list[str] = []
    runner = FleetRunner([_deployment("a"), other], tmp_path, jobs=1, say=seen.append,
                         environ=_env(LOGIN_PASSWORD="from-outside"), command=lambda d, where: [sys.executable, "-c", shows])
    runner.run()
    for name in ("a", "b"):  # no credential variable of the fleet file, no LOGIN_* from outside: its own only
        assert "['LOGIN_EMAIL', 'LOGIN_PASSWORD']" in (tmp_path / name / "output.txt").read_text()
    from contract_tests.fleet.runner import suite_command

    command = " ".join(suite_command(_deployment("a"), tmp_path))
    assert "--run-deadline=0.5" in command and PASSWORDS["ok"] not in command and DEMO_EMAIL not in command


def test_sigterm_to_the_fleet_is_forwarded_and_the_rest_is_not_started(tmp_path):
    with start_reference_server(variant="slow", demo_password=PASSWORDS["ok"]) as slow:
        fleet_file = tmp_path / "fleet.yaml"
        fleet_file.write_text(
            f"deployments:\n  - {{name: first, base_url: '{slow.url}', credentials: {{email: FLEET_EMAIL, "
            f"password: FLEET_OK_PASSWORD}}}}\n  - {{name: second, base_url: '{slow.url}', credentials: "
            "{email: FLEET_EMAIL, password: FLEET_OK_PASSWORD}}\n")
        proc = subprocess.Popen([sys.executable, "-m", "contract_tests", "fleet", str(fleet_file), "--report-dir",
                                 str(tmp_path / "out"), "--jobs", "1"], env=_env(), cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        output = tmp_path / "out" / "first" / "output.txt"
        limit = time.monotonic() + 120
        while "target:" not in (output.read_text() if output.exists() else ""):  # the first run's checks began
            assert proc.poll() is None and time.monotonic() < limit
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 2, stdout + stderr
    report = _report(tmp_path / "out")
    got = {d["name"]: (d["verdict"], d["exit_status"]) for d in report["deployments"]}
    assert got == {"first": ("interrupted", 2), "second": ("interrupted", 2)}
    second = json.loads((tmp_path / "out" / "second" / "conformance.json").read_text())["run"]
    assert "interrupted (SIGTERM) before this deployment's run started" in second["verdict_reasons"][0]
    assert "SIGTERM" in (tmp_path / "out" / "first" / "conformance.json").read_text()


# ------------------------------------------------------------------------------------------- the fleet HTML
def _chromium():
    return next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)


def test_fleet_html_in_headless_chromium(fleet, tmp_path):
    browser, driver_path = _chromium(), shutil.which("chromedriver")
    if not browser or not driver_path:
        pytest.skip("no Chromium + chromedriver on this machine (Debian: apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install .[test])")
    from selenium.webdriver.common.by import By

    _, out, _, _ = fleet
    page = (out / "fleet.html").read_text()
    for external in ("<link", "<img", "<iframe", "@import", "url(", "src=", "fetch("):
        assert external not in page.lower(), external
    driver = headless_chromium(webdriver, browser, driver_path, tmp_path / "profile")
    try:
        driver.get((out / "fleet.html").as_uri())
        assert driver.find_element(By.ID, "verdict").text == "NON-CONFORMING"
        rows = {n: driver.find_element(By.ID, f"deployment-{n}") for n in EXPECTED}
        for name, (verdict, code) in EXPECTED.items():
            assert rows[name].get_attribute("data-verdict") == verdict
            assert rows[name].find_element(By.CSS_SELECTOR, "td.exit").text == str(code)
        cell = driver.find_element(By.ID, "cell-bad-SEC-06")
        assert cell.text == "✗" and "v-failed" in cell.get_attribute("class")
        assert "bad: failed at MUST" in cell.get_attribute("title")
        failed_bg = driver.execute_script("return getComputedStyle(arguments[0]).backgroundColor", cell)
        assert failed_bg != driver.execute_script("return getComputedStyle(arguments[0]).backgroundColor",
                                                  driver.find_element(By.ID, "cell-ok-SEC-06"))

        def shown():
            return [e.get_attribute("id") for e in driver.find_elements(By.CSS_SELECTOR, "#matrix tr.req")
                    if e.is_displayed()]

        total = len(_report(out)["requirements"])
        assert len(shown()) == total
        driver.find_element(By.ID, "only-failing").click()
        assert shown() == ["req-SEC-06"]
        assert driver.find_element(By.ID, "shown-count").text == f"1 of {total} shown"
        driver.find_element(By.ID, "only-failing").click()
        driver.find_element(By.ID, "only-differing").click()
        assert set(shown()) == {f"req-{d['id']}" for d in _report(out)["differences"]}
        driver.find_element(By.ID, "only-differing").click()
        driver.find_element(By.ID, "filter-text").send_keys("sec-06")
        assert shown() == ["req-SEC-06"]
        driver.execute_script("window.scrollTo(0, 0)")
        link = rows["bad"].find_element(By.TAG_NAME, "a")
        link.click()
        assert driver.current_url.endswith("/bad/conformance.html")
        assert "NON-CONFORMING" in driver.find_element(By.ID, "verdict").text  # the deployment's own report
        driver.back()
        driver.save_screenshot(str(out / "fleet.png"))
    finally:
        driver.quit()
    assert (out / "fleet.png").stat().st_size > 10_000


# ------------------------------------------------------------------------------------ the CI matrix recipes
GITHUB = EXAMPLES / "github-matrix.yml"
GITLAB = EXAMPLES / "gitlab-matrix.yml"
PIN_LINE = 'python -m pip install "hyper3d-login-conformance @ git+${SUITE_REPO}@${SUITE_REF}"'


@pytest.mark.parametrize("example, schema", [(GITHUB, "vendor.github-workflows"), (GITLAB, "vendor.gitlab-ci")])
def test_matrix_recipe_is_valid_against_the_official_schema(example, schema):
    proc = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(example)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _shell(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    # as GitHub runs a `run:` step (bash --noprofile --norc -eo pipefail) and GitLab a script entry
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def _recipe_env(**extra: str) -> dict[str, str]:
    env = _env(**extra)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])  # the console script
    return env


@pytest.fixture(scope="module")
def deployments():
    with start_reference_server(demo_password=PASSWORDS["ok"]) as ok, \
            start_reference_server(fault=FAULT, demo_password=PASSWORDS["bad"]) as bad:
        yield {"eu-prod": (ok.url, PASSWORDS["ok"]), "us-prod": (bad.url, PASSWORDS["bad"])}


def test_github_matrix_jobs_then_the_merge_job_gate_on_the_fleet(deployments, tmp_path):
    workflow = yaml.safe_load(GITHUB.read_text())
    job, merge = workflow["jobs"]["deployment"], workflow["jobs"]["fleet-report"]
    assert job["strategy"]["fail-fast"] is False and merge["needs"] == "deployment" and merge["if"] == "always()"
    run = next(s for s in job["steps"] if s.get("name", "").startswith("Run the login"))
    assert run["env"]["DEPLOYMENT"] == "${{ matrix.name }}"
    assert run["env"]["LOGIN_PASSWORD"] == "${{ secrets[format('{0}_LOGIN_PASSWORD', matrix.secret_prefix)] }}"
    for steps in (job["steps"], merge["steps"]):
        install = next(s for s in steps if s.get("name", "").startswith("Install"))
        assert install["run"].splitlines()[-1] == PIN_LINE
    upload = job["steps"][-1]
    assert upload["if"] == "always()" and upload["with"]["name"] == "login-fleet-${{ matrix.name }}"
    download = next(s for s in merge["steps"] if s.get("uses", "").startswith("actions/download-artifact"))
    assert download["with"] == {"pattern": "login-fleet-*", "merge-multiple": True, "path": "fleet-report"}

    artifacts = tmp_path / "artifacts"
    for name, (url, password) in deployments.items():  # each matrix job on its own runner
        runner = tmp_path / f"runner-{name}"
        runner.mkdir()
        proc = _shell(run["run"], runner, _recipe_env(DEPLOYMENT=name, LOGIN_BASE_URL=url, LOGIN_EMAIL=DEMO_EMAIL,
                                                      LOGIN_PASSWORD=password))
        assert proc.returncode == (1 if name == "us-prod" else 0), proc.stdout[-2000:] + proc.stderr[-2000:]
        shutil.copytree(runner / "fleet-report", artifacts / f"login-fleet-{name}")  # the artifact's contents
    missing = tmp_path / "runner-missing"  # a deployment whose secrets are not set
    missing.mkdir()
    proc = _shell(run["run"], missing, _recipe_env(DEPLOYMENT="ap-prod", LOGIN_BASE_URL="https://ap.example"))
    assert proc.returncode == 4
    shutil.copytree(missing / "fleet-report", artifacts / "login-fleet-ap-prod")

    merger = tmp_path / "merge-runner"
    for artifact in artifacts.iterdir():  # download-artifact, merge-multiple: side by side in fleet-report/
        shutil.copytree(artifact, merger / "fleet-report", dirs_exist_ok=True)
    summary = tmp_path / "summary.md"
    step = next(s for s in merge["steps"] if s.get("name") == "Merge the fleet report")
    proc = _shell(step["run"], merger, _recipe_env(GITHUB_STEP_SUMMARY=str(summary)))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = _report(merger / "fleet-report")
    got = {d["name"]: (d["verdict"], d["exit_status"]) for d in report["deployments"]}
    assert got == {"ap-prod": ("could-not-test", 4), "eu-prod": ("conforming", 0), "us-prod": ("non-conforming", 1)}
    assert summary.read_text().startswith("# Login conformance fleet: ❌ NON-CONFORMING (exit 1")
    texts = [p.read_bytes().decode("utf-8", "replace") for p in merger.rglob("*") if p.is_file()]
    assert not [t for t in texts for pw in PASSWORDS.values() if pw in t]

    # the next run: the fetch step takes the last completed run's fleet report (gh stubbed) as the baseline
    store = tmp_path / "runs"
    shutil.copytree(merger / "fleet-report", store / "7" / "login-fleet-report")
    (store / "8").mkdir()  # a later run that left no fleet report (cancelled before its merge job)
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    fake_gh(stubs)
    fetch = next(s for s in merge["steps"] if s.get("name", "").startswith("Fetch the baseline"))
    env = _recipe_env(FAKE_GH_ARTIFACTS=str(store), GITHUB_REPOSITORY="acme/login-fleet")
    env["PATH"] = os.pathsep.join([str(stubs), env["PATH"]])
    fetched = _shell(fetch["run"], merger, env)
    assert "fleet baseline: the fleet report of run 7" in fetched.stdout, fetched.stdout + fetched.stderr
    proc = _shell(step["run"], merger, _recipe_env())
    since = _report(merger / "fleet-report")["baseline"]
    assert proc.returncode == 1 and since is not None and since["new"] == [] and since["verdict_changes"] == []


def test_gitlab_parallel_matrix_jobs_then_the_merge_job_gate_on_the_fleet(deployments, tmp_path):
    config = yaml.safe_load(GITLAB.read_text())
    job, merge = config["login-fleet-deployment"], config["login-fleet-report"]
    install = config[".login-fleet-install"]
    assert install["before_script"][-1] == PIN_LINE
    assert merge["needs"] == [{"job": "login-fleet-deployment", "artifacts": True}] and merge["when"] == "always"
    assert job["artifacts"]["when"] == "always" and job["artifacts"]["paths"] == ["fleet-report/"]
    names = [entry["DEPLOYMENT"] for entry in job["parallel"]["matrix"]]
    assert len(names) == len(set(names)) == 3

    workspace = tmp_path / "merge-job"  # GitLab extracts every needed job's artifacts into one workspace
    prefixes = {"eu-prod": "EU_PROD", "us-prod": "US_PROD"}
    for name, (url, password) in deployments.items():
        runner = tmp_path / f"job-{name}"
        runner.mkdir()
        prefix = prefixes[name]
        env = _recipe_env(DEPLOYMENT=name, LOGIN_BASE_URL=url, CREDENTIALS_PREFIX=prefix,
                          **{f"{prefix}_LOGIN_EMAIL": DEMO_EMAIL, f"{prefix}_LOGIN_PASSWORD": password})
        proc = _shell("\n".join(job["script"]), runner, env)
        assert proc.returncode == (1 if name == "us-prod" else 0), proc.stdout[-2000:] + proc.stderr[-2000:]
        shutil.copytree(runner / "fleet-report", workspace / "fleet-report", dirs_exist_ok=True)
    proc = _shell("\n".join(merge["script"]), workspace, _recipe_env())
    assert proc.returncode == 1, proc.stdout + proc.stderr
    after = _shell("\n".join(merge["after_script"]), workspace, _recipe_env())
    assert after.stdout.startswith("# Login conformance fleet: ❌ NON-CONFORMING (exit 1, the worst of 2")
    assert {d["name"] for d in _report(workspace / "fleet-report")["deployments"]} == {"eu-prod", "us-prod"}
