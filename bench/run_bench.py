#!/usr/bin/env python3
"""Benchmark of the contract suite (issue 5), run by hand -- not a test:

    .venv/bin/python bench/run_bench.py                  # prints the table
    .venv/bin/python bench/run_bench.py --write README.md

For each target -- the bundled reference server and its `slow` variant (realistic argon2 cost) -- it measures:

* the default run (`pytest -q`, which starts the bundled server in-process): wall time, requests, requests/s;
* the same suite against an external server process (`pytest --base-url=URL` with the demo credentials), whose
  requests are recorded at the server;
* the raw floor: exactly those recorded requests replayed back-to-back by a bare `httpx.Client` loop against the
  same server process;
* `schemathesis run spec/login.openapi.json --url URL` with default settings (it stops at its first failures), and
  the same with `--continue-on-failure` to show the cost of its full generation;
* pytest's start-up: `pytest --collect-only -q` (interpreter, plugins, collection; no request).

Requests are counted at the server (an ASGI wrapper in the server process). Each measurement is repeated
`--repeat` times (median reported). The acceptance criterion of the issue is
    suite (--base-url, wall) <= 1.5 x floor + pytest start-up.
The external server runs in its own process, bound with the reference's `bind_socket()` (TCP_NODELAY).
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
CLEAN_ENV = ("LOGIN_EMAIL", "LOGIN_PASSWORD", "LOGIN_CAPTCHA_TOKEN", "PYTEST_BASE_URL", "PYTEST_ADDOPTS",
             "LOGIN_THROWAWAY_EMAIL", "LOGIN_THROWAWAY_PASSWORD", "HYPER3D_REFERENCE_PASSWORD")


# ------------------------------------------------------------------------------------------- server process
def _serve(variant: str | None, ready: mp.Queue, counter, recording, record_path: str) -> None:
    """Child process: the reference app behind a counting (and, on demand, recording) ASGI wrapper."""
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
        self.record_path = workdir / f"requests-{variant or 'reference'}.jsonl"
        ready = ctx.Queue()
        self.proc = ctx.Process(target=_serve, args=(variant, ready, self.counter, self.recording,
                                                     str(self.record_path)), daemon=True)
        self.proc.start()
        self.url = ready.get(timeout=60)

    def count(self) -> int:
        return self.counter.value

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


def _timed(cmd: list[str], *, cwd: Path, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started, done


def pytest_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]


def run_default(variant: str | None, m: Measure, workdir: Path) -> None:
    """README's first command: `pytest` alone (bundled server started in-process by the plugin)."""
    out = workdir / "default-report"
    shutil.rmtree(out, ignore_errors=True)
    args = [f"--report-dir={out}"] + ([f"--reference-variant={variant}"] if variant else [])
    wall, done = _timed(pytest_cmd(*args), cwd=ROOT, env=_env())
    _check(done, "default run")
    report = json.loads((out / "conformance.json").read_text())
    m.walls.append(wall)
    m.requests.append(report["run"]["requests"])
    m.inner.append(report["run"]["duration_s"])


def run_suite_external(server: ServerProcess, m: Measure, workdir: Path, record: bool, *extra: str) -> None:
    from contract_tests.reference import DEMO_EMAIL, DEMO_PASSWORD

    out = workdir / "external-report"
    shutil.rmtree(out, ignore_errors=True)
    before = server.count()
    server.record(record)
    wall, done = _timed(pytest_cmd(f"--base-url={server.url}", f"--report-dir={out}", *extra), cwd=ROOT,
                        env=_env({"LOGIN_EMAIL": DEMO_EMAIL, "LOGIN_PASSWORD": DEMO_PASSWORD}))
    server.record(False)
    _check(done, "suite --base-url run")
    report = json.loads((out / "conformance.json").read_text())
    m.walls.append(wall)
    m.requests.append(server.count() - before)
    m.inner.append(report["run"]["duration_s"])


def run_startup(m: Measure) -> None:
    wall, done = _timed(pytest_cmd("--collect-only"), cwd=ROOT, env=_env())
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
    with httpx.Client(timeout=30) as client:
        started = time.perf_counter()
        for method, url, headers, body in prepared:
            client.request(method, url, headers=headers, content=body or None)
        wall = time.perf_counter() - started
    m.walls.append(wall)
    m.requests.append(server.count() - before)


def run_schemathesis(server: ServerProcess, m: Measure, workdir: Path, *extra: str) -> None:
    exe = Path(sys.executable).with_name("schemathesis")
    cmd = [str(exe) if exe.exists() else "schemathesis", "run", str(SPEC), "--url", server.url, *extra]
    cwd = workdir / "schemathesis"
    cwd.mkdir(exist_ok=True)  # no schemathesis.toml here: default settings
    before = server.count()
    wall, done = _timed(cmd, cwd=cwd, env=_env())
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
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Measured {now} on {machine()}. Median of {repeat} run(s); requests counted at the server; "
        f"load average before / after: {LOAD[0]} / {_load()}.",
        "",
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median; default 3)")
    parser.add_argument("--targets", default="reference,slow", help="comma-separated: reference, slow")
    parser.add_argument("--no-schemathesis", action="store_true", help="skip the schemathesis runs")
    parser.add_argument("--write", metavar="FILE", help="also write the table into FILE (between its markers)")
    parser.add_argument("--keep-env", action="store_true",
                        help="keep PYTHONDONTWRITEBYTECODE for the measured commands (dropped by default)")
    args = parser.parse_args(argv)
    global KEEP_ENV
    KEEP_ENV = args.keep_env
    sys.path.insert(0, str(ROOT))

    results: dict[str, dict[str, Measure]] = {}
    LOAD[0] = _load()
    with tempfile.TemporaryDirectory(prefix="hyper3d-bench-") as tmp:
        workdir = Path(tmp)
        startup = Measure("pytest start-up (`pytest --collect-only -q`)")
        for _ in range(args.repeat):
            run_startup(startup)
        for target in [t.strip() for t in args.targets.split(",") if t.strip()]:
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
    text = table(results, args.repeat)
    print()
    print(text)
    if args.write:
        write_doc(Path(args.write), text)
        print(f"written to {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
