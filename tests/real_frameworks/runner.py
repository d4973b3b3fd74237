"""Installs and starts the real login services of tests/real_frameworks/<stack>/ (the self-test lane
tests/test_real_frameworks.py runs the contract suite against them).

    python tests/real_frameworks/runner.py install            # install every stack (once; cached)
    python tests/real_frameworks/runner.py serve fastapi      # start one on a free loopback port, print its URL

Installs go to a cache outside the repository ($HYPER3D_REAL_FRAMEWORKS_CACHE, else ~/.cache/hyper3d-real-frameworks),
one directory per stack and digest of its dependency files, so a changed lock file installs anew and an unchanged one
is reused:
- Python stacks: a venv per requirements.txt (pinned), filled by pip from the package index pip is set up with;
- Node stacks: `npm ci` of the committed package.json + package-lock.json, then `node server.js` from the stack's
  folder with NODE_PATH pointing at the installed node_modules;
- Go: `go build` with the standard library only (GOPROXY=off, GOFLAGS=-mod=mod: a module requirement fails the build).

A missing toolchain (node/npm, go, the venv module) raises ToolchainMissing with the reason; the self-test fails on it
in CI and skips with that reason elsewhere.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE_ENV = "HYPER3D_REAL_FRAMEWORKS_CACHE"
DEMO_EMAIL = "demo.user@example.com"
DEMO_PASSWORD = "Tr0ub4dor&3-Horse-Staple"  # noqa: S105 - the demo account's, sent only to loopback servers
START_TIMEOUT = 60.0
INSTALL_TIMEOUT = 600.0
GO_MIN = (1, 19)
NODE_MIN = 20  # Fastify 5 and Express 5 as pinned (package.json "engines")


class ToolchainMissing(RuntimeError):
    """A stack's toolchain is not on this machine (node, npm, go, python venv)."""


class InstallFailed(RuntimeError):
    """The stack's own install step failed (registry unreachable, a pin that no longer resolves, a build error)."""


class StartFailed(RuntimeError):
    """The service did not come up listening on its port."""


@dataclass(frozen=True)
class Stack:
    name: str
    language: str
    framework: str
    dependency_files: tuple[str, ...]

    @property
    def folder(self) -> Path:
        return HERE / self.name


STACKS = {s.name: s for s in (
    Stack("fastapi", "python", "FastAPI + Pydantic v2 (uvicorn, PyJWT, argon2-cffi)", ("requirements.txt",)),
    Stack("flask", "python", "Flask + marshmallow (gunicorn, PyJWT, Werkzeug's scrypt)", ("requirements.txt",)),
    Stack("express", "node", "Express 5 + express.json() + zod (helmet, jsonwebtoken, bcryptjs)",
          ("package.json", "package-lock.json")),
    Stack("fastify", "node", "Fastify 5 + JSON-schema/ajv (@fastify/jwt, node:crypto scrypt)",
          ("package.json", "package-lock.json")),
    Stack("go_nethttp", "go", "Go net/http + encoding/json, standard library only", ("go.mod", "main.go")),
)}


def cache_root() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "hyper3d-real-frameworks")


def install_dir(stack: Stack) -> Path:
    digest = hashlib.sha256()
    for name in stack.dependency_files:
        digest.update(name.encode() + b"\0" + (stack.folder / name).read_bytes())
    return cache_root() / f"{stack.name}-{digest.hexdigest()[:16]}"


# --------------------------------------------------------------------------------------------------- toolchains
def _which(tool: str, why: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise ToolchainMissing(f"`{tool}` not found on PATH ({why})")
    return path


def _go() -> str:
    go = _which("go", "Debian package golang-go")
    version = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, check=False).stdout.strip()
    numbers = tuple(int(part) for part in version.removeprefix("go").split(".")[:2] if part.isdigit())
    if numbers < GO_MIN:
        raise ToolchainMissing(f"go {version or '(unknown version)'} is older than go{GO_MIN[0]}.{GO_MIN[1]}")
    return go


def _node() -> str:
    node = _which("node", "nodejs 20 or later")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    major = version.removeprefix("v").split(".")[0]
    if not major.isdigit() or int(major) < NODE_MIN:
        raise ToolchainMissing(f"node {version or '(unknown version)'} is older than {NODE_MIN}")
    return node


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT,
                          stdin=subprocess.DEVNULL, check=False)
    if done.returncode != 0:
        raise InstallFailed(f"{' '.join(cmd)} exited {done.returncode}: {(done.stdout + done.stderr)[-2000:]}")


def _go_env(target: Path) -> dict[str, str]:
    root = cache_root()
    return {**os.environ, "GOPROXY": "off", "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local", "CGO_ENABLED": "0",
            "GOCACHE": str(root / "go-build-cache"), "GOPATH": str(root / "gopath"), "GO111MODULE": "on"}


def _install_into(stack: Stack, target: Path) -> None:
    if stack.language == "python":
        _run([sys.executable, "-m", "venv", str(target / "venv")], target)
        _run([str(target / "venv" / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
              "-r", str(stack.folder / "requirements.txt")], target)
    elif stack.language == "node":
        npm = _which("npm", "npm, with nodejs")
        for name in stack.dependency_files:
            shutil.copy2(stack.folder / name, target / name)
        _run([npm, "ci", "--omit=dev", "--no-audit", "--no-fund", "--ignore-scripts"], target)
    elif stack.language == "go":
        _run([_go(), "build", "-trimpath", "-o", str(target / "login"), "."], stack.folder, env=_go_env(target))
    else:  # pragma: no cover - STACKS is fixed above
        raise ValueError(stack.language)


def check_toolchain(stack: Stack) -> None:
    """Raise ToolchainMissing when the stack cannot be installed or run here."""
    if stack.language == "python":
        try:
            import ensurepip  # noqa: F401 - `python -m venv` needs it (Debian: python3-venv)
        except ImportError as exc:
            raise ToolchainMissing(f"{sys.executable} cannot create a venv with pip: {exc}") from exc
    elif stack.language == "node":
        _node()
        _which("npm", "npm, with nodejs")
    elif stack.language == "go":
        _go()


def install(stack: Stack) -> Path:
    """Install the stack once (cached by the digest of its dependency files); the install directory."""
    check_toolchain(stack)
    target = install_dir(stack)
    if (target / ".installed").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f"{stack.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a parallel run (xdist) installs once, the other waits and reuses
        if (target / ".installed").exists():
            return target
        shutil.rmtree(target, ignore_errors=True)  # a half-done install; venvs and node_modules keep absolute
        target.mkdir()  # paths, so they are built where they stay
        try:
            _install_into(stack, target)
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
        (target / ".installed").write_text(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    return target


# --------------------------------------------------------------------------------------------------- serving
def command(stack: Stack, target: Path, port: int) -> tuple[list[str], dict[str, str]]:
    env = {"PORT": str(port), "DEMO_EMAIL": DEMO_EMAIL, "DEMO_PASSWORD": DEMO_PASSWORD}
    if stack.name == "fastapi":
        cmd = [str(target / "venv" / "bin" / "uvicorn"), "app:app", "--host", "127.0.0.1", "--port", str(port),
               "--no-access-log"]
    elif stack.name == "flask":
        cmd = [str(target / "venv" / "bin" / "gunicorn"), "--bind", f"127.0.0.1:{port}", "app:app"]
    elif stack.language == "node":
        cmd = [_node(), "server.js"]
        env |= {"NODE_PATH": str(target / "node_modules"), "NODE_ENV": "production"}
    else:
        cmd = [str(target / "login")]
    return cmd, env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Service:
    stack: Stack
    url: str
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


@contextlib.contextmanager
def serve(stack: Stack, log_dir: Path, attempts: int = 3) -> Iterator[Service]:
    """The installed stack listening on a free loopback port (another port is tried if the chosen one was taken)."""
    target = install(stack)
    problem = ""
    for attempt in range(attempts):
        port = free_port()
        cmd, extra = command(stack, target, port)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LOGIN_", "PYTEST_"))} | extra
        log = log_dir / f"{stack.name}-{attempt}.log"
        with open(log, "w", encoding="utf-8") as out:
            process = subprocess.Popen(cmd, cwd=stack.folder, env=env, stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while process.poll() is None and time.monotonic() < deadline and not _listening(port):
            time.sleep(0.1)  # polls readiness; nothing is judged on timing
        if process.poll() is None and _listening(port):
            service = Service(stack, f"http://127.0.0.1:{port}", process, log)
            try:
                yield service
            finally:
                stop(process)
            return
        stop(process)
        problem = f"{' '.join(cmd)} (attempt {attempt + 1}) exited {process.returncode}: " \
                  + log.read_text(errors="replace")[-2000:]
    raise StartFailed(f"{stack.name} did not start listening: {problem}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(argv: list[str]) -> int:
    if argv[:1] == ["install"]:
        for stack in STACKS.values():
            started = time.perf_counter()
            print(f"{stack.name}: {install(stack)} ({time.perf_counter() - started:.1f} s)", flush=True)
        return 0
    if len(argv) == 2 and argv[0] == "serve" and argv[1] in STACKS:
        with tempfile.TemporaryDirectory() as logs, serve(STACKS[argv[1]], Path(logs)) as service:
            print(f"{service.stack.name} at {service.url} (demo account {DEMO_EMAIL}); Ctrl-C stops it", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                service.process.wait()
        return 0
    print(f"usage: runner.py install | serve {{{'|'.join(STACKS)}}}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
