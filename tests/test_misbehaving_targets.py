"""Every way a run can go wrong ends in one clear verdict, the real exit status, and a report saying why.

Each case runs the suite end to end in a subprocess, as CI runs it, at default settings (only what the case is
about is changed), against a misbehaving target on loopback (tests/misbehaving_targets.py) or the bundled
reference server. The cases run concurrently; each is bounded in wall time. docs/misbehaving-targets.md's table
comes from these cases.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trustme

from contract_tests.reference import DEMO_EMAIL, DEMO_PASSWORD, start_reference_server
from contract_tests.reference.service import LoginService
from tests.misbehaving_targets import BEHAVIOURS, RawTarget

SUITE = ("-p", "contract_tests.plugin", "--pyargs", "contract_tests.suite", "-p", "no:cacheprovider",
         "--assert=plain", "-q")
CASE_WALL_LIMIT = 60.0  # seconds, at default settings: no misbehaving target holds a run longer
CLEAN_ENV = ("GITHUB_STEP_SUMMARY", "PYTEST_BASE_URL", "HYPER3D_REFERENCE_PASSWORD", "PYTEST_ADDOPTS",
             "LOGIN_CAPTCHA_TOKEN", "LOGIN_EMAIL", "LOGIN_PASSWORD", "PYTEST_CURRENT_TEST", "PYTEST_XDIST_WORKER",
             "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID", "SSL_CERT_FILE", "SSL_CERT_DIR")
CREDENTIALS = {"LOGIN_EMAIL": DEMO_EMAIL, "LOGIN_PASSWORD": DEMO_PASSWORD}


@dataclass
class Case:
    target: str | None  # a BEHAVIOURS name, "reference", "" (--base-url=""), or None (no --base-url)
    exit: int
    verdict: str
    says: str  # what the terminal output must say (one clear line)
    args: tuple[str, ...] = ()
    env: dict = field(default_factory=lambda: dict(CREDENTIALS))
    https: bool = False  # https:// to the target's port (the TLS targets are https:// already)
    trust_ca: bool = False  # SSL_CERT_FILE names the CA that issued the TLS targets' certificates
    also: tuple[str, ...] = ()  # more the output must say (a header line, an adjustment)
    files: tuple[str, ...] = ()  # regular files made in the working directory first (paths that must not be dirs)
    report: bool = True  # a report is written (False: the report directory itself is what is wrong)
    wall_limit: float = 60.0  # seconds (CASE_WALL_LIMIT unless the case is about time)


COUNTING = "counting"  # a fresh target of its own that answers like the login API and counts its connections
NOTHING_SENT = "nothing is sent: the error is found before the first request"


CASES: dict[str, Case] = {
    "never-answers": Case("never-answers", 4, "could-not-test", "no complete answer within 10 s"),
    "slow-endless-stream": Case("slow-endless-stream", 4, "could-not-test", "no complete answer within 10 s"),
    "resets": Case("resets", 4, "could-not-test", "cannot reach"),
    "closes": Case("closes", 4, "could-not-test", "closed the connection without answering; if that port serves "
                   "HTTPS, use https://"),
    "html-200": Case("html-200", 4, "could-not-test", "does not look like the login API"),
    "redirect-302": Case("redirect-302", 4, "could-not-test", "does not look like the login API"),
    "moved-permanently": Case("moved-permanently", 4, "could-not-test",
                           "redirects the login to https://login.example.test/api/user/login (a redirected POST loses "
                           "its body, and the documented client follows it as a GET): use "
                           "--base-url=https://login.example.test"),
    "500-for-everything": Case("500-for-everything", 4, "could-not-test", "does not look like the login API"),
    "10-mb-body": Case("10-mb-body", 4, "could-not-test", "body cut at 1048576 bytes"),
    "gzip-header-on-plain-body": Case("gzip-header-on-plain-body", 4, "could-not-test",
                                      "the answer's body could not be decoded as its Content-Encoding says"),
    "empty-base-url": Case(None, 4, "could-not-test", "--base-url / PYTEST_BASE_URL is empty",
                           env={**CREDENTIALS, "PYTEST_BASE_URL": ""}),
    "stops-answering-mid-run": Case("goes-silent", 4, "could-not-test",
                                   "the target stopped answering: 3 requests in a row"),
    "empty-base-url-option": Case("", 4, "could-not-test", "--base-url / PYTEST_BASE_URL is empty"),
    "missing-password": Case("reference", 4, "could-not-test", "credentials are incomplete: set LOGIN_PASSWORD",
                             env={"LOGIN_EMAIL": DEMO_EMAIL}),
    "wrong-password": Case("reference", 4, "could-not-test", "the configured credentials do not log in",
                           env={"LOGIN_EMAIL": DEMO_EMAIL, "LOGIN_PASSWORD": "Not-The-Password-1"}),
    "missing-credentials-required": Case("reference", 4, "could-not-test", "--require-credentials",
                                         args=("--require-credentials",), env={}),
    "missing-credentials": Case("reference", 10, "inconclusive", "INCONCLUSIVE: no credentials:", env={},
                                also=("requirement(s) need them and were not checked; set LOGIN_EMAIL and "
                                      "LOGIN_PASSWORD, or give --without-credentials",
                                      "requirement(s) not checked (set LOGIN_EMAIL and LOGIN_PASSWORD)")),
    "missing-credentials-subset-asked-for": Case(
        "reference", 0, "conforming", "CONFORMING at --fail-on=must (credential-free subset, --without-credentials)",
        args=("--without-credentials",), env={}),
    "no-target": Case(None, 4, "could-not-test", "no target: give --base-url=https://your-deployment"),
    "bundled-server-asked-for": Case(None, 0, "conforming", "CONFORMING at --fail-on=must",  # one check: enough
                                     args=("--bundled-server", "--requirement=AUTH-01"),
                                     also=("BUNDLED REFERENCE SERVER",)),
    # checked before the first request: one line, exit 4, nothing sent (the counting target sees no connection)
    "report-dir-under-a-file": Case(COUNTING, 4, "could-not-test", "--report-dir afile/out: cannot create the directory",
                                    args=("--report-dir=afile/out",), files=("afile",), report=False),
    "report-dir-is-a-file": Case(COUNTING, 4, "could-not-test", "--report-dir afile: exists and is not a directory",
                                 args=("--report-dir=afile",), files=("afile",), report=False),
    "har-under-a-file": Case(COUNTING, 4, "could-not-test", "--har afile/run.har: its folder afile: exists and is not",
                             args=("--har=afile/run.har",), files=("afile",)),
    "baseline-missing": Case(COUNTING, 4, "could-not-test", "--baseline: missing.json: no such file",
                             args=("--baseline=missing.json",)),
    "fuzz-examples-negative": Case(COUNTING, 4, "could-not-test", "--fuzz-examples must be a whole number at least 0",
                                   args=("--fuzz-examples=-1",)),
    "requirement-unknown": Case(COUNTING, 4, "could-not-test", "--requirement: NOPE-99 matches no requirement",
                                args=("--requirement=NOPE-99",)),
    "fail-on-unknown": Case(COUNTING, 4, "could-not-test", "--fail-on must be must or should, got 'maybe'",
                            args=("--fail-on=maybe",)),
    "timeout-huge": Case(COUNTING, 4, "could-not-test", "--timeout must be a number greater than 0 and at most 86400",
                         args=("--timeout=99999999999", "--run-deadline=20")),
    "run-deadline-huge": Case(COUNTING, 4, "could-not-test", "--run-deadline must be a number greater than 0 and at most",
                              args=("--run-deadline=99999999999",)),
    # the run deadline bounds the pre-flight: a silent target with a long --timeout ends at the deadline
    "run-deadline-bounds-the-pre-flight": Case(
        "never-answers", 4, "could-not-test", "no complete answer within 10 s", args=("--timeout=60", "--run-deadline=10"),
        also=("--timeout=60 capped to --run-deadline=10 s",), wall_limit=55.0),  # uncapped, the probe alone: 60 s
    "timeout-nan": Case("reference", 4, "could-not-test", "--timeout must be a number", args=("--timeout=nan",)),
    "timeout-inf": Case("reference", 4, "could-not-test", "--timeout must be a number", args=("--timeout=inf",)),
    "max-token-lifetime-nan": Case("reference", 4, "could-not-test", "--max-token-lifetime must be",
                                   args=("--max-token-lifetime=nan",)),
    "request-interval-nan": Case("reference", 4, "could-not-test", "--request-interval must be",
                                 args=("--request-interval=nan",)),
    "max-retry-wait-nan": Case("reference", 4, "could-not-test", "--max-retry-wait must be",
                               args=("--max-retry-wait=nan",)),
    "max-requests-zero": Case("reference", 4, "could-not-test", "--max-requests must be", args=("--max-requests=0",)),
    "in-flight-zero": Case("reference", 4, "could-not-test", "--in-flight must be a whole number at least 1",
                           args=("--in-flight=0",)),
    "bad-waiver-file": Case(COUNTING, 4, "could-not-test", "--waivers", args=("--waivers=missing.yaml",)),
    "run-deadline": Case("reference", 10, "inconclusive", "the run deadline was reached (--run-deadline)",
                         args=("--run-deadline=5", "--request-interval=0.2")),
    "select-one-requirement": Case("reference", 0, "conforming", "scope narrowed (-k 'AUTH-01')",
                                   args=("-k", "AUTH-01")),
    "select-nothing": Case("reference", 5, "inconclusive", "no contract test ran", args=("-k", "no_such_test")),
    # TLS: which failure it was, said once, with the fix that fits it
    "tls-untrusted-certificate": Case("tls", 4, "could-not-test", "was reached, but TLS certificate verify failed: "
                                      "the certificate is not trusted (unable to get local issuer certificate); to "
                                      "trust a private CA, export SSL_CERT_FILE="),
    "tls-private-ca-in-ssl-cert-file": Case("tls", 4, "could-not-test", "does not look like the login API",
                                            trust_ca=True),  # the handshake succeeds: the HTML page is judged
    "tls-host-name-mismatch": Case("tls-other-host", 4, "could-not-test",
                                   "TLS certificate verify failed: host name mismatch (IP address mismatch", trust_ca=True),
    "https-to-a-plain-http-port": Case("reference", 4, "could-not-test", "that port answers in plain HTTP, not TLS; "
                                       "use http:// for it", https=True),
}


def _env(extra: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    env.update(extra)
    return env


@dataclass
class Run:
    proc: subprocess.CompletedProcess
    wall: float
    report: dict | None
    maxrss_kib: int  # peak resident memory of the suite's process (Linux: KiB)
    connections: int | None = None  # what a counting target saw

    @property
    def last_line(self) -> str:
        """The run's last words: stdout's last line, or pytest's ERROR line on stderr for a usage error."""
        lines = [line for line in self.proc.stdout.splitlines() if line.strip()]
        errors = [line for line in self.proc.stderr.splitlines() if line.strip()]
        return (errors or lines or [""])[-1] if self.proc.returncode == 4 and errors else (lines or [""])[-1]

    @property
    def output(self) -> str:
        return self.proc.stdout + self.proc.stderr


# Runs the suite as its only child and writes that child's peak memory: RUSAGE_CHILDREN of the test process would
# include every earlier child of the session (a browser of the HTML report check, other suite runs).
_MEASURED = ("import pathlib, resource, subprocess, sys; done = subprocess.run(sys.argv[2:]); "
             "pathlib.Path(sys.argv[1]).write_text(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); "
             "sys.exit(done.returncode)")


def _run_case(case: Case, work: Path, url: str | None) -> Run:
    work.mkdir(parents=True, exist_ok=True)
    for name in case.files:
        (work / name).write_text("a regular file\n", encoding="utf-8")
    base = [f"--base-url={url}"] if url is not None else []
    started = time.monotonic()
    suite = [sys.executable, "-m", "pytest", *SUITE, *base, "--report-dir=out", *case.args]
    proc = subprocess.run([sys.executable, "-c", _MEASURED, str(work / "maxrss"), *suite], cwd=work,
                          env=_env(case.env), capture_output=True, text=True, timeout=case.wall_limit + 30)
    wall = time.monotonic() - started
    path = work / "out" / "conformance.json"
    return Run(proc, wall, json.loads(path.read_text(encoding="utf-8")) if path.exists() else None,
               int((work / "maxrss").read_text()))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """All cases, four at a time (most of them wait on a silent socket, not on the CPU)."""
    root = tmp_path_factory.mktemp("misbehaving")
    targets = {name: RawTarget(behaviour) for name, behaviour in BEHAVIOURS.items()}
    ca = trustme.CA()
    ca_file = root / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    for name, hosts in (("tls", ("127.0.0.1", "localhost")), ("tls-other-host", ("other.example",))):
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(*hosts).configure_cert(context)
        targets[name] = RawTarget(BEHAVIOURS["html-200"], tls=context)
    reference = start_reference_server()
    silent_service = GoesSilent()
    goes_silent = start_reference_server(service=silent_service)
    try:
        def one(name: str) -> Run:
            case = CASES[name]
            if case.target == COUNTING:
                with RawTarget(BEHAVIOURS["401-json"]) as counting:
                    run = _run_case(case, root / name, counting.url)
                return dataclasses.replace(run, connections=counting.connections)
            url = (reference.url if case.target == "reference" else goes_silent.url if case.target == "goes-silent"
                   else targets[case.target].url if case.target else case.target)
            if case.https:
                url = url.replace("http://", "https://")
            if case.trust_ca:
                case = dataclasses.replace(case, env={**case.env, "SSL_CERT_FILE": str(ca_file)})
            return _run_case(case, root / name, url)

        with ThreadPoolExecutor(max_workers=4) as pool:
            results = dict(zip(CASES, pool.map(one, CASES)))
    finally:
        silent_service.release.set()
        goes_silent.stop()
        reference.stop()
        for target in targets.values():
            target.close()
    _write_table(results)
    yield results


def _write_table(results: dict[str, Run]) -> None:
    """docs/misbehaving-targets.md's table: what each case ended as, and how long it took."""
    lines = ["| target / setup | exit | verdict | wall (s) |", "|---|---|---|---|"]
    for name, run in results.items():
        verdict = run.report["run"]["verdict"] if run.report else "(no report)"
        lines.append(f"| {name} | {run.proc.returncode} | {verdict} | {run.wall:.1f} |")
    out = Path(__file__).resolve().parents[1] / "reports" / "selftest"
    out.mkdir(parents=True, exist_ok=True)
    (out / "misbehaving.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize("name", list(CASES))
def test_misbehaving_target(runs, name):
    case, run = CASES[name], runs[name]
    assert run.proc.returncode == case.exit, run.output[-3000:]
    assert case.says in run.output, run.output[-3000:]
    for also in case.also:
        assert also in run.output, (also, run.output[-3000:])
    assert "Traceback" not in run.output and "INTERNALERROR" not in run.output
    assert "_pytest" not in run.output and "usage: " not in run.output  # no pytest internals, no argparse usage
    assert "\x00" not in run.output and "\x1b[2J" not in run.output  # shown escaped, never raw
    assert run.wall < case.wall_limit
    # the verdict is the last line: the suite's own (a run), or the one usage-error line (ERROR: ...)
    verdict = "COULD NOT TEST" if case.verdict == "could-not-test" else case.verdict.upper()
    assert run.last_line.startswith((f"hyper3d-login: {verdict}", "ERROR: ")), run.output[-3000:]
    if run.last_line.startswith("ERROR: "):
        assert case.exit == 4 and case.says in run.last_line
    elif case.exit != 5:  # nothing selected: pytest's "no tests ran" is the reason
        assert f"(exit {case.exit}" in run.last_line
    if case.target == COUNTING:
        assert run.connections == 0, NOTHING_SENT
    if not case.report:  # the report directory itself cannot be written: one line says so, nothing else happens
        assert run.report is None and not (run.proc.stdout.strip())
        return
    assert run.report is not None, "a report is written on every path that has --report-dir"
    assert run.report["run"]["verdict"] == case.verdict
    assert run.report["run"]["exit_status"] == case.exit
    if case.verdict == "could-not-test":
        assert case.says in run.report["run"]["could_not_test"] or case.says.startswith("body cut")
        if case.target != "goes-silent":  # stopped before any check: nothing spent on an untestable target
            assert run.report["run"]["failed_logins_on_account"] == 0


@pytest.mark.parametrize("name", [name for name in CASES if "tls" in name or "https" in name])
def test_tls_failures_say_which_once_with_the_fix_that_fits(runs, name):
    run = runs[name]
    said = run.report["run"]["could_not_test"]
    assert run.output.count(said) == 1, run.output[-3000:]  # once: in the summary, not again as an error
    assert "cannot reach" not in run.output  # the host was reached
    if name == "https-to-a-plain-http-port":  # no certificate problem: neither --insecure nor SSL_CERT_FILE helps
        assert "wrong version number" in said and "--insecure" not in said and "SSL_CERT_FILE" not in said
    elif name != "tls-private-ca-in-ssl-cert-file":
        assert "--insecure skips certificate verification" in said


def test_wrong_password_spends_no_failed_login(runs):
    run = runs["wrong-password"]
    assert run.report["run"]["requests"] <= 2  # the pre-flight login, nothing else on the account
    assert "Not-The-Password-1" not in run.output + json.dumps(run.report)


def test_memory_stays_bounded_on_a_huge_body(runs):
    assert runs["10-mb-body"].maxrss_kib < 400 * 1024  # the answer is read up to 1 MiB, the rest discarded
    assert max(run.maxrss_kib for run in runs.values()) < 400 * 1024


def test_narrowed_scope_is_said_in_every_report(runs, tmp_path):
    run = runs["select-one-requirement"]
    assert any(note.startswith("scope narrowed (-k 'AUTH-01')") for note in run.report["run"]["scope"])
    nothing = runs["select-nothing"]
    assert "no contract test ran" in " ".join(nothing.report["run"]["verdict_reasons"])


class GoesSilent(LoginService):
    """Answers like the conforming reference for its first 40 requests, then never again."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.seen = 0
        self.release = threading.Event()

    async def handle(self, request):
        self.seen += 1
        if self.seen > 40:
            await asyncio.to_thread(self.release.wait, 120)
        return await super().handle(request)


# ------------------------------------------------------------------------------------------- interrupted run
class PausesMidRun(LoginService):
    """After a few requests the next one hangs until released: the moment to interrupt the run."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.seen = 0
        self.reached = threading.Event()
        self.release = threading.Event()

    async def handle(self, request):
        self.seen += 1
        if self.seen == 30:
            self.reached.set()
            await asyncio.to_thread(self.release.wait, 30)
        return await super().handle(request)


# a signal mid-run (tests below): the exit path, as docs/reports.md's table lists it
INTERRUPTS = {"SIGINT": Case("reference", 2, "interrupted", "the run was interrupted (SIGINT) before all checks ran"),
              "SIGTERM": Case("reference", 2, "interrupted", "the run was interrupted (SIGTERM) before all checks ran")}


def _default_signals() -> None:
    """In the child: SIGINT as a terminal delivers it. A shell's background job (nohup, `&`) starts with SIGINT
    ignored, which the child inherits and the suite rightly leaves ignored: the test would then send it for nothing."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("name", list(INTERRUPTS))
def test_interrupted_run_reports_its_real_exit_status(tmp_path, name):
    """SIGTERM (a CI runner's timeout or cancel) ends the run as SIGINT does: partial report, verdict interrupted."""
    case = INTERRUPTS[name]
    service = PausesMidRun()
    with start_reference_server(service=service) as server:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pytest", *SUITE, f"--base-url={server.url}", "--report-dir=out"],
            cwd=tmp_path, env=_env(CREDENTIALS), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=_default_signals)
        try:
            assert service.reached.wait(60), "the run never reached its 30th request"
            proc.send_signal(getattr(signal, name))
            out, err = proc.communicate(timeout=60)
        finally:
            service.release.set()
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == case.exit, (out + err)[-3000:]
    assert "Traceback" not in out + err
    report = json.loads((tmp_path / "out" / "conformance.json").read_text(encoding="utf-8"))
    assert report["run"]["exit_status"] == case.exit
    assert report["run"]["verdict"] == case.verdict
    assert report["run"]["stopped"] == case.says
    md = (tmp_path / "out" / "conformance.md").read_text(encoding="utf-8").splitlines()[0]
    assert "(exit 2)" in md and "CONFORMING at" not in md.replace("NON-CONFORMING", "")
    last = [line for line in out.splitlines() if line.strip()][-1]
    assert last.startswith(f"hyper3d-login: INTERRUPTED: {case.says}") and "(exit 2; report: out" in last, out[-3000:]


# ------------------------------------------------------------------------------ docs/reports.md's table
EXIT_PATHS = ("<!-- exit-paths:start -->", "<!-- exit-paths:end -->")


def exit_path_table() -> str:
    """docs/reports.md's table of exit paths: every case above, as the tests assert it."""
    rows = ["| case | options and environment | exit | verdict | the output says |", "|---|---|---|---|---|"]
    for name, case in {**CASES, **{f"interrupted-by-{n.lower()}": c for n, c in INTERRUPTS.items()}}.items():
        setup = " ".join([f"`{' '.join(case.args)}`"] if case.args else [])
        if "LOGIN_PASSWORD" not in case.env:
            setup = f"{setup} no `$LOGIN_PASSWORD`".strip()
        if case in INTERRUPTS.values():
            setup = "the signal sent mid-run"
        rows.append(f"| `{name}` | {setup.replace('|', '&#124;')} | {case.exit} | {case.verdict} | "
                    f"`{case.says.replace('|', '&#124;')}` |")
    return "\n".join(rows) + "\n"


def test_readme_lists_every_exit_path_as_tested():
    readme = (Path(__file__).resolve().parents[1] / "docs" / "reports.md").read_text(encoding="utf-8")
    start, end = readme.index(EXIT_PATHS[0]) + len(EXIT_PATHS[0]), readme.index(EXIT_PATHS[1])
    assert readme[start:end].strip() == exit_path_table().strip(), (
        "run: python -c 'from tests.test_misbehaving_targets import exit_path_table as t; print(t())' and paste it "
        "between the exit-paths markers in docs/reports.md")
