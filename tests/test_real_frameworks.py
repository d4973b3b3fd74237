"""The suite judges real login services it was not shaped by: one contract-suite run per stack of
tests/real_frameworks/ (FastAPI, Litestar, Falcon, Flask, Django, Express, Fastify, hapi, Koa, NestJS, Go net/http,
Rails, Sinatra, plain PHP, an nginx TLS edge -- each written idiomatically with its framework's defaults, installed from its committed dependency files by
tests/real_frameworks/runner.py and started on a free loopback port), at ``--in-flight 1`` and at the default,
compared requirement by requirement with the stack's
expectations.yaml (the stack-variant mechanism: tests/stack_table.py, tests/test_stack_variants.py).

- Each (stack, requirement) is its own case: both runs must give the expected verdict. Where today's suite is known
  to disagree, the expectation's `today` + `fixed_by` make the case a strict xfail that names the judging fix it waits
  for; it XPASSes (fails) once that fix lands.
- Per stack: no undecided (inconclusive / blocked) in-scope MUST, and the same verdicts at both settings.
- An https stack (the nginx edge) names the CA of its certificate; the lanes get it as SSL_CERT_FILE, as a user behind
  a private CA would give it.
- Only the stacks whose cases are selected are started (``-k nginx`` runs the edge and its upstream alone).
- Toolchains: node/npm, go (Debian's golang-go), nginx (Debian's nginx-light), Ruby with Rails 6.1 and Sinatra 3
  (Debian's ruby-rails, ruby-sinatra, ruby-bcrypt, ruby-jwt, puma) and PHP 8.2 (Debian's php-cli) come from .ci/run. A missing one fails the lane when $CI is set
  and skips its stacks with the reason otherwise.

The two settings run in two processes at once (tests/selftest_lane.py), against one server per stack (the services
keep no state between requests: no lockout; the edge's rate limit, which both lanes meet, is backed off from and
changes no verdict). The table "stack x requirement" is written to
``reports/selftest/real_frameworks.md``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from real_frameworks import runner
from real_frameworks.runner import (DEMO_EMAIL, DEMO_PASSWORD, STACKS, InstallFailed, StartFailed, ToolchainMissing,
                                    check_toolchain, install, serve)
from stack_table import findings, load_expectations, read_verdicts, stack_table
from test_faults import LANE_SCRIPT, RUN_TIMEOUT, SUITE, _clean_environ
from test_stack_variants import KnownDisagreement

from contract_tests.contract.catalog import load_catalog

CATALOG = load_catalog()
LEVELS = {rid: req.level for rid, req in CATALOG.items()}
SETTINGS = {"in-flight-1": ["--in-flight=1"], "default": []}
UNDECIDED = ("inconclusive", "blocked")


def _expectations() -> dict:
    table = {}
    for name, stack in STACKS.items():
        table |= load_expectations([name], list(CATALOG), stack.folder / "expectations.yaml")
    return table


EXPECTED = _expectations()


# --------------------------------------------------------------------------------------------------- the runs
def toolchain_verdict(reason: str, environ: dict[str, str] | None = None) -> tuple[str, str]:
    """("fail" | "skip", message) for a missing toolchain: CI must not go green without the lane."""
    env = os.environ if environ is None else environ
    if env.get("CI"):
        return "fail", f"toolchain missing in CI (.ci/run installs it): {reason}"
    return "skip", f"toolchain missing, stack not run (CI would fail): {reason}"


@dataclass
class FrameworkRun:
    stack: str
    setting: str
    exit_code: int | None = None
    verdicts: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    requests: int | None = None
    seconds: float = 0.0
    problem: str | None = None


class FrameworkRuns:
    """Installs and starts every stack, then runs the suite against them in one lane per setting."""

    def __init__(self, base: Path, stacks: list[str] | None = None) -> None:
        self.base = base
        self.stacks = {name: STACKS[name] for name in stacks or STACKS}
        self.ca_files: list[str] = []  # CAs of the https stacks' certificates
        self.missing: dict[str, str] = {}  # stack -> toolchain reason
        self.broken: dict[str, str] = {}  # stack -> install / start problem
        self.runs: dict[tuple[str, str], FrameworkRun] = {}
        self.install_seconds = 0.0
        self.wall = 0.0

    def run(self) -> None:
        started = time.perf_counter()
        ready = []
        for name, stack in self.stacks.items():
            try:
                install(stack)
                ready.append(name)
            except ToolchainMissing as exc:
                self.missing[name] = str(exc)
            except InstallFailed as exc:
                self.broken[name] = f"install failed: {exc}"
        self.install_seconds = time.perf_counter() - started
        with ExitStack() as services:
            urls = {}
            for name in ready:
                try:
                    service = services.enter_context(serve(STACKS[name], self.base))
                    urls[name] = service.url
                    self.ca_files += [str(service.ca_file)] if service.ca_file else []
                except StartFailed as exc:
                    self.broken[name] = str(exc)
            self._run_lanes(urls)
        self.wall = time.perf_counter() - started

    def _run_lanes(self, urls: dict[str, str]) -> None:
        if not urls:
            return
        env = _clean_environ() | {"LOGIN_EMAIL": DEMO_EMAIL, "LOGIN_PASSWORD": DEMO_PASSWORD}
        if self.ca_files:
            bundle = self.base / "ca-bundle.pem"
            bundle.write_text("".join(Path(ca).read_text() for ca in self.ca_files))
            env["SSL_CERT_FILE"] = str(bundle)
        lanes = []
        for index, (setting, options) in enumerate(SETTINGS.items()):
            order = list(urls) if index % 2 == 0 else list(reversed(urls))  # the lanes meet a stack at different times
            cases = [[setting, name, [f"--base-url={urls[name]}", *options]] for name in order]
            log = self.base / f"lane-{setting}.txt"
            with open(log, "w", encoding="utf-8") as out:
                proc = subprocess.Popen([sys.executable, str(LANE_SCRIPT), str(self.base), json.dumps(cases),
                                         json.dumps(SUITE)], cwd=self.base, env=env, stdout=out,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            lanes.append((proc, log, setting))
        for proc, log, setting in lanes:
            try:
                proc.wait(RUN_TIMEOUT * len(urls))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            self._collect(log, setting, list(urls), proc.returncode)

    def _collect(self, log: Path, setting: str, stacks: list[str], returncode: int) -> None:
        done = {}
        for line in log.read_text(errors="replace").splitlines():
            parts = line.split()
            if len(parts) == 5 and parts[:2] == ["DONE", setting]:
                done[parts[2]] = (int(parts[3]), float(parts[4]))
        for name in stacks:
            run = FrameworkRun(name, setting)
            self.runs[(name, setting)] = run
            if name not in done:
                run.problem = (f"the {setting} lane exited {returncode} without running it: "
                               + log.read_text(errors="replace")[-1500:])
                continue
            run.exit_code, run.seconds = done[name]
            workdir = self.base / f"{setting}-{name}"
            if not (workdir / "out" / "conformance.json").exists():
                run.problem = (f"no conformance.json (exit {run.exit_code}); output: "
                               + (workdir / "output.txt").read_text(errors="replace")[-1500:])
                continue
            run.verdicts, run.reasons, section = read_verdicts(workdir / "out")
            run.requests = section.get("requests")
            if section.get("could_not_test"):
                run.problem = f"could not test: {section['could_not_test']}"

    def get(self, stack: str, setting: str) -> FrameworkRun:
        if stack in self.missing:
            verdict, message = toolchain_verdict(self.missing[stack])
            (pytest.fail if verdict == "fail" else pytest.skip)(f"{stack}: {message}")
        if stack in self.broken:
            pytest.fail(f"{stack}: {self.broken[stack]}")
        run = self.runs[(stack, setting)]
        assert run.problem is None, f"{stack} at {setting}: {run.problem}"
        return run

    # ------------------------------------------------------------------------------------------- the table
    def totals(self) -> list[str]:
        runs = list(self.runs.values())
        lines = [f"- {len(runs)} suite runs, {sum(r.requests or 0 for r in runs)} requests; install/cache check "
                 f"{self.install_seconds:.1f} s; {self.wall:.1f} s wall for the lane"]
        for setting in SETTINGS:
            mine = [r for r in runs if r.setting == setting]
            if mine:
                lines.append(f"- {setting}: " + ", ".join(f"{r.stack} {r.seconds:.1f} s" for r in mine))
        lines += [f"- {name}: not run ({reason})" for name, reason in {**self.missing, **self.broken}.items()]
        return lines

    def markdown(self) -> str:
        ran = {key: e for key, e in EXPECTED.items() if (key[0], "default") in self.runs}
        actual = {name: run.verdicts for (name, setting), run in self.runs.items() if setting == "default"}
        return (stack_table(ran, LEVELS, actual) + "\n" + "\n".join(self.totals()) + "\n\nExpected findings:\n\n"
                + "\n".join(findings(ran)) + "\n")

    def write(self, rootdir: Path) -> Path | None:
        if not self.runs:
            return None
        target = rootdir / "reports" / "selftest" / "real_frameworks.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("# Real-framework self-test: stack x requirement (default --in-flight)\n\nGenerated by "
                          "`python -m pytest tests/test_real_frameworks.py`.\n\n" + self.markdown(), encoding="utf-8")
        return target

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.runs and not self.missing and not self.broken:
            return
        tr = terminalreporter
        tr.write_sep("=", "real frameworks: verdicts found vs expected")
        for (name, setting), run in self.runs.items():
            off = [f"{rid} {run.verdicts.get(rid)} (expected {e.expect}"
                   + (f"; known until: {e.fixed_by}" if e.today == run.verdicts.get(rid) else "") + ")"
                   for (stack, rid), e in EXPECTED.items() if stack == name and run.verdicts.get(rid) != e.expect]
            unknown = [o for o in off if "known until" not in o]
            tr.write_line(f"{name:<11} {setting:<12} exit {run.exit_code} {run.seconds:5.1f} s  "
                          + (run.problem or ("; ".join(off) if off else "all as expected")),
                          red=bool(run.problem or unknown))
        for line in self.totals():
            tr.write_line(line)
        if getattr(self, "path", None):
            tr.write_line(f"table: {self.path}")


@pytest.fixture(scope="module")
def framework_runs(request, tmp_path_factory):
    selected = {item.callspec.params["stack"] for item in request.session.items
                if getattr(item, "callspec", None) and "stack" in item.callspec.params}
    runs = FrameworkRuns(tmp_path_factory.mktemp("real-frameworks"), [s for s in STACKS if s in selected])
    request.config.pluginmanager.register(runs, f"hyper3d-real-frameworks-{id(runs)}")
    runs.run()
    yield runs
    runs.path = runs.write(request.config.rootpath)


# --------------------------------------------------------------------------------------------------- the cases
def _case(stack: str, rid: str):
    expectation = EXPECTED[(stack, rid)]
    marks = []
    if expectation.today:
        marks.append(pytest.mark.xfail(strict=True, raises=KnownDisagreement,
                                       reason=f"waits for: {expectation.fixed_by} (today: {expectation.today})"))
    return pytest.param(stack, rid, marks=marks, id=f"{stack}:{rid}")


@pytest.mark.parametrize(("stack", "requirement"), [_case(s, rid) for s in STACKS for rid in CATALOG])
def test_verdict_matches_expectation(stack, requirement, framework_runs):
    """The suite's verdict on one requirement for one real stack is the expected one, at both settings."""
    expectation = EXPECTED[(stack, requirement)]
    found = {setting: framework_runs.get(stack, setting).verdicts.get(requirement, "(no verdict)")
             for setting in SETTINGS}
    reasons = {setting: framework_runs.get(stack, setting).reasons.get(requirement, "")[:300] for setting in SETTINGS}
    detail = (f"{stack} {requirement}: expected {expectation.expect} ({expectation.why}); found "
              + "; ".join(f"{setting} {found[setting]}: {reasons[setting]}" for setting in SETTINGS))
    if expectation.today and all(verdict == expectation.today for verdict in found.values()):
        raise KnownDisagreement(f"expected mismatch until '{expectation.fixed_by}' lands -- {detail}")
    assert all(verdict == expectation.expect for verdict in found.values()), detail


def _known_undecided(stack: str) -> list[str]:
    return [rid for (s, rid), e in EXPECTED.items()
            if s == stack and LEVELS[rid] == "MUST" and e.today in UNDECIDED]


def _undecided_case(stack: str):
    known = _known_undecided(stack)
    marks = [pytest.mark.xfail(strict=True, raises=KnownDisagreement,
                               reason=f"known undecided MUST today: {', '.join(known)}")] if known else []
    return pytest.param(stack, marks=marks, id=stack)


@pytest.mark.parametrize("stack", [_undecided_case(s) for s in STACKS])
def test_no_undecided_in_scope_must(stack, framework_runs):
    """Every in-scope MUST is decided (an undecided MUST makes the run exit 10 without a finding)."""
    undecided = {}
    for setting in SETTINGS:
        run = framework_runs.get(stack, setting)
        for rid, verdict in run.verdicts.items():
            if LEVELS.get(rid) == "MUST" and not CATALOG[rid].opt_in and verdict in UNDECIDED:
                undecided[f"{rid} at {setting}"] = f"{verdict}: {run.reasons.get(rid, '')[:200]}"
    known = _known_undecided(stack)
    if undecided and all(key.split()[0] in known for key in undecided):
        raise KnownDisagreement(f"{stack}: undecided MUST {undecided}")
    assert not undecided, f"{stack}: undecided in-scope MUST {undecided}"


@pytest.mark.parametrize("stack", list(STACKS))
def test_same_verdicts_in_flight_1_and_default(stack, framework_runs):
    """Requests in flight change nothing the suite says about a stateless server."""
    one, default = (framework_runs.get(stack, setting).verdicts for setting in SETTINGS)
    differ = {rid: (one.get(rid), default.get(rid)) for rid in CATALOG if one.get(rid) != default.get(rid)}
    assert not differ, f"{stack}: verdicts (--in-flight 1, default) differ: {differ}"


# --------------------------------------------------------------------------------------------------- the files
def test_expectations_cover_every_stack_and_requirement():
    """Each stack has its expectations file; every non-pass says why; no MUST is expected to stay undecided."""
    assert len(STACKS) >= 5 and len({s.language for s in STACKS.values()}) >= 3
    assert len(EXPECTED) == len(STACKS) * len(CATALOG)
    for (_stack, rid), expectation in EXPECTED.items():
        if expectation.expect != "passed" or expectation.today:
            assert len(expectation.why) > 20, expectation  # a sentence, not a label
        if LEVELS[rid] == "MUST" and not CATALOG[rid].opt_in:
            assert expectation.expect not in UNDECIDED, expectation


def test_a_missing_toolchain_fails_in_ci_and_skips_elsewhere():
    assert toolchain_verdict("`go` not found", {"CI": "true"})[0] == "fail"
    verdict, message = toolchain_verdict("`go` not found", {})
    assert verdict == "skip" and "`go` not found" in message


def test_the_ruby_toolchain_check_says_what_is_missing(monkeypatch, tmp_path):
    """Rails comes from Debian's packages: without ruby, or with a ruby that cannot load Rails, the stack is not run
    and the reason names the packages (and the load error)."""
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolchainMissing, match="`ruby` not found.*ruby-rails ruby-bcrypt ruby-jwt puma"):
        check_toolchain(STACKS["rails"])
    for tool, script in {"puma": "exit 0", "ruby": "echo \"-e:1:in 'require': cannot load such file -- "
                                                   "action_controller/railtie (LoadError)\" >&2\n"
                                                   "echo \"\tfrom -e:1:in '<main>'\" >&2\nexit 1"}.items():
        (tmp_path / tool).write_text(f"#!/bin/sh\n{script}\n")
        (tmp_path / tool).chmod(0o755)
    with pytest.raises(ToolchainMissing, match="cannot load such file -- action_controller/railtie.*ruby-rails"):
        check_toolchain(STACKS["rails"])


def test_the_sinatra_toolchain_check_names_its_own_packages(monkeypatch, tmp_path):
    """Sinatra comes from Debian's ruby-sinatra: a ruby that cannot load it names that package, and a ruby with
    another major version of Sinatra than the stack is written for is not taken for it."""
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolchainMissing, match="`ruby` not found.*ruby-sinatra ruby-bcrypt ruby-jwt puma"):
        check_toolchain(STACKS["sinatra"])
    (tmp_path / "puma").write_text("#!/bin/sh\nexit 0\n")
    (tmp_path / "ruby").write_text("#!/bin/sh\necho \"-e:1:in 'require': cannot load such file -- sinatra/base "
                                   "(LoadError)\" >&2\nexit 1\n")
    for tool in ("puma", "ruby"):
        (tmp_path / tool).chmod(0o755)
    with pytest.raises(ToolchainMissing, match="cannot load Sinatra 3.*sinatra/base.*ruby-sinatra"):
        check_toolchain(STACKS["sinatra"])
    (tmp_path / "ruby").write_text("#!/bin/sh\nprintf 2\n")
    with pytest.raises(ToolchainMissing, match=r"cannot load Sinatra 3, bcrypt and jwt \(Sinatra 2\)"):
        check_toolchain(STACKS["sinatra"])


def test_the_php_toolchain_check_says_what_is_missing(monkeypatch, tmp_path):
    """PHP comes from Debian's php-cli: without php, or with a php older than 8.2, the stack is not run and the reason
    names the package."""
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolchainMissing, match="`php` not found.*php-cli"):
        check_toolchain(STACKS["php"])
    (tmp_path / "php").write_text("#!/bin/sh\necho 7.4\n")
    (tmp_path / "php").chmod(0o755)
    with pytest.raises(ToolchainMissing, match="php 7.4 is older than 8.2.*php-cli"):
        check_toolchain(STACKS["php"])


def test_stacks_pin_their_dependencies():
    """Installs are reproducible: Python pins every requirement, Node installs from a committed lock, Go needs no module,
    Ruby and PHP use Debian's packages alone."""
    for stack in STACKS.values():
        if stack.language == "python":
            lines = [ln for ln in (stack.folder / "requirements.txt").read_text().splitlines()
                     if ln.strip() and not ln.startswith("#")]
            assert lines and all("==" in ln for ln in lines), stack.name
        elif stack.language == "node":
            lock = json.loads((stack.folder / "package-lock.json").read_text())
            package = json.loads((stack.folder / "package.json").read_text())
            assert lock["packages"][""]["dependencies"] == package["dependencies"], stack.name
        elif stack.language == "go":
            assert "require" not in (stack.folder / "go.mod").read_text(), stack.name
        elif stack.language == "ruby":  # Debian's packages, pinned by the release: no bundler, no gem fetched
            source = (stack.folder / "config.ru").read_text()
            assert "bundler" not in source and "gemfile" not in source.lower(), stack.name
        elif stack.language == "php":  # Debian's php-cli, pinned by the release: no composer, nothing required
            source = (stack.folder / "router.php").read_text()
            assert not re.search(r"\b(require|include)(_once)?\s*[('\"]", source) and "vendor/" not in source, stack.name
        else:  # an edge: the system's nginx, configured by the stack's file, in front of a pinned stack
            assert stack.upstream in STACKS and "include" not in (stack.folder / "nginx.conf").read_text(), stack.name


def test_the_edge_keeps_nginx_defaults():
    """The edge is judged on nginx's documented defaults: its config sets none of the limits its expectations cite
    (body cap, error pages, upstream HTTP version, rate-limit status), and does set the rate limit and HSTS."""
    directives = [line.split("#")[0].split() for line in
                  (STACKS["nginx_tls"].folder / "nginx.conf").read_text().splitlines()]
    names = {words[0] for words in directives if words}
    assert not names & {"client_max_body_size", "error_page", "proxy_http_version", "limit_req_status", "include"}
    assert {"limit_req_zone", "limit_req", "add_header", "proxy_pass", "ssl_certificate"} <= names


def test_the_rails_stack_keeps_rails_defaults():
    """The Rails stack is judged on Rails' documented defaults: its config.ru overrides none of the behaviours its
    expectations cite (exception answers, default headers, caching, parameter parsers, body limits, host checks) and
    rescues no exception itself."""
    source = (STACKS["rails"].folder / "config.ru").read_text()
    code = "\n".join(line.split("#")[0] for line in source.splitlines())
    for setting in ("exceptions_app", "default_headers", "show_exceptions", "parameter_parsers", "hosts",
                    "force_ssl", "rescue_from", "rescue ", "Cache-Control", "expires_now", "use Rack"):
        assert setting not in code, setting
    assert 'config.load_defaults 6.1' in code and "ActionController::API" in code and "params.permit(" in code


def _code(path: Path, comment: str) -> str:
    """The source without its comments and docstring lines (what the service runs, not what it explains)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".py":
        text = text.split('"""', 2)[-1]  # after the module docstring
    return "\n".join(line.split(comment)[0] for line in text.splitlines())


def test_the_hapi_stack_keeps_hapi_defaults():
    """The hapi stack is judged on hapi's and joi's documented defaults: its route sets no failAction, payload, cache,
    security or response options and no extension point rewrites answers; joi's max counts without an encoding."""
    code = _code(STACKS["hapi"].folder / "server.js", "//")
    for setting in ("failAction", "payload: {", "cache:", "security", "onPreResponse", "ext(", "maxBytes", "allow:",
                    "defaultContentType", "notFound", "header("):
        assert setting not in code, setting
    assert "validate: { payload: loginPayload }" in code and "Joi.string().max(80)," in code
    assert re.findall(r"Boom\.unauthorized\([^)]*\)", code) == ["Boom.unauthorized('Invalid email or password')"]


def test_the_litestar_stack_keeps_litestar_defaults():
    """The Litestar stack is judged on Litestar's documented defaults: the app sets no body limit, exception handler,
    cache control, response headers or middleware, and the handler takes the body as `data` (JSON by default)."""
    code = _code(STACKS["litestar"].folder / "app.py", "#")
    for setting in ("request_max_body_size", "exception_handlers", "cache_control", "response_headers", "middleware",
                    "Body(", "media_type", "status_code=201", "debug"):
        assert setting not in code, setting
    assert "app = Litestar(route_handlers=[login])" in code and "async def login(data: LoginRequest)" in code


def test_the_koa_stack_keeps_koa_defaults():
    """The Koa stack is judged on Koa's, @koa/bodyparser's and jsonwebtoken's documented defaults: the body parser is
    used without options, no middleware sets headers, the token has no jwtid, and the username is measured with
    String#length as hand-written checks do."""
    code = _code(STACKS["koa"].folder / "server.js", "//")
    for setting in ("bodyParser({", "enableTypes", "jsonLimit", "formLimit", "jsonStrict", "ctx.set(", "set(",
                    "helmet", "jwtid", "Cache-Control", "WWW-Authenticate"):
        assert setting not in code, setting
    assert "app.use(bodyParser());" in code and "app.use(router.routes()).use(router.allowedMethods());" in code
    assert "username.length > 80" in code and "{ expiresIn: '1h' }" in code


def test_the_php_stack_keeps_php_defaults(monkeypatch, tmp_path):
    """The PHP stack is judged on PHP's documented behaviour with Debian's php.ini: the body is json_decode of
    php://input with the default depth and flags, passwords go through password_hash/password_verify, the username is
    measured with strlen, and no header beyond Content-Type (and Allow on a 405) is set; runner.py starts it with
    `php -S` and no -d overrides."""
    code = "\n".join(line for line in (STACKS["php"].folder / "router.php").read_text(encoding="utf-8").splitlines()
                     if not line.lstrip().startswith("//"))  # its comments are whole lines; php:// is code
    assert "json_decode(file_get_contents('php://input'), true)" in code
    assert "password_hash(getenv('DEMO_PASSWORD'), PASSWORD_DEFAULT)" in code and "password_verify(" in code
    assert "strlen($username) > 80" in code and "mb_strlen" not in code
    assert re.findall(r"header\('([^:]+):", code) == ["Content-Type", "Allow"]
    for setting in ("ini_set", "JSON_", "Cache-Control", "header_remove", "CONTENT_TYPE"):
        assert setting not in code, setting
    monkeypatch.setattr(runner, "_php", lambda: "php")
    (tmp_path / "users-8080.json").write_text("{}")  # a previous run's users file is not reused
    cmd, env = runner.command(STACKS["php"], tmp_path, 8080)
    assert cmd == ["php", "-S", "127.0.0.1:8080", "router.php"] and not (tmp_path / "users-8080.json").exists()
    assert env["USERS_FILE"] == str(tmp_path / "users-8080.json")


def test_the_falcon_stack_keeps_falcon_defaults():
    """The Falcon stack is judged on Falcon's documented defaults: the App takes no options (media handlers, error
    serializer, request options), no error handler or middleware is added, the body is req.get_media() checked by
    Falcon's own jsonschema validator, and only the credential failure is written by the responder; gunicorn runs with
    its defaults."""
    code = _code(STACKS["falcon"].folder / "app.py", "#")
    for setting in ("add_error_handler", "set_error_serializer", "middleware", "req_options", "resp_options",
                    "media_handlers", "cors_enable", "set_header", "append_header", "MAX_", "try:", "except"):
        assert setting not in code, setting
    assert "app = falcon.App()\n" in code and "@jsonschema.validate(LOGIN_SCHEMA)" in code
    assert "body = req.get_media()" in code and code.count("resp.status =") == 2
    cmd, _env = runner.command(STACKS["falcon"], Path("/cache"), 8080)
    assert cmd == ["/cache/venv/bin/gunicorn", "--bind", "127.0.0.1:8080", "app:app"]


def test_the_sinatra_stack_keeps_sinatra_defaults():
    """The Sinatra stack is judged on Sinatra's and Rack's documented defaults in production: no setting is changed
    (protection, exception pages, error blocks), no Rack middleware is added, no header is set beyond the JSON
    Content-Type, the body is JSON.parse of request.body.read and only its parse error is rescued; puma runs it with
    RACK_ENV=production."""
    code = "\n".join(line.split("#")[0] for line in
                     (STACKS["sinatra"].folder / "config.ru").read_text(encoding="utf-8").splitlines())
    for setting in ("set", "enable", "disable", "configure", "use", "error", "not_found", "headers", "before",
                    "after", "params", "cache_control", "expires"):
        assert not re.search(rf"^\s*{setting}\b|\b{setting}\[", code, re.MULTILINE), setting
    assert "Cache-Control" not in code and "WWW-Authenticate" not in code
    assert "JSON.parse(request.body.read)" in code and re.findall(r"rescue\b.*", code) == ["rescue JSON::ParserError"]
    assert "class LoginApp < Sinatra::Base" in code and "run LoginApp" in code and "username.length <= 80" in code
    cmd, env = runner.command(STACKS["sinatra"], Path("/cache"), 8080)
    assert cmd[1:] == ["--bind", "tcp://127.0.0.1:8080", "--environment", "production", "config.ru"]
    assert env["RACK_ENV"] == env["APP_ENV"] == "production" and "SECRET_KEY_BASE" not in env
