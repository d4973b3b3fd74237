"""The CI examples for a deployment repository: valid against the official schemas (the ones check-jsonschema ships),
and their run steps, as shell commands, gate a real run against the bundled reference server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from contract_tests.reference import DEMO_EMAIL, DEMO_PASSWORD, start_reference_server

ROOT = Path(__file__).resolve().parents[1]
GITHUB = ROOT / "examples" / "github-actions.yml"
GITLAB = ROOT / "examples" / "gitlab-ci.yml"


@pytest.mark.parametrize("example, schema", [(GITHUB, "vendor.github-workflows"), (GITLAB, "vendor.gitlab-ci")])
def test_example_is_valid_against_the_official_schema(example, schema):
    proc = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(example)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _github_steps() -> list[dict]:
    return yaml.safe_load(GITHUB.read_text())["jobs"]["conformance"]["steps"]


def _gitlab_job() -> dict:
    return yaml.safe_load(GITLAB.read_text())["login-conformance"]


def test_github_example_installs_the_pinned_package_and_uploads_on_every_outcome():
    workflow = yaml.safe_load(GITHUB.read_text())
    assert workflow["env"]["SUITE_REQUIREMENT"] == "hyper3d-login-conformance==0.1.0"
    assert "@ git+https://" in GITHUB.read_text()  # the git-URL form is shown
    steps = _github_steps()
    assert [s["uses"] for s in steps if "uses" in s] == [
        "actions/checkout@v4", "actions/setup-python@v5", "actions/upload-artifact@v4"]
    install = next(s for s in steps if "pip install" in s.get("run", ""))
    assert install["run"] == 'python -m pip install "$SUITE_REQUIREMENT"'  # never `pip install .` of the caller's repo
    run = next(s for s in steps if "hyper3d-login-conformance" in s.get("run", ""))
    assert run["env"]["LOGIN_BASE_URL"] == "${{ vars.LOGIN_BASE_URL }}"
    assert run["env"]["LOGIN_PASSWORD"] == "${{ secrets.LOGIN_PASSWORD }}"
    upload = steps[-1]
    assert upload["if"] == "always()" and upload["with"]["path"] == "conformance-report/"
    assert upload["with"]["if-no-files-found"] == "error"


def test_gitlab_example_installs_the_pinned_package_and_keeps_reports_on_every_outcome():
    job = _gitlab_job()
    assert job["variables"]["SUITE_REQUIREMENT"] == "hyper3d-login-conformance==0.1.0"
    assert job["before_script"] == ['python -m pip install "$SUITE_REQUIREMENT"']
    artifacts = job["artifacts"]
    assert artifacts["when"] == "always" and artifacts["paths"] == ["conformance-report/"]
    assert artifacts["reports"]["junit"] == "conformance-report/junit.xml" and artifacts["expose_as"]


# ------------------------------------------------------------------------------------ the run steps, executed
@pytest.fixture(scope="module")
def server():
    with start_reference_server() as srv:
        yield srv


def _shell(script: str, cwd: Path, **env_vars: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "LOGIN_", "GITHUB_", "HYPER3D_"))}
    # the console script of the environment running these tests, first on PATH as on a CI runner after the install
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(env_vars)
    assert shutil.which("hyper3d-login-conformance", path=env["PATH"]), "the console script is installed"
    return subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=180)


def _github_run_step() -> str:
    return next(s for s in _github_steps() if "hyper3d-login-conformance" in s.get("run", ""))["run"]


def _gitlab_script() -> str:
    return "\n".join(_gitlab_job()["script"])


def test_github_run_step_gates_a_real_run_and_fills_the_job_summary(server, tmp_path):
    summary = tmp_path / "summary.md"
    proc = _shell(_github_run_step(), tmp_path, LOGIN_BASE_URL=server.url, LOGIN_EMAIL=DEMO_EMAIL,
                  LOGIN_PASSWORD=DEMO_PASSWORD, GITHUB_STEP_SUMMARY=str(summary))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    reports = tmp_path / "conformance-report"
    assert {p.name for p in reports.iterdir()} >= {"conformance.json", "conformance.md", "conformance.html", "junit.xml"}
    assert "CONFORMING" in proc.stdout
    assert (reports / "conformance.md").read_text() in summary.read_text()
    assert DEMO_PASSWORD not in summary.read_text() + (reports / "junit.xml").read_text()


@pytest.mark.parametrize("unset", ["LOGIN_BASE_URL", "LOGIN_EMAIL", "LOGIN_PASSWORD"])
def test_github_run_step_fails_loudly_when_not_configured(server, tmp_path, unset):
    summary = tmp_path / "summary.md"
    env = dict(LOGIN_BASE_URL=server.url, LOGIN_EMAIL=DEMO_EMAIL, LOGIN_PASSWORD=DEMO_PASSWORD,
               GITHUB_STEP_SUMMARY=str(summary))
    env[unset] = ""  # what ${{ vars.X }} / ${{ secrets.X }} give when X is not set
    proc = _shell(_github_run_step(), tmp_path, **env)
    assert proc.returncode == 4
    assert proc.stdout.startswith("::error::login conformance NOT RUN: missing") and unset in proc.stdout
    assert "NOT RUN" in summary.read_text() and unset in summary.read_text()
    assert (tmp_path / "conformance-report" / "NOT-RUN.txt").is_file()  # the upload step finds a file
    assert "hyper3d-login" not in proc.stdout + proc.stderr  # the suite never started


def test_gitlab_script_gates_a_real_run_and_writes_junit(server, tmp_path):
    proc = _shell(_gitlab_script(), tmp_path, LOGIN_BASE_URL=server.url, LOGIN_EMAIL=DEMO_EMAIL,
                  LOGIN_PASSWORD=DEMO_PASSWORD)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (tmp_path / "conformance-report" / "junit.xml").is_file()
    after = _shell("\n".join(_gitlab_job()["after_script"]), tmp_path)
    assert after.returncode == 0 and after.stdout.strip()  # the Markdown summary lands in the job log


def test_gitlab_script_fails_loudly_without_a_base_url(tmp_path):
    proc = _shell(_gitlab_script(), tmp_path, LOGIN_BASE_URL="", LOGIN_EMAIL=DEMO_EMAIL, LOGIN_PASSWORD=DEMO_PASSWORD)
    assert proc.returncode == 4 and "NOT RUN: missing CI/CD variable(s): LOGIN_BASE_URL" in proc.stdout


def test_github_run_step_passes_the_last_report_as_the_baseline(server, tmp_path):
    """Issue 13's CI recipe: the last successful run's conformance.json (fetched into baseline/) is the baseline."""
    env = dict(LOGIN_BASE_URL=server.url, LOGIN_EMAIL=DEMO_EMAIL, LOGIN_PASSWORD=DEMO_PASSWORD)
    first = _shell(_github_run_step(), tmp_path, **env)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "since baseline" not in first.stdout  # no baseline yet
    reports = tmp_path / "conformance-report"
    assert (reports / "exchanges.har").is_file()
    (tmp_path / "baseline").mkdir()
    shutil.copy(reports / "conformance.json", tmp_path / "baseline" / "conformance.json")
    second = _shell(_github_run_step(), tmp_path, LOGIN_GATE_ON_NEW="true", **env)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "since baseline conformance.json: no change" in second.stdout
    assert "--fail-on-new" in second.stdout
    assert DEMO_PASSWORD not in (reports / "exchanges.har").read_text(encoding="utf-8")


def test_github_example_fetches_the_baseline_before_the_run():
    steps = _github_steps()
    names = [s.get("name", "") for s in steps]
    fetch = names.index("Fetch the baseline (the last successful run's conformance.json)")
    assert fetch < names.index("Run the login contract suite")
    assert "--name login-conformance-report --dir baseline" in steps[fetch]["run"]
    assert yaml.safe_load(GITHUB.read_text())["permissions"]["actions"] == "read"
