"""The CI examples for a deployment repository, exercised as a deployment team would use them.

Both files are valid against the official schemas (the ones check-jsonschema ships). Their steps run, as shell, in a
scratch "deployment repository" (a temporary directory with its own git repository): the install line they print
installs the suite from a git repository of this checkout pinned to a commit (SUITE_REPO / SUITE_REF) into a fresh
venv, whose console script then runs against the bundled reference server; the baseline comes from a committed file
or from the last completed run's report whatever its verdict (GitHub's `gh`, stubbed; GitLab's API, served by a
small fake on a loopback port), so `--fail-on-new` starts on a deployment with known failures.

Fast on purpose (as tests/test_install.py): no index, no build isolation, and the fresh venv sees the dependencies
installed here through a .pth line (a directory named in a .pth file is not scanned for .pth files, so the editable
install of the checkout does not come along: the test checks where contract_tests is imported from).
"""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import threading
import urllib.parse
from pathlib import Path

import jsonschema
import pytest
import yaml

from contract_tests.config.options import GROUP, add_options
from contract_tests.reference import DEMO_EMAIL, DEMO_PASSWORD, start_reference_server
from contract_tests.report.json_report import SCHEMA_FILE
from helpers import fake_gh

ROOT = Path(__file__).resolve().parents[1]
GITHUB = ROOT / "examples" / "github-actions.yml"
GITLAB = ROOT / "examples" / "gitlab-ci.yml"
KNOWN_FAULT = "cors-reflect-origin"  # SEC-06, MUST: the deployment's known failure
INSTALL_MARGIN_S = 5 * 60  # install, baseline and report upload after the suite's own deadline


def _default_run_deadline() -> float:
    """--run-deadline's default, as the suite declares it."""
    from _pytest.config.argparsing import Parser

    parser = Parser(_ispytest=True)
    add_options(parser)
    return float(next(o.default for o in parser.getgroup(GROUP).options if "--run-deadline" in o.names()))


DEFAULT_RUN_DEADLINE = _default_run_deadline()
COULD_NOT_TEST = {"schema_version": "1.2", "run": {"verdict": "could-not-test"}, "requirements": []}


@pytest.mark.parametrize("example, schema", [(GITHUB, "vendor.github-workflows"), (GITLAB, "vendor.gitlab-ci")])
def test_example_is_valid_against_the_official_schema(example, schema):
    proc = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(example)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _workflow() -> dict:
    return yaml.safe_load(GITHUB.read_text())


def _github_steps() -> list[dict]:
    return _workflow()["jobs"]["conformance"]["steps"]


def _github_step(prefix: str) -> dict:
    return next(s for s in _github_steps() if s.get("name", "").startswith(prefix))


def _gitlab_job() -> dict:
    return yaml.safe_load(GITLAB.read_text())["login-conformance"]


def test_both_examples_install_the_suite_from_its_git_repository_pinned():
    workflow, job = _workflow(), _gitlab_job()
    for variables in (workflow["env"], job["variables"]):
        assert variables["SUITE_REPO"].startswith("https://") and variables["SUITE_REPO"].endswith(".git")
        assert re.fullmatch(r"v\d+\.\d+\.\d+|[0-9a-f]{40}", variables["SUITE_REF"])  # a tag or a commit
    pip_line = 'python -m pip install "hyper3d-login-conformance @ git+${SUITE_REPO}@${SUITE_REF}"'
    assert _github_step("Install").get("run", "").splitlines()[-1] == pip_line
    assert job["before_script"][-1] == pip_line
    for text in (GITHUB.read_text(), GITLAB.read_text()):
        # the index form is shown, commented, for a team's own index; never a live install by name
        assert re.search(r'^\s*#.*pip install --index-url \S+ "hyper3d-login-conformance==\d', text, re.M)
        assert not re.search(r'^[^#\n]*pip install[^#\n]*hyper3d-login-conformance==', text, re.M)


def test_uploads_keep_the_report_on_every_outcome():
    steps = _github_steps()
    assert [s["uses"] for s in steps if "uses" in s] == [
        "actions/checkout@v4", "actions/setup-python@v5", "actions/upload-artifact@v4"]
    run = _github_step("Run the login contract suite")
    assert run["env"]["LOGIN_BASE_URL"] == "${{ vars.LOGIN_BASE_URL }}"
    assert run["env"]["LOGIN_PASSWORD"] == "${{ secrets.LOGIN_PASSWORD }}"
    upload = steps[-1]
    assert upload["if"] == "always()" and upload["with"]["path"] == "conformance-report/"
    assert upload["with"]["if-no-files-found"] == "error"
    artifacts = _gitlab_job()["artifacts"]
    assert artifacts["when"] == "always" and artifacts["paths"] == ["conformance-report/"]
    assert artifacts["reports"]["junit"] == "conformance-report/junit.xml" and artifacts["expose_as"]


def _run_deadline(script: str) -> float:
    found = re.search(r"--run-deadline=(\d+)", script)
    return float(found.group(1)) if found else DEFAULT_RUN_DEADLINE


def _minutes(value) -> float:
    text = str(value)
    return float(text[:-1]) if text.endswith("m") else float(text)


def test_timeouts_leave_the_suite_its_run_deadline_and_the_upload_its_time():
    """The suite ends itself at --run-deadline and writes its reports; the CI's own timeout must come later."""
    run = _github_step("Run the login contract suite")
    deadline = _run_deadline(run["run"])
    assert deadline <= DEFAULT_RUN_DEADLINE  # the examples never raise the default
    step_s = run["timeout-minutes"] * 60
    assert step_s > deadline  # the suite's deadline fires first
    job = _workflow()["jobs"]["conformance"]
    before = sum(s.get("timeout-minutes", 0) for s in _github_steps()[: _github_steps().index(run)])
    assert job["timeout-minutes"] * 60 >= before * 60 + step_s + 60  # install, baseline, run, then the upload
    gitlab = _gitlab_job()
    assert _minutes(gitlab["timeout"]) * 60 >= _run_deadline("\n".join(gitlab["script"])) + INSTALL_MARGIN_S


# ---------------------------------------------------------------------------------- a scratch deployment repository
def _git(*args, cwd) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.fixture(scope="module")
def suite_repo(tmp_path_factory):
    """The suite's own git repository, as a deployment repository sees it: this checkout (its working tree, when it
    has uncommitted changes) pushed to a bare repository, and the commit to pin."""
    commit = _git("stash", "create", cwd=ROOT) or _git("rev-parse", "HEAD", cwd=ROOT)
    bare = tmp_path_factory.mktemp("suite") / "hyper3d-login-conformance.git"
    _git("init", "--bare", "--quiet", "-b", "main", str(bare), cwd=ROOT)
    _git("push", "--quiet", str(bare), f"{commit}:refs/heads/main", cwd=ROOT)
    # file://localhost/...: a URL with a host, as a requirement's direct reference wants it (git takes it too)
    return f"file://localhost{bare.as_posix()}", commit


def _env(venv_bin: Path, stub_bin: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "LOGIN_", "GITHUB_", "HYPER3D_", "PIP_", "VIRTUAL_ENV", "CI_"))}
    env["PATH"] = os.pathsep.join([str(venv_bin), str(stub_bin), env.get("PATH", "")])
    env.update(extra)
    return env


def _shell(script: str, cwd: Path, env: dict[str, str], timeout: float = 240) -> subprocess.CompletedProcess:
    # as GitHub runs a `run:` step (bash --noprofile --norc -eo pipefail) and GitLab a script entry
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(suite_repo, tmp_path_factory):
    """A fresh venv (CI's python) where the examples' install lines installed the pinned suite; a stub `gh`."""
    home = tmp_path_factory.mktemp("runner")
    venv = home / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    here = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site / "zz-dependencies-of-the-checkout.pth").write_text("\n".join(here) + "\n")
    stubs = home / "stubs"
    stubs.mkdir()
    fake_gh(stubs)
    url, commit = suite_repo
    # offline and fast: the dependencies come through the .pth line, the build backend from here (no isolation)
    env = _env(venv / "bin", stubs, SUITE_REPO=url, SUITE_REF=commit, PIP_NO_INDEX="1", PIP_NO_DEPS="1",
               PIP_NO_BUILD_ISOLATION="0", PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_CACHE_DIR=str(home / "pip-cache"))
    proc = _shell(_github_step("Install")["run"], home, env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    again = _shell("\n".join(_gitlab_job()["before_script"]), home, env)  # GitLab's install line, the same pin
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    return venv, stubs, commit


def test_the_install_line_installs_the_pinned_commit_into_the_runners_python(installed):
    venv, stubs, commit = installed
    env = _env(venv / "bin", stubs)
    where = _shell("python -c 'import contract_tests; print(contract_tests.__file__)'", venv, env)
    assert where.stdout.strip().startswith(str(venv)), where.stdout + where.stderr  # not the checkout's editable copy
    assert shutil.which("hyper3d-login-conformance", path=env["PATH"]) == str(venv / "bin" / "hyper3d-login-conformance")
    direct = json.loads(next(venv.glob("lib/python*/site-packages/hyper3d_login_conformance-*.dist-info"))
                        .joinpath("direct_url.json").read_text())
    assert direct["vcs_info"] == {"vcs": "git", "commit_id": commit, "requested_revision": commit}


def test_an_empty_pin_is_refused_before_anything_is_installed(installed, tmp_path):
    venv, stubs, _ = installed
    env = _env(venv / "bin", stubs, SUITE_REPO="file:///nowhere.git", SUITE_REF="")
    for script in (_github_step("Install")["run"], "\n".join(_gitlab_job()["before_script"])):
        proc = _shell(script, tmp_path, env)
        assert proc.returncode == 4 and "SUITE_REF is empty: pin the suite" in proc.stdout


@pytest.fixture
def deployment(tmp_path):
    """A scratch deployment repository: its own git repository, nothing of the suite in it."""
    repo = tmp_path / "deployment"
    repo.mkdir()
    _git("init", "--quiet", "-b", "main", cwd=repo)
    (repo / "README.md").write_text("our login service\n")
    _git("add", "-A", cwd=repo)
    _git("commit", "--quiet", "-m", "init", cwd=repo)
    return repo


@pytest.fixture(scope="module")
def server():
    with start_reference_server() as srv:
        yield srv


@pytest.fixture(scope="module")
def known_failure_server():
    with start_reference_server(fault=KNOWN_FAULT) as srv:
        yield srv


@pytest.fixture(scope="module")
def report_schema():
    return jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


def _github_job(repo: Path, installed, artifacts: Path, **env_vars: str):
    """The fetch and run steps of the GitHub job, in order, as the runner runs them; (procs, gh calls)."""
    venv, stubs, _ = installed
    artifacts.mkdir(exist_ok=True)
    log = repo.parent / "gh.log"
    env = _env(venv / "bin", stubs, GITHUB_REPOSITORY="acme/login-service", DEFAULT_BRANCH="main",
               GITHUB_STEP_SUMMARY=str(repo.parent / "summary.md"), GH_TOKEN="t", FAKE_GH_LOG=str(log),
               FAKE_GH_ARTIFACTS=str(artifacts), LOGIN_EMAIL=DEMO_EMAIL, LOGIN_PASSWORD=DEMO_PASSWORD, **env_vars)
    procs = []
    for name in ("Fetch the baseline", "Run the login contract suite"):
        procs.append(_shell(_github_step(name)["run"], repo, env))
        if procs[-1].returncode != 0:
            break
    return procs, log.read_text() if log.exists() else ""


def _keep_as_artifact(repo: Path, artifacts: Path, run_id: int) -> None:
    """What the upload step does: the run's report directory becomes that run's artifact."""
    shutil.copytree(repo / "conformance-report", artifacts / str(run_id) / "login-conformance-report")


def _could_not_test_artifact(artifacts: Path, run_id: int) -> None:
    where = artifacts / str(run_id) / "login-conformance-report"
    where.mkdir(parents=True)
    (where / "conformance.json").write_text(json.dumps(COULD_NOT_TEST))


def _report(repo: Path, report_schema) -> dict:
    report = json.loads((repo / "conformance-report" / "conformance.json").read_text(encoding="utf-8"))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in report_schema.iter_errors(report)]
    assert not errors, errors[:5]
    return report


def test_github_job_gates_a_real_run_and_fills_the_job_summary(installed, server, deployment, report_schema):
    procs, gh_calls = _github_job(deployment, installed, deployment.parent / "artifacts", LOGIN_BASE_URL=server.url)
    fetch, run = procs
    assert "no baseline yet: every failure is reported as new" in fetch.stdout
    assert "--status completed" in gh_calls and "--branch main" in gh_calls
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    reports = deployment / "conformance-report"
    assert {p.name for p in reports.iterdir()} >= {"conformance.json", "conformance.md", "conformance.html",
                                                    "junit.xml", "exchanges.har"}
    assert _report(deployment, report_schema)["run"]["verdict"] == "conforming"
    summary = (deployment.parent / "summary.md").read_text()
    assert (reports / "conformance.md").read_text() in summary
    for path in (deployment.parent / "summary.md", reports / "junit.xml", reports / "exchanges.har"):
        assert DEMO_PASSWORD not in path.read_text(encoding="utf-8")


def test_github_baseline_is_the_last_completed_run_whatever_its_verdict(installed, known_failure_server, deployment,
                                                                        report_schema):
    """A deployment with a known failure never has a green run: the last completed run's report is the baseline,
    a run that could not test is passed over, and --fail-on-new starts."""
    artifacts = deployment.parent / "artifacts"
    env = dict(LOGIN_BASE_URL=known_failure_server.url, LOGIN_GATE_ON_NEW="true")
    (_, first), _ = _github_job(deployment, installed, artifacts, **env)
    assert first.returncode == 1, first.stdout[-3000:]  # no baseline yet: the known failure is new, and gates
    assert _report(deployment, report_schema)["run"]["verdict"] == "non-conforming"
    _keep_as_artifact(deployment, artifacts, 101)
    _could_not_test_artifact(artifacts, 102)  # a newer completed run whose target was down

    shutil.rmtree(deployment / "conformance-report")
    (fetch, second), gh_calls = _github_job(deployment, installed, artifacts, **env)
    assert "that run could not test its target" in fetch.stdout + fetch.stderr
    assert "baseline: the report of run 101" in fetch.stdout
    assert "run download 102" in gh_calls and "run download 101" in gh_calls
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    report = _report(deployment, report_schema)
    assert report["run"]["verdict"] == "no-new-failures"
    assert report["baseline"]["changes"]["SEC-06"]["change"] == "still failing"
    assert "--fail-on-new" in second.stdout


def test_github_baseline_committed_in_the_deployment_repository_comes_first(installed, known_failure_server,
                                                                            deployment, report_schema, tmp_path):
    artifacts = tmp_path / "artifacts"
    env = dict(LOGIN_BASE_URL=known_failure_server.url, LOGIN_GATE_ON_NEW="true")
    (_, first), _ = _github_job(deployment, installed, artifacts, **env)
    assert first.returncode == 1
    shutil.move(deployment / "conformance-report" / "conformance.json", deployment / "conformance-baseline.json")
    _git("add", "conformance-baseline.json", cwd=deployment)
    _git("commit", "--quiet", "-m", "the run we accept as our baseline", cwd=deployment)
    shutil.rmtree(deployment / "conformance-report")
    _could_not_test_artifact(artifacts, 103)  # never consulted: the committed file wins

    (fetch, second), gh_calls = _github_job(deployment, installed, artifacts, **env)
    assert "baseline recorded: baseline/conformance.json (1 known failure(s): SEC-06)" in fetch.stdout
    assert "run list" not in gh_calls.split("run list", 1)[-1]  # only the first job listed runs
    assert second.returncode == 0, second.stdout[-3000:]
    assert _report(deployment, report_schema)["run"]["verdict"] == "no-new-failures"


@pytest.mark.parametrize("unset", ["LOGIN_BASE_URL", "LOGIN_EMAIL", "LOGIN_PASSWORD"])
def test_github_run_step_fails_loudly_when_not_configured(installed, server, tmp_path, unset):
    venv, stubs, _ = installed
    summary = tmp_path / "summary.md"
    env = _env(venv / "bin", stubs, LOGIN_BASE_URL=server.url, LOGIN_EMAIL=DEMO_EMAIL, LOGIN_PASSWORD=DEMO_PASSWORD,
               GITHUB_STEP_SUMMARY=str(summary))
    env[unset] = ""  # what ${{ vars.X }} / ${{ secrets.X }} give when X is not set
    proc = _shell(_github_step("Run the login contract suite")["run"], tmp_path, env)
    assert proc.returncode == 4
    assert proc.stdout.startswith("::error::login conformance NOT RUN: missing") and unset in proc.stdout
    assert "NOT RUN" in summary.read_text() and unset in summary.read_text()
    assert (tmp_path / "conformance-report" / "NOT-RUN.txt").is_file()  # the upload step finds a file
    assert "hyper3d-login" not in proc.stdout + proc.stderr  # the suite never started


# ------------------------------------------------------------------------------------------------------------ GitLab
class FakeGitLab(http.server.ThreadingHTTPServer):
    """The few GitLab API v4 endpoints the example reads: finished pipelines, their jobs, one artifact file."""

    token = "read-api-token-for-the-test"

    def __init__(self, pipelines: dict[int, bytes]):
        super().__init__(("127.0.0.1", 0), _GitLabHandler)
        self.pipelines = pipelines  # pipeline id -> the conformance.json its login-conformance job kept
        self.seen: list[str] = []

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/api/v4"


class _GitLabHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        server: FakeGitLab = self.server  # type: ignore[assignment]
        server.seen.append(self.path)
        if self.headers.get("PRIVATE-TOKEN") != server.token:
            return self._answer(401, b'{"message": "401 Unauthorized"}')
        path, _, query = self.path.partition("?")
        parts = path.removeprefix("/api/v4/projects/42").strip("/").split("/")
        if parts == ["pipelines"] and urllib.parse.parse_qs(query).get("scope") == ["finished"]:
            ids = sorted(server.pipelines, reverse=True)
            return self._answer(200, json.dumps([{"id": i, "status": "failed"} for i in ids]).encode())
        if len(parts) == 3 and parts[0] == "pipelines" and parts[2] == "jobs":
            pid = int(parts[1])
            jobs = [{"id": pid * 10 + 1, "name": "build", "artifacts_file": None},
                    {"id": pid * 10 + 2, "name": "login-conformance", "artifacts_file": {"filename": "a.zip"}}]
            return self._answer(200, json.dumps(jobs).encode())
        if parts[:1] == ["jobs"] and parts[2:] == ["artifacts", "conformance-report", "conformance.json"]:
            pid, job = divmod(int(parts[1]), 10)
            if job == 2 and pid in server.pipelines:
                return self._answer(200, server.pipelines[pid])
        return self._answer(404, b'{"message": "404 Not found"}')

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def gitlab_api():
    servers = []

    def start(pipelines: dict[int, bytes]) -> FakeGitLab:
        fake = FakeGitLab(pipelines)
        threading.Thread(target=fake.serve_forever, daemon=True).start()
        servers.append(fake)
        return fake

    yield start
    for fake in servers:
        fake.shutdown()
        fake.server_close()


def _gitlab_script(repo: Path, installed, entries: slice = slice(None), **env_vars: str) -> subprocess.CompletedProcess:
    venv, stubs, _ = installed
    env = _env(venv / "bin", stubs, CI_JOB_NAME="login-conformance", CI_PROJECT_ID="42", CI_DEFAULT_BRANCH="main",
               LOGIN_EMAIL=DEMO_EMAIL, LOGIN_PASSWORD=DEMO_PASSWORD, **env_vars)
    return _shell("\n".join(_gitlab_job()["script"][entries]), repo, env)


def test_gitlab_job_without_a_baseline_source_says_so_and_gates_a_real_run(installed, server, deployment):
    proc = _gitlab_script(deployment, installed, LOGIN_BASE_URL=server.url)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "no baseline: commit conformance-baseline.json or set BASELINE_API_TOKEN" in proc.stdout
    assert (deployment / "conformance-report" / "junit.xml").is_file()
    venv, stubs, _ = installed
    after = _shell("\n".join(_gitlab_job()["after_script"]), deployment, _env(venv / "bin", stubs))
    assert after.returncode == 0 and after.stdout.startswith("# ")  # the Markdown summary lands in the job log


def test_gitlab_baseline_is_the_last_finished_pipeline_whatever_its_verdict(installed, known_failure_server,
                                                                            deployment, gitlab_api, report_schema):
    first = _gitlab_script(deployment, installed, LOGIN_BASE_URL=known_failure_server.url)
    assert first.returncode == 1, first.stdout[-3000:]
    kept = (deployment / "conformance-report" / "conformance.json").read_bytes()
    shutil.rmtree(deployment / "conformance-report")
    fake = gitlab_api({5: kept, 6: json.dumps(COULD_NOT_TEST).encode()})  # 6: finished, the target was down

    proc = _gitlab_script(deployment, installed, LOGIN_BASE_URL=known_failure_server.url, LOGIN_GATE_ON_NEW="true",
                          CI_API_V4_URL=fake.api, BASELINE_API_TOKEN=FakeGitLab.token)
    assert "baseline: the report of pipeline 5 (job 52)" in proc.stdout, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert any("scope=finished" in path and "ref=main" in path for path in fake.seen)
    assert proc.returncode == 0, proc.stdout[-3000:]
    report = _report(deployment, report_schema)
    assert report["run"]["verdict"] == "no-new-failures"
    assert FakeGitLab.token not in proc.stdout + proc.stderr


def test_gitlab_script_fails_loudly_without_a_base_url(installed, tmp_path):
    proc = _gitlab_script(tmp_path, installed, LOGIN_BASE_URL="")
    assert proc.returncode == 4 and "NOT RUN: missing CI/CD variable(s): LOGIN_BASE_URL" in proc.stdout


def test_gitlab_baseline_from_an_unreadable_api_is_one_line_and_the_run_goes_on(installed, deployment, gitlab_api):
    fake = gitlab_api({5: json.dumps(COULD_NOT_TEST).encode()})
    before_the_run = slice(0, -1)
    proc = _gitlab_script(deployment, installed, before_the_run, LOGIN_BASE_URL="http://127.0.0.1:9",
                          CI_API_V4_URL=fake.api, BASELINE_API_TOKEN="a-token-the-api-refuses")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no baseline: the GitLab API could not be read (HTTP Error 401: Unauthorized)" in proc.stdout
    assert "Traceback" not in proc.stderr and "a-token-the-api-refuses" not in proc.stdout + proc.stderr
    assert not (deployment / "baseline" / "conformance.json").exists()
    only_refused = _gitlab_script(deployment, installed, before_the_run, LOGIN_BASE_URL="http://127.0.0.1:9",
                                  CI_API_V4_URL=fake.api, BASELINE_API_TOKEN=FakeGitLab.token)
    assert "that run could not test its target" in only_refused.stdout
    assert "no baseline yet: every failure is reported as new" in only_refused.stdout
