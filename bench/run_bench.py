#!/usr/bin/env python3
"""Benchmark of the contract suite, run by hand -- not a test:

    .venv/bin/python bench/run_bench.py                       # prints the tables
    .venv/bin/python bench/run_bench.py --write docs/benchmark.md   # and writes them (and docs/images/latency.png) into that page

Start-up: `python -m contract_tests --collect-only -q` (the installed suite: in this environment, and alone in a
fresh one holding only `pip install .`, as a deployment's CI installs it) and `python -m pytest --collect-only -q`
(a checkout), each with PYTHONDONTWRITEBYTECODE=1 and no assertion-rewritten module cached (as on a fresh CI
container), and with bytecode cached.

Latency: one conforming server process (the bundled reference app) with 0, 20, 50, 100 ms added to every
request (an asyncio sleep in the server's ASGI wrapper, so concurrent requests wait concurrently, like a network
round trip); against it:

* the installed suite, `python -m contract_tests -q --base-url=URL` with the demo credentials, at its default
  (and sequentially, once the suite has an option for the requests in flight);
* `schemathesis run ../shared/perf/login.benchmark.openapi.json --url URL` with its default settings (the
  comparison ../shared/perf/README.md defines; `--schemathesis-spec` names another copy of that file);
* the checkout's `python -m pytest --base-url=URL` (both ways of starting the suite count);
* the floor: exactly the requests the suite sent (recorded at the server) replayed back-to-back by a bare
  `httpx.Client` loop on one keep-alive connection.

Per target (`--targets reference,slow`): the default run with the bundled server in-process, the suite
against a server process and its floor, with and without fuzzing, pytest start-up and schemathesis on the vendor
document, with and without `--continue-on-failure`.

Requests are counted at the server (an ASGI wrapper in the server process). Each measurement is repeated
`--repeat` times, alternating the setups (median reported); the 1-minute load average is noted at the start of
every run. The external server runs in its own process, bound with the reference's `bind_socket()` (TCP_NODELAY).
The plot needs matplotlib (`pip install -e ".[bench]"`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "spec" / "login.openapi.json"
# the Schemathesis side of every suite / Schemathesis ratio (../shared/perf/README.md defines the comparison)
BENCHMARK_SPEC = ROOT.parent / "shared" / "perf" / "login.benchmark.openapi.json"
CLEAN_ENV = ("LOGIN_EMAIL", "LOGIN_PASSWORD", "LOGIN_CAPTCHA_TOKEN", "PYTEST_BASE_URL", "PYTEST_ADDOPTS",
             "LOGIN_THROWAWAY_EMAIL", "LOGIN_THROWAWAY_PASSWORD", "HYPER3D_REFERENCE_PASSWORD")


# ------------------------------------------------------------------------------------------- server process
def _serve(variant: str | None, ready: mp.Queue, counter, recording, record_path: str, delay) -> None:
    """Child process: the reference app behind a counting (and, on demand, recording and delaying) ASGI wrapper."""
    import asyncio

    import uvicorn

    from contract_tests.reference import create_app
    from contract_tests.reference.server import bind_socket, socket_url, uvicorn_config

    app = create_app(variant=variant)
    log = open(record_path, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the process

    async def counting(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        with counter.get_lock():
            counter.value += 1
        if delay.value:  # the added latency: one round trip's worth before the app sees the request
            await asyncio.sleep(delay.value)
        if not recording.value:
            return await app(scope, receive, send)
        chunks: list[bytes] = []

        async def recorded_receive():
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
            return message

        try:
            return await app(scope, recorded_receive, send)
        finally:
            log.write(json.dumps({
                "method": scope["method"],
                "path": scope["path"],
                "query": scope["query_string"].decode("latin-1"),
                "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]],
                "body": b"".join(chunks).decode("latin-1"),
            }) + "\n")
            log.flush()

    sock = bind_socket("127.0.0.1", 0)
    ready.put(socket_url(sock))
    uvicorn.Server(uvicorn_config(counting)).run(sockets=[sock])


class ServerProcess:
    def __init__(self, variant: str | None, workdir: Path) -> None:
        ctx = mp.get_context("spawn")
        self.counter = ctx.Value("q", 0)
        self.recording = ctx.Value("b", 0)
        self.delay = ctx.Value("d", 0.0)  # seconds added to every request (the latency dimension)
        self.record_path = workdir / f"requests-{variant or 'reference'}.jsonl"
        ready = ctx.Queue()
        self.proc = ctx.Process(target=_serve, args=(variant, ready, self.counter, self.recording,
                                                     str(self.record_path), self.delay), daemon=True)
        self.proc.start()
        self.url = ready.get(timeout=60)

    def count(self) -> int:
        return self.counter.value

    def set_latency(self, ms: float) -> None:
        self.delay.value = ms / 1000.0

    def record(self, on: bool) -> None:
        if on:
            self.record_path.write_text("", encoding="utf-8")
        self.recording.value = 1 if on else 0

    def recorded(self) -> list[dict]:
        return [json.loads(line) for line in self.record_path.read_text(encoding="utf-8").splitlines() if line]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.join(10)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()


# ------------------------------------------------------------------------------------------- measurements
@dataclass
class Measure:
    label: str
    walls: list[float] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)
    inner: list[float] = field(default_factory=list)  # pytest's own session time (conformance.json duration_s)
    loads: list[float] = field(default_factory=list)  # 1-minute load average when each run started
    note: str = ""

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def count(self) -> int:
        return int(statistics.median(self.requests)) if self.requests else 0

    @property
    def rps(self) -> float:
        return self.count / self.wall if self.wall else 0.0


KEEP_ENV = False  # --keep-env: measure with PYTHONDONTWRITEBYTECODE as set in this environment


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    if not KEEP_ENV:
        # with it set, pytest cannot cache its assertion-rewritten plugin modules and recompiles them (about 3 s)
        # on every start; a user's environment normally does not set it
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(extra or {})
    return env


def _timed(cmd: list[str], *, cwd: Path, env: dict[str, str], m: Measure | None = None,
           ) -> tuple[float, subprocess.CompletedProcess]:
    if m is not None:
        m.loads.append(os.getloadavg()[0])
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started, done


SUITE_ARGS: list[str] = []  # --suite-args: added to every suite run


def pytest_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, *SUITE_ARGS]


def run_default(variant: str | None, m: Measure, workdir: Path) -> None:
    """README's first command: `pytest` alone (bundled server started in-process by the plugin)."""
    out = workdir / "default-report"
    shutil.rmtree(out, ignore_errors=True)
    args = [f"--report-dir={out}"] + ([f"--reference-variant={variant}"] if variant else [])
    wall, done = _timed(pytest_cmd(*args), cwd=ROOT, env=_env(), m=m)
    _check(done, "default run")
    report = json.loads((out / "conformance.json").read_text())
    m.walls.append(wall)
    m.requests.append(report["run"]["requests"])
    m.inner.append(report["run"]["duration_s"])


def tool_cmd(*args: str) -> list[str]:
    """The installed suite as CI runs it (`hyper3d-login-conformance`: contract_tests/suite.ini, not the checkout's)."""
    return [sys.executable, "-m", "contract_tests", "-q", *args, *SUITE_ARGS]


def run_suite_external(server: ServerProcess, m: Measure, workdir: Path, record: bool, *extra: str,
                       tool: bool = False) -> None:
    from contract_tests.reference import DEMO_EMAIL, DEMO_PASSWORD

    out = workdir / "external-report"
    shutil.rmtree(out, ignore_errors=True)
    before = server.count()
    server.record(record)
    cmd = (tool_cmd if tool else pytest_cmd)(f"--base-url={server.url}", f"--report-dir={out}", *extra)
    wall, done = _timed(cmd, cwd=workdir if tool else ROOT, m=m,
                        env=_env({"LOGIN_EMAIL": DEMO_EMAIL, "LOGIN_PASSWORD": DEMO_PASSWORD}))
    server.record(False)
    _check(done, "suite --base-url run")
    report = json.loads((out / "conformance.json").read_text())
    m.walls.append(wall)
    m.requests.append(server.count() - before)
    m.inner.append(report["run"]["duration_s"])


def run_startup(m: Measure) -> None:
    wall, done = _timed(pytest_cmd("--collect-only"), cwd=ROOT, env=_env(), m=m)
    _check(done, "pytest --collect-only")
    m.walls.append(wall)


def run_floor(server: ServerProcess, recorded: list[dict], m: Measure) -> None:
    """The recorded requests, replayed back-to-back by a bare httpx loop (one keep-alive connection)."""
    import httpx

    skip = {"host", "content-length", "connection", "accept-encoding", "transfer-encoding"}
    prepared = []
    for r in recorded:
        url = server.url + r["path"] + (f"?{r['query']}" if r["query"] else "")
        headers = [(k, v) for k, v in r["headers"] if k.lower() not in skip]
        body = r["body"].encode("latin-1")
        declared = next((v for k, v in r["headers"] if k.lower() == "content-length"), "")
        if declared.isdigit() and int(declared) > len(body):  # refused unread (413): send as many bytes again
            body += b"a" * (int(declared) - len(body))
        prepared.append((r["method"], url, headers, body))
    before = server.count()
    m.loads.append(os.getloadavg()[0])
    with httpx.Client(timeout=30) as client:
        started = time.perf_counter()
        for method, url, headers, body in prepared:
            client.request(method, url, headers=headers, content=body or None)
        wall = time.perf_counter() - started
    m.walls.append(wall)
    m.requests.append(server.count() - before)


def run_schemathesis(server: ServerProcess, m: Measure, workdir: Path, *extra: str, spec: Path = SPEC) -> None:
    exe = Path(sys.executable).with_name("schemathesis")
    cmd = [str(exe) if exe.exists() else "schemathesis", "run", str(spec), "--url", server.url, *extra]
    cwd = workdir / "schemathesis"
    cwd.mkdir(exist_ok=True)  # no schemathesis.toml here: default settings
    before = server.count()
    wall, done = _timed(cmd, cwd=cwd, env=_env(), m=m)
    if done.returncode not in (0, 1):
        raise SystemExit(f"schemathesis failed to run (exit {done.returncode}):\n{done.stdout.decode()[-2000:]}")
    m.walls.append(wall)
    m.requests.append(server.count() - before)
    m.note = "exit 1 (it reports findings)" if done.returncode else "exit 0"


def _check(done: subprocess.CompletedProcess, what: str) -> None:
    if done.returncode not in (0, 1):
        raise SystemExit(f"{what} exited {done.returncode}:\n{done.stdout.decode(errors='replace')[-3000:]}")


# ------------------------------------------------------------------------------------------- report
def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = ", ".join(f"{p} {_version(p)}" for p in ("pytest", "httpx", "schemathesis", "uvicorn", "starlette"))
    return (f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} CPUs; "
            f"{platform.python_implementation()} {platform.python_version()}; {versions}")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def _load() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


LOAD = ["?"]


def table(results: dict[str, dict[str, Measure]], repeat: int) -> str:
    lines = [
        "| target | what | wall s | requests | req/s | note |",
        "|---|---|---:|---:|---:|---|",
    ]
    for target, ms in results.items():
        for key in ("default", "suite", "floor", "suite-nofuzz", "floor-nofuzz", "startup", "schemathesis",
                    "schemathesis-all"):
            m = ms.get(key)
            if m is None or not m.walls:
                continue
            count = f"{m.count}" if m.requests else "-"
            rps = f"{m.rps:.0f}" if m.requests else "-"
            note = m.note
            if m.inner:
                note = (note + "; " if note else "") + f"pytest session {statistics.median(m.inner):.2f} s"
            lines.append(f"| {target} | {m.label} | {m.wall:.2f} | {count} | {rps} | {note} |")
    lines += ["", "| target | suite / schemathesis (default) | suite / floor | suite session / floor "
                  "| suite <= 1.5 x floor + start-up? |", "|---|---:|---:|---:|---|"]
    for target, ms in results.items():
        for suffix, what in (("", ""), ("-nofuzz", " (fuzzing off)")):
            suite, floor, startup, st = ms["suite" + suffix], ms["floor" + suffix], ms["startup"], ms.get("schemathesis")
            if not suite.walls or not floor.walls:
                continue
            budget = 1.5 * floor.wall + startup.wall
            ok = "yes" if suite.wall <= budget else "NO"
            ratio_st = f"{suite.wall / st.wall:.2f}" if st and st.walls else "-"
            inner = statistics.median(suite.inner) if suite.inner else float("nan")
            lines.append(f"| {target}{what} | {ratio_st} | {suite.wall / floor.wall:.1f} | {inner / floor.wall:.2f} "
                         f"| {ok}: {suite.wall:.2f} s vs 1.5 x {floor.wall:.2f} + {startup.wall:.2f} = {budget:.2f} s |")
    return "\n".join(lines) + "\n"


def write_doc(path: Path, text: str) -> None:
    begin, end = "<!-- benchmark:begin (generated by bench/run_bench.py) -->", "<!-- benchmark:end -->"
    body = path.read_text(encoding="utf-8") if path.exists() else f"# Benchmark\n\n{begin}\n{end}\n"
    head, sep, rest = body.partition(begin)
    _, sep2, tail = rest.partition(end)
    if not sep or not sep2:
        raise SystemExit(f"{path}: markers {begin!r} / {end!r} not found")
    path.write_text(f"{head}{begin}\n{text}{end}{tail}", encoding="utf-8")


# ------------------------------------------------------------------------------------------------------ start-up
# ALONE: the suite as a deployment's CI installs it: `pip install .` into a fresh virtual environment, no extras (this
# checkout's environment also holds the self-tests' extras, whose imports some libraries pick up: httpcore imports
# trio, which selenium brings, whenever it is installed)
ALONE = "installed alone"
STARTUP_COMMANDS = {
    "installed suite": ["-m", "contract_tests", "--collect-only", "-q"],
    "checkout": ["-m", "pytest", "--collect-only", "-q", "-p", "no:randomly"],
    ALONE: ["-m", "contract_tests", "--collect-only", "-q"],
}


def _alone_python(workdir: Path) -> str:
    """The Python of a fresh virtual environment holding only the suite (`pip install .`, made once per run)."""
    venv = workdir / "alone-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        done = subprocess.run([str(python), "-m", "pip", "install", "-q", str(ROOT)], capture_output=True, text=True,
                              check=False)
        if done.returncode:
            raise SystemExit(f"pip install . into a fresh environment failed:\n{done.stdout}{done.stderr}")
    return str(python)


def _drop_rewrite_caches(site: Path) -> None:
    """What a fresh CI container holds with PYTHONDONTWRITEBYTECODE=1: pip's bytecode of the installed packages, but
    no assertion-rewritten modules (pytest writes them beside the sources only when it may) and none of the
    checkout's own bytecode."""
    for pyc in [*site.rglob("*-pytest-*.pyc"), *(ROOT / "contract_tests").rglob("*.pyc")]:
        pyc.unlink(missing_ok=True)


def run_startup_variant(m: Measure, what: str, bytecode: bool, workdir: Path) -> None:
    python = _alone_python(workdir) if what == ALONE else sys.executable
    cmd = [python, *STARTUP_COMMANDS[what]]
    cwd = workdir if what == ALONE else ROOT  # (not beside the checkout's contract_tests/)
    env = {k: v for k, v in _env().items() if k != "PYTHONDONTWRITEBYTECODE"}
    if bytecode:
        _timed(cmd, cwd=cwd, env=env)  # caches written by an unmeasured run first
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        _drop_rewrite_caches(Path(python).parent.parent)
    wall, done = _timed(cmd, cwd=cwd, env=env, m=m)
    _check(done, " ".join(STARTUP_COMMANDS[what]))
    m.walls.append(wall)


def startup_table(repeat: int, workdir: Path) -> str:
    ms = {(what, bytecode): Measure(f"`python {' '.join(STARTUP_COMMANDS[what])}`")
          for what in STARTUP_COMMANDS for bytecode in (False, True)}
    for _ in range(repeat):  # alternating
        for (what, bytecode), m in ms.items():
            run_startup_variant(m, what, bytecode, workdir)
    lines = ["| start-up (no request) | `PYTHONDONTWRITEBYTECODE=1`, no rewritten module cached | bytecode cached |",
             "|---|---:|---:|"]
    for what in STARTUP_COMMANDS:
        cold, warm = ms[(what, False)], ms[(what, True)]
        lines.append(f"| {what}: {cold.label} | {cold.wall:.2f} s (load {_loads(cold)}) "
                     f"| {warm.wall:.2f} s (load {_loads(warm)}) |")
    return "\n".join(lines) + "\n"


def _loads(m: Measure) -> str:
    return f"{statistics.median(m.loads):.1f}" if m.loads else "?"


# ------------------------------------------------------------------------------------------------------- latency
def _concurrency_option() -> str | None:
    """The suite's option for requests in flight, once it has one (then `=1` is the sequential run)."""
    done = subprocess.run(tool_cmd("--help"), cwd=ROOT, env=_env(), capture_output=True, text=True, check=False)
    return "--in-flight" if "--in-flight" in done.stdout else None


def _default_in_flight() -> int:
    """The suite's default of --in-flight, as its help states it (the short --help shows the defaults as
    ``--in-flight=8``; pytest's full help as ``(default: 8)``)."""
    import re

    for flag, pattern in (("--help", r"--in-flight=(\d+)"), ("--help-pytest", r"--in-flight=N\s.*?\(default: (\d+)\)")):
        done = subprocess.run(tool_cmd(flag), cwd=ROOT, env=_env(), capture_output=True, text=True, check=False)
        found = re.search(pattern, done.stdout, re.S)
        if found:
            return int(found.group(1))
    raise SystemExit("the suite's help states no default for --in-flight")


def latency_benchmark(latencies: list[int], repeat: int, workdir: Path, spec: Path | None) -> tuple[str, dict]:
    """The same conforming server (a separate process, the bundled reference app) with `latency` ms added to every
    request: the installed suite at its default and sequentially, the checkout's `python -m pytest --base-url`,
    `schemathesis run` with its defaults on *spec* (the shared benchmark document; None: not run), and the floor
    (the suite's own recorded requests replayed by a bare httpx loop)."""
    option = _concurrency_option()
    kinds = ["suite", "checkout", *(["sequential"] if option else []), *(["schemathesis"] if spec else []), "floor"]
    ms = {(kind, lat): Measure(kind) for kind in kinds for lat in latencies}
    server = ServerProcess(None, workdir)
    recorded: list[dict] | None = None
    try:
        for i in range(repeat):
            order = latencies[i % len(latencies):] + latencies[: i % len(latencies)]  # alternate the order
            for lat in order:
                server.set_latency(lat)
                for kind in kinds[i % len(kinds):] + kinds[: i % len(kinds)]:
                    m = ms[(kind, lat)]
                    if kind == "suite":
                        run_suite_external(server, m, workdir, recorded is None, tool=True)
                        if recorded is None:
                            recorded = server.recorded()
                    elif kind == "checkout":
                        run_suite_external(server, m, workdir, False)
                    elif kind == "sequential":
                        run_suite_external(server, m, workdir, False, f"{option}=1", tool=True)
                    elif kind == "schemathesis":
                        assert spec is not None
                        run_schemathesis(server, m, workdir, spec=spec)
                    elif recorded is not None:
                        run_floor(server, recorded, m)
                    else:  # the floor replays what the suite sent: measured after its first run
                        continue
                print(f"   round {i + 1}, {lat} ms: " + ", ".join(
                    f"{k} {ms[(k, lat)].walls[-1]:.2f} s" for k in kinds if ms[(k, lat)].walls), flush=True)
        chains = {}
        for lat in latencies:
            server.set_latency(lat)
            chains[lat] = run_chain(server, workdir)
    finally:
        server.stop()
    return latency_table(latencies, kinds, ms, option) + "\n".join(chain_lines(latencies, chains, ms)) + "\n", ms


def names_account(entry: dict, email: str) -> bool:
    """A HAR entry's request names the account: its address as a whole value in the body (a JSON string, a form or
    multipart value) or in the query -- not an address that merely starts with it (an injection, a look-alike)."""
    import re
    from urllib.parse import quote

    text = (entry["request"].get("postData") or {}).get("text", "") + " " + entry["request"].get("url", "")
    whole = rf"(?<![\w.+%-])(?:{re.escape(email)}|{re.escape(quote(email, safe=''))})(?![\w.'%@-])"
    return re.search(whole, text) is not None


def account_chain(har: dict, email: str) -> dict[str, float]:
    """Where a run's wall time is bound by the requests naming the account (they go one at a time: the failed-login
    budget, the refusals in a row, no success in flight with a possible failure, and the run's order, which keeps a
    lock that holds for the rest of the run after the same checks at any concurrency): how many there were, the
    time from the first request to the last answer, and the time with at least one of them in flight."""
    spans = []
    for entry in har["log"]["entries"]:
        start = dt.datetime.fromisoformat(entry["startedDateTime"]).timestamp()
        spans.append((start, start + entry["time"] / 1000.0, names_account(entry, email)))
    if not spans:
        return {"requests": 0, "account": 0, "span": 0.0, "chain": 0.0}
    chain, end = 0.0, None
    for start, stop, named in sorted(spans):
        if not named:
            continue
        if end is None or start > end:
            chain += stop - start
            end = stop
        elif stop > end:
            chain += stop - end
            end = stop
    return {"requests": len(spans), "account": sum(named for _, _, named in spans),
            "span": max(stop for _, stop, _ in spans) - min(start for start, _, _ in spans), "chain": chain}


def run_chain(server: ServerProcess, workdir: Path) -> dict[str, float]:
    """One more run of the installed suite at the server's latency, untimed, with --har: its account chain."""
    from contract_tests.reference import DEMO_EMAIL, DEMO_PASSWORD

    har = workdir / "chain.har"
    cmd = tool_cmd(f"--base-url={server.url}", f"--report-dir={workdir / 'chain-report'}", f"--har={har}")
    _, done = _timed(cmd, cwd=workdir, env=_env({"LOGIN_EMAIL": DEMO_EMAIL, "LOGIN_PASSWORD": DEMO_PASSWORD}))
    _check(done, "suite --har run")
    return account_chain(json.loads(har.read_text(encoding="utf-8")), DEMO_EMAIL)


def chain_lines(latencies: list[int], chains: dict[int, dict[str, float]], ms: dict) -> list[str]:
    """The account chain against the goal at each latency (the goal: ../shared/perf/README.md's ratio)."""
    goals = {0: 1.0, 50: 0.5, 100: 0.4}
    lines = ["", "The account's chain (one more run per latency with `--har`, untimed): the requests naming the "
                 "account go one at a time, so at an added latency the run cannot be shorter than its chain:", ""]
    for lat in latencies:
        c = chains.get(lat)
        if not c:
            continue
        line = (f"* {lat} ms: {c['account']} of {c['requests']} requests name the account; {c['chain']:.2f} s of the "
                f"{c['span']:.2f} s from the first request to the last answer had one of them in flight")
        st = ms.get(("schemathesis", lat))
        if lat in goals and st is not None and st.walls:
            goal = goals[lat] * st.wall
            line += (f"; the goal ({goals[lat]} x Schemathesis's {st.wall:.2f} s) is {goal:.2f} s for the whole run, "
                     f"start-up included")
        lines.append(line)
    return lines


def spread(values: list[float], digits: int = 2) -> str:
    """The median, and the range when there is more than one value: `4.81 [4.70-4.95]`."""
    median = f"{statistics.median(values):.{digits}f}"
    return median if len(values) < 2 else f"{median} [{min(values):.{digits}f}-{max(values):.{digits}f}]"


def pair_ratios(suite: Measure, schemathesis: Measure) -> list[float]:
    """Suite / Schemathesis per round: each pair ran in the same round, alternating with the other setups."""
    return [a / b for a, b in zip(suite.walls, schemathesis.walls) if b]


def latency_table(latencies: list[int], kinds: list[str], ms: dict, option: str | None) -> str:
    names = {"suite": "installed suite, default", "checkout": "checkout `python -m pytest`",
             "sequential": f"installed suite, `{option}=1`", "schemathesis": "schemathesis",
             "floor": "floor (bare httpx replay)"}
    ratios = [k for k in ("suite", "checkout") if "schemathesis" in kinds]
    head = "| added latency | " + " | ".join(f"{names[k]}: wall s (requests)" for k in kinds)
    head += "".join(f" | {'installed' if k == 'suite' else 'checkout'} / schemathesis" for k in ratios)
    head += " | load (1 min, median) |"
    lines = [head, "|---:|" + "---:|" * (len(kinds) + len(ratios)) + "---:|"]
    for lat in latencies:
        cells = [f"{spread(ms[(k, lat)].walls)} ({ms[(k, lat)].count})" if ms[(k, lat)].walls else "-" for k in kinds]
        for k in ratios:
            pairs = pair_ratios(ms[(k, lat)], ms[("schemathesis", lat)])
            cells.append(spread(pairs) if pairs else "-")
        loads = [x for k in kinds for x in ms[(k, lat)].loads]
        lines.append(f"| {lat} ms | " + " | ".join(cells) + f" | {statistics.median(loads):.1f} |")
    lines += ["", "Walls and ratios: median [min-max] of the rounds; a ratio is the median of the per-round "
                  "suite / Schemathesis pairs (../shared/perf/README.md)."]
    suite0 = ms[("suite", latencies[0])]
    lines += ["", "Growth of the suite's wall time with latency against the latency bound "
                  "(start-up + 1.5 x requests x latency / concurrency, start-up taken as the loopback run's wall):", ""]
    concurrency = 1 if option is None else _default_in_flight()
    for lat in latencies[1:]:
        m = ms[("suite", lat)]
        bound = suite0.wall + 1.5 * m.count * lat / 1000.0 / concurrency
        lines.append(f"* {lat} ms: {m.wall:.2f} s vs {suite0.wall:.2f} + 1.5 x {m.count} x {lat / 1000:.3f} / "
                     f"{concurrency} (concurrency) = {bound:.2f} s: {'within' if m.wall <= bound else 'OVER'}")
    return "\n".join(lines) + "\n"


def plot(latencies: list[int], ms: dict, path: Path) -> bool:
    """Wall time against added latency (PNG); matplotlib is the optional `bench` extra."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed (pip install -e '.[bench]'): no plot", file=sys.stderr)
        return False
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    styles = {"suite": ("installed suite, default", "o-"), "checkout": ("checkout python -m pytest", "d-"),
              "sequential": ("suite, sequential", "s--"), "schemathesis": ("schemathesis run (defaults)", "^-"),
              "floor": ("floor: bare httpx replay", "x:")}
    for kind, (label, style) in styles.items():
        runs = [ms[(kind, lat)] for lat in latencies if (kind, lat) in ms and ms[(kind, lat)].walls]
        if runs:  # the median, the spread of the rounds as error bars
            x = [lat for lat in latencies if (kind, lat) in ms and ms[(kind, lat)].walls]
            y = [m.wall for m in runs]
            spread = [[m.wall - min(m.walls) for m in runs], [max(m.walls) - m.wall for m in runs]]
            ax.errorbar(x, y, yerr=spread, fmt=style, capsize=3, label=label)
    ax.set_xlabel("added latency per request (ms)")
    ax.set_ylabel("wall time (s, median)")
    ax.set_title("Login conformance suite vs schemathesis, one conforming server")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median; default 3)")
    parser.add_argument("--latencies", default="0,20,50,100",
                        help="added latencies in ms for the latency benchmark (default 0,20,50,100; '' skips it)")
    parser.add_argument("--targets", default="",
                        help="also the per-target breakdown, comma-separated: reference, slow")
    parser.add_argument("--no-schemathesis", action="store_true", help="skip the schemathesis runs")
    parser.add_argument("--schemathesis-spec", metavar="FILE", default=str(BENCHMARK_SPEC),
                        help="the document Schemathesis runs in the latency comparison (default: "
                             "../shared/perf/login.benchmark.openapi.json, as ../shared/perf/README.md defines it)")
    parser.add_argument("--no-startup", action="store_true", help="skip the start-up table")
    parser.add_argument("--suite-args", default="", help="extra options for every suite run (e.g. a smoke run's)")
    parser.add_argument("--write", metavar="FILE", help="also write the tables into FILE (between its markers)")
    parser.add_argument("--plot", metavar="PNG", default=None,
                        help="wall time against latency as a PNG (default with --write: images/latency.png beside FILE)")
    parser.add_argument("--keep-env", action="store_true",
                        help="keep PYTHONDONTWRITEBYTECODE for the measured suite runs (dropped by default)")
    args = parser.parse_args(argv)
    spec = None if args.no_schemathesis else Path(args.schemathesis_spec)
    if spec is not None and not spec.is_file():
        parser.error(f"--schemathesis-spec: no file {spec} (the shared benchmark document; --no-schemathesis skips "
                     "the comparison)")
    global KEEP_ENV
    KEEP_ENV = args.keep_env
    SUITE_ARGS[:] = args.suite_args.split()
    sys.path.insert(0, str(ROOT))
    latencies = [int(x) for x in args.latencies.split(",") if x.strip()]
    plot_path = Path(args.plot) if args.plot else (Path(args.write).parent / "images" / "latency.png" if args.write else None)

    LOAD[0] = _load()
    parts: list[str] = []
    with tempfile.TemporaryDirectory(prefix="hyper3d-bench-") as tmp:
        workdir = Path(tmp)
        if not args.no_startup:
            print("== start-up", flush=True)
            parts.append(startup_table(args.repeat, workdir))
        if latencies:
            print("== latency", flush=True)
            text, ms = latency_benchmark(latencies, args.repeat, workdir, spec)
            parts.append(text)
            if plot_path and plot(latencies, ms, plot_path):
                # the image link is relative to the page the tables are written into (or to the checkout)
                page_dir = Path(args.write).resolve().parent if args.write else ROOT
                rel = Path(os.path.relpath(plot_path.resolve(), page_dir)).as_posix()
                parts.append(f"![wall time against added latency]({rel})\n")
        targets = [t.strip() for t in args.targets.split(",") if t.strip()]
        if targets:
            parts.append(table(per_target(targets, args, workdir), args.repeat))
    text = header(args.repeat) + "\n" + "\n".join(parts)
    print()
    print(text)
    if args.write:
        write_doc(Path(args.write), text)
        print(f"written to {args.write}")
    return 0


def header(repeat: int) -> str:
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"Measured {now} on {machine()}. Median of {repeat} run(s), alternating; requests counted at the server; "
            f"load average before / after: {LOAD[0]} / {_load()}.\n")


def per_target(targets: list[str], args, workdir: Path) -> dict[str, dict[str, Measure]]:
    """The breakdown per target (the reference server and its `slow` variant)."""
    results: dict[str, dict[str, Measure]] = {}
    startup = Measure("pytest start-up (`pytest --collect-only -q`)")
    for _ in range(args.repeat):
        run_startup(startup)
    for target in targets:
        variant = None if target == "reference" else target
        label = "reference server" if variant is None else f"`{variant}` variant"
        print(f"== {label}", flush=True)
        ms = {
            "default": Measure("default run, bundled server in-process (`pytest -q`"
                               + (f" `--reference-variant={variant}`" if variant else "") + ")"),
            "suite": Measure("suite against the server process (`pytest -q --base-url=URL`)"),
            "floor": Measure("floor: the suite's recorded requests replayed by a bare httpx loop"),
            "suite-nofuzz": Measure("hand-written tests only (`--base-url=URL --fuzz-examples=0`)"),
            "floor-nofuzz": Measure("floor for those requests (bare httpx loop)"),
            "startup": startup,
            "schemathesis": Measure("`schemathesis run spec/login.openapi.json --url URL` (defaults)"),
            "schemathesis-all": Measure("same with `--continue-on-failure`"),
        }
        server = ServerProcess(variant, workdir)
        try:
            for i in range(args.repeat):
                run_default(variant, ms["default"], workdir)
                run_suite_external(server, ms["suite"], workdir, record=(i == 0))
                if i == 0:
                    recorded = server.recorded()
                run_floor(server, recorded, ms["floor"])
                run_suite_external(server, ms["suite-nofuzz"], workdir, i == 0, "--fuzz-examples=0")
                if i == 0:
                    recorded_nofuzz = server.recorded()
                run_floor(server, recorded_nofuzz, ms["floor-nofuzz"])
                if not args.no_schemathesis:
                    run_schemathesis(server, ms["schemathesis"], workdir)
                    run_schemathesis(server, ms["schemathesis-all"], workdir, "--continue-on-failure")
                print(f"   round {i + 1}: default {ms['default'].walls[-1]:.2f} s, suite "
                      f"{ms['suite'].walls[-1]:.2f} s, floor {ms['floor'].walls[-1]:.2f} s", flush=True)
        finally:
            server.stop()
        results[label] = ms
    return results


if __name__ == "__main__":
    sys.exit(main())
