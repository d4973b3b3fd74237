"""Running a fleet: each deployment's suite as its own process, at most ``jobs`` at once.

Each deployment's process is ``python -m contract_tests --base-url=... --report-dir=DIR/NAME --run-deadline=...``
with its own environment: the fleet's, without any credential variable (the suite's own, and every one the fleet
file names), plus that deployment's LOGIN_EMAIL / LOGIN_PASSWORD / LOGIN_CAPTCHA_TOKEN read from the variables it
names. The values go into that environment only: never onto a command line, a file or the terminal (its output and
every line the fleet writes are scrubbed of them as well). Each process keeps the suite's own budgets and safety
(request cap, failed-login budget, lockout back-off) and its own deadline: the suite stops itself at
``--run-deadline`` and reports "inconclusive" (exit 10); should it not have ended ``BACKSTOP_S`` later, the fleet
ends it (SIGTERM, then SIGKILL after ``GRACE_S``) and its report says that deadline was reached (exit 10), so one
hanging deployment holds one slot for its deadline and nothing else.

SIGINT / SIGTERM to the fleet are forwarded to every running suite process (each in its own process group: a
terminal's Ctrl-C reaches them once, from here), which stop and write their partial reports ("interrupted",
exit 2); deployments not yet started are not started and reported as interrupted.

A deployment whose run wrote no conformance.json (its credential variables are not set, its process could not
start or ended without a report) gets a stand-in one saying why (sources.stand_in), so the fleet report, and a
later ``fleet merge`` of the same directory, read only conformance.json files.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..config.options import ENV_CAPTCHA, ENV_EMAIL, ENV_PASSWORD, ENV_REFERENCE_PASSWORD
from ..judging.outcome import EXIT_COULD_NOT_TEST, EXIT_INCONCLUSIVE, EXIT_INTERRUPTED, EXIT_VIOLATIONS
from .fleet_file import Deployment
from .sources import REPORT, stand_in

BACKSTOP_S = 60.0  # after the suite's own --run-deadline: start-up, the reports, the last request's timeout
GRACE_S = 15.0  # between SIGTERM and SIGKILL
OUTPUT = "output.txt"  # the suite's terminal output, per deployment
SUITE_ARTIFACTS = ("conformance.json", "conformance.md", "conformance.html")
CLEARED = (ENV_EMAIL, ENV_PASSWORD, ENV_CAPTCHA, ENV_REFERENCE_PASSWORD, "PYTEST_BASE_URL", "GITHUB_STEP_SUMMARY")


@dataclass
class Finished:
    """What the fleet saw of one deployment's process (the report says the rest)."""

    name: str
    process_exit: int | None  # None: no process was started
    duration_s: float
    deadline_reached: bool = False


class CredentialsMissing(Exception):
    pass


def suite_command(deployment: Deployment, report_dir: Path) -> list[str]:
    """The deployment's suite run (no secret on it: credentials travel in the environment)."""
    d = deployment
    args = [sys.executable, "-m", "contract_tests", f"--base-url={d.base_url}", f"--report-dir={report_dir}",
            f"--run-deadline={d.deadline:g}", f"--fail-on={d.gate}"]
    if d.waivers:
        args.append(f"--waivers={d.waivers}")
    if d.baseline:
        args.append(f"--baseline={d.baseline}")
    if d.fail_on_new:
        args.append("--fail-on-new")
    if d.without_credentials:
        args.append("--without-credentials")
    return [*args, *d.options]


def credential_names(deployments: list[Deployment]) -> set[str]:
    return {name for d in deployments if d.credentials
            for name in (d.credentials.email, d.credentials.password, d.credentials.captcha_token) if name}


def suite_environment(deployment: Deployment, environ: dict[str, str], fleet_names: set[str]) -> dict[str, str]:
    """The deployment's process environment; CredentialsMissing names the variables that are not set."""
    env = {k: v for k, v in environ.items() if k not in CLEARED and k not in fleet_names}
    env["PYTHONUNBUFFERED"] = "1"  # its output.txt follows the run as it goes
    creds = deployment.credentials
    if creds is None:
        return env
    wanted = {ENV_EMAIL: ("email", creds.email), ENV_PASSWORD: ("password", creds.password)}
    if creds.captcha_token:
        wanted[ENV_CAPTCHA] = ("captcha_token", creds.captcha_token)
    missing = [f"{var} (its {role})" for role, var in wanted.values() if not environ.get(var)]
    if missing:
        raise CredentialsMissing(f"could not test: credential variable{'s' if len(missing) > 1 else ''} not set in "
                                 f"the fleet's environment: {', '.join(missing)}")
    env.update({ours: environ[var] for ours, (_, var) in wanted.items()})
    return env


def secret_values(deployments: list[Deployment], environ: dict[str, str]) -> list[str]:
    """The passwords and captcha tokens the fleet hands out, longest first (scrubbed from what it writes)."""
    values = {environ.get(d.credentials.password) for d in deployments if d.credentials}
    values |= {environ.get(d.credentials.captcha_token) for d in deployments if d.credentials and
               d.credentials.captcha_token}
    return sorted((v for v in values if v), key=len, reverse=True)


def scrub(text: str, secrets: list[str]) -> str:
    for value in secrets:
        text = text.replace(value, "<secret>")
    return text


def scrub_document(value, secrets: list[str]):
    """*value* (a report: dicts, lists, strings) with every secret value replaced, in keys and values alike."""
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, dict):
        return {scrub_document(k, secrets): scrub_document(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_document(v, secrets) for v in value]
    return value


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat(timespec="milliseconds")


class FleetRunner:
    """Runs the deployments, ``jobs`` at a time; :meth:`run` returns what it saw of each, in file order."""

    def __init__(self, deployments: list[Deployment], report_dir: Path, *, jobs: int,
                 environ: dict[str, str] | None = None, say: Callable[[str], None] = print,
                 command: Callable[[Deployment, Path], list[str]] = suite_command,
                 backstop_s: float = BACKSTOP_S, grace_s: float = GRACE_S) -> None:
        self.deployments = deployments
        self.report_dir = Path(report_dir).resolve()
        self.jobs = max(1, jobs)
        self.environ = dict(os.environ if environ is None else environ)
        self.secrets = secret_values(deployments, self.environ)
        self._say = say
        self._command = command
        self._backstop_s = backstop_s
        self._grace_s = grace_s
        self._fleet_names = credential_names(deployments)
        self._running: set[subprocess.Popen] = set()
        self._lock = threading.Lock()
        self.interrupted_by: str | None = None

    def say(self, line: str) -> None:
        with self._lock:
            self._say(scrub(line, self.secrets))

    # ------------------------------------------------------------------------------------------ signals
    def _forward(self, signum: int, _frame=None) -> None:
        self.interrupted_by = signal.Signals(signum).name
        with self._lock:
            running = list(self._running)
        for proc in running:
            self._signal(proc, signum)

    @staticmethod
    def _signal(proc: subprocess.Popen, signum: int) -> None:
        try:
            os.killpg(proc.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def run(self) -> list[Finished]:
        handlers = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                handlers[signum] = signal.signal(signum, self._forward)
        try:
            with ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="fleet") as pool:
                futures = [pool.submit(self._one, d) for d in self.deployments]
                pending = set(futures)
                while pending:  # a short wait at a time: the main thread stays free to take a signal
                    _, pending = wait(pending, timeout=0.5)
            return [f.result() for f in futures]
        finally:
            for signum, handler in handlers.items():
                signal.signal(signum, handler)

    # ------------------------------------------------------------------------------------ one deployment
    def _one(self, d: Deployment) -> Finished:
        where = self.report_dir / d.name
        where.mkdir(parents=True, exist_ok=True)
        for stale in (*SUITE_ARTIFACTS, OUTPUT):  # a previous run's report must not stand for this one
            (where / stale).unlink(missing_ok=True)
        if self.interrupted_by:
            return self._not_run(d, where, "interrupted", EXIT_INTERRUPTED,
                                 f"the fleet was interrupted ({self.interrupted_by}) before this deployment's run started")
        try:
            env = suite_environment(d, self.environ, self._fleet_names)
        except CredentialsMissing as exc:
            return self._not_run(d, where, "could-not-test", EXIT_COULD_NOT_TEST, str(exc))
        started = time.time()
        clock = time.monotonic()
        with open(where / OUTPUT, "wb") as out:
            try:
                proc = subprocess.Popen(self._command(d, where), stdout=out, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, env=env, cwd=where, start_new_session=True)
            except OSError as exc:
                return self._not_run(d, where, "could-not-test", EXIT_COULD_NOT_TEST,
                                     f"could not test: its suite process could not start ({exc.strerror or exc})")
            with self._lock:
                self._running.add(proc)
            if self.interrupted_by:  # the signal came while it was starting: it gets it too
                self._signal(proc, getattr(signal, self.interrupted_by))
            try:
                deadline_reached = self._wait(proc, d.deadline + self._backstop_s)
            finally:
                with self._lock:
                    self._running.discard(proc)
        duration = time.monotonic() - clock
        self._scrub_output(where / OUTPUT)
        finished = Finished(d.name, proc.returncode, round(duration, 3), deadline_reached)
        timing = {"gate": d.gate, "started": _iso(started), "finished": _iso(started + duration),
                  "duration_s": round(duration, 3)}
        if deadline_reached:
            self._deadline_report(d, where, timing)
        elif not (where / REPORT).is_file():
            self._no_report(d, where, proc.returncode, timing)
        self._announce(d.name, where, duration)
        return finished

    def _wait(self, proc: subprocess.Popen, limit: float) -> bool:
        """Wait for *proc* up to *limit* seconds; past it, end it. True: the limit was reached."""
        try:
            proc.wait(timeout=limit)
            return False
        except subprocess.TimeoutExpired:
            pass
        for signum, patience in ((signal.SIGTERM, self._grace_s), (signal.SIGKILL, None)):
            self._signal(proc, signum)
            try:
                proc.wait(timeout=patience)
                break
            except subprocess.TimeoutExpired:
                continue
        return True

    def _not_run(self, d: Deployment, where: Path, verdict: str, code: int, reason: str) -> Finished:
        self._write(where, stand_in(d.base_url, verdict, code, reason, gate=d.gate))
        self._announce(d.name, where, 0.0)
        return Finished(d.name, None, 0.0)

    def _deadline_report(self, d: Deployment, where: Path, timing: dict) -> None:
        """The fleet ended the process at its deadline: inconclusive (exit 10), its partial report kept."""
        reason = (f"the run did not end by its deadline ({d.deadline:g} s, --run-deadline, and {self._backstop_s:g} s "
                  "more): the fleet ended it")
        report = self._read(where)
        if report is None:
            report = stand_in(d.base_url, "inconclusive", EXIT_INCONCLUSIVE, reason, **timing)
        else:
            run = report["run"]
            run.update(exit_status=EXIT_INCONCLUSIVE, verdict="inconclusive", stopped=reason,
                       verdict_reasons=[reason, *(run.get("verdict_reasons") or [])])
        self._write(where, report)

    def _no_report(self, d: Deployment, where: Path, code: int, timing: dict) -> None:
        last = self._last_line(where / OUTPUT)
        said = f"; its last line: {last}" if last else ""
        if self.interrupted_by:
            verdict, status = "interrupted", EXIT_INTERRUPTED
            reason = f"interrupted ({self.interrupted_by}) and its run wrote no report{said}"
        elif code == EXIT_COULD_NOT_TEST:
            verdict, status = "could-not-test", EXIT_COULD_NOT_TEST
            reason = f"could not test: its run ended with exit 4 and wrote no report{said}"
        else:
            verdict, status = "error", EXIT_VIOLATIONS
            reason = f"its run ended with exit {code} and wrote no report (an error of the suite){said}"
        self._write(where, stand_in(d.base_url, verdict, status, reason, **timing))

    @staticmethod
    def _read(where: Path) -> dict | None:
        try:
            report = json.loads((where / REPORT).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return report if isinstance(report, dict) and isinstance(report.get("run"), dict) else None

    def _write(self, where: Path, report: dict) -> None:
        """conformance.json (and, for a full report, its .md and .html again, from the same document)."""
        from ..report.json_report import write_json

        report = scrub_document(report, self.secrets)
        write_json(where / REPORT, report)
        if report.get("requirements"):
            from ..report.html import write_html
            from ..report.markdown import write_markdown

            write_markdown(where / "conformance.md", report)
            write_html(where / "conformance.html", report)
        else:
            for stale in SUITE_ARTIFACTS[1:]:
                (where / stale).unlink(missing_ok=True)

    def _scrub_output(self, path: Path) -> None:
        if not self.secrets:
            return
        text = path.read_bytes().decode("utf-8", "replace")
        cleaned = scrub(text, self.secrets)
        if cleaned != text:
            path.write_text(cleaned, encoding="utf-8")

    @staticmethod
    def _last_line(path: Path) -> str:
        try:
            lines = [ln.strip() for ln in path.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
        except OSError:
            return ""
        return lines[-1][:200] if lines else ""

    def _announce(self, name: str, where: Path, duration: float) -> None:
        report = self._read(where) or {}
        run = report.get("run") or {}
        from .fleet_report import deployment_reason

        reason = deployment_reason(run)
        self.say(f"  {name}: {str(run.get('verdict', '?')).upper()} (exit {run.get('exit_status')}, "
                 f"{duration:.1f} s){': ' + reason if reason else ''}")
