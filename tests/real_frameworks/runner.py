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
- PHP: nothing to install: plain PHP on Debian's php-cli 8.2 (from .ci/run; packagist is not reachable, so no
  composer), served by PHP's built-in web server (`php -S 127.0.0.1:PORT router.php`) with Debian's php.ini; the
  users file it keeps between requests (PHP keeps no state) is made anew in the install directory at each start;
- Go: `go build` with the standard library only (GOPROXY=off, GOFLAGS=-mod=mod: a module requirement fails the build);
- Ruby (rails, sinatra): nothing to install: Rails 6.1, Sinatra 3, bcrypt, ruby-jwt and puma are Debian's packages
  (ruby-rails, ruby-sinatra, ruby-bcrypt, ruby-jwt, puma, from .ci/run; rubygems.org is not reachable, so no
  bundler); the toolchain check loads the stack's own (RUBY_LIBRARIES), and Debian's puma serves the stack's
  config.ru in the production environment;
- an edge (nginx_tls): Debian's nginx (package nginx-light, from .ci/run) terminating TLS in front of its upstream
  stack, which is installed and started with it. Its certificate comes from a throwaway trustme CA whose file the
  Service names (`ca_file`: the suite is given it as SSL_CERT_FILE); nginx runs in the foreground from a temporary
  prefix (pid, temp files, certificate) with the stack's nginx.conf, as an unprivileged user when started as root.

A missing toolchain (node/npm, go, the venv module, ruby with the stack's Debian packages, php) raises ToolchainMissing with the reason; the self-test fails on it
in CI and skips with that reason elsewhere.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import pwd
import secrets
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
# Debian bookworm: Rails 6.1.7, Sinatra 3.0.5, bcrypt 3.1, jwt 2.5, puma 5.6. Per ruby stack: its Debian packages, what
# it requires, and the framework's major version the stack is written for (printed by the last expression).
RUBY_LIBRARIES = {
    "rails": ("ruby-rails ruby-bcrypt ruby-jwt puma", 'require "action_controller/railtie"; require "active_model"; '
              'require "bcrypt"; require "jwt"; print Rails::VERSION::MAJOR', "Rails", 6),
    "sinatra": ("ruby-sinatra ruby-bcrypt ruby-jwt puma", 'require "sinatra/base"; require "bcrypt"; require "jwt"; '
                'print Sinatra::VERSION.split(".").first', "Sinatra", 3),
}
PHP_MIN = (8, 2)  # Debian bookworm's php-cli


class ToolchainMissing(RuntimeError):
    """A stack's toolchain is not on this machine (node, npm, go, python venv, ruby with its packages, php)."""


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
    upstream: str | None = None  # an edge: the stack it proxies to

    @property
    def folder(self) -> Path:
        return HERE / self.name


STACKS = {s.name: s for s in (
    Stack("fastapi", "python", "FastAPI + Pydantic v2 (uvicorn, PyJWT, argon2-cffi)", ("requirements.txt",)),
    Stack("litestar", "python", "Litestar 2 + msgspec Struct body (uvicorn, PyJWT, hashlib.scrypt)", ("requirements.txt",)),
    Stack("falcon", "python", "Falcon 4 + req.get_media() and its jsonschema validator (gunicorn, PyJWT, "
          "hashlib.scrypt)", ("requirements.txt",)),
    Stack("flask", "python", "Flask + marshmallow (gunicorn, PyJWT, Werkzeug's scrypt)", ("requirements.txt",)),
    Stack("django", "python", "Django + Django REST framework (gunicorn, PyJWT, Django's PBKDF2 hasher)",
          ("requirements.txt",)),
    Stack("express", "node", "Express 5 + express.json() + zod (helmet, jsonwebtoken, bcryptjs)",
          ("package.json", "package-lock.json")),
    Stack("fastify", "node", "Fastify 5 + JSON-schema/ajv (@fastify/jwt, node:crypto scrypt)",
          ("package.json", "package-lock.json")),
    Stack("hapi", "node", "hapi 21 + joi route validation, default failAction (@hapi/jwt, node:crypto scrypt)",
          ("package.json", "package-lock.json")),
    Stack("koa", "node", "Koa 3 + @koa/router + @koa/bodyparser defaults, checks by hand (jsonwebtoken, node:crypto "
          "scrypt)", ("package.json", "package-lock.json")),
    Stack("nestjs", "node", "NestJS 12 + ValidationPipe/class-validator (@nestjs/jwt, bcryptjs): the vendor's likely stack",
          ("package.json", "package-lock.json")),
    Stack("go_nethttp", "go", "Go net/http + encoding/json, standard library only", ("go.mod", "main.go")),
    Stack("php", "php", "plain PHP 8.2 (json_decode of php://input, password_hash bcrypt, hash_hmac JWT), Debian's "
          "php-cli built-in server", ("router.php",)),
    Stack("rails", "ruby", "Ruby on Rails 6.1 API (strong parameters, has_secure_password/bcrypt, ruby-jwt; puma), "
          "Debian's packages", ("config.ru",)),
    Stack("sinatra", "ruby", "Sinatra 3 (JSON.parse of the body, checks by hand, BCrypt::Password, ruby-jwt; puma), "
          "Debian's packages", ("config.ru",)),
    Stack("nginx_tls", "nginx", "Debian's nginx terminating TLS (default limits, limit_req) in front of fastapi",
          ("nginx.conf",), upstream="fastapi"),
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


def _ruby(stack: Stack) -> str:
    """Debian's ruby with the stack's framework (Rails 6 or Sinatra 3), bcrypt and jwt loadable, and puma: a ruby
    stack's whole toolchain."""
    packages, script, framework, major = RUBY_LIBRARIES[stack.name]
    ruby = _which("ruby", f"Debian packages {packages}")
    _which("puma", f"Debian package puma ({packages})")
    loaded = subprocess.run([ruby, "-e", script], capture_output=True, text=True, check=False, timeout=60,
                            stdin=subprocess.DEVNULL)
    if loaded.returncode != 0 or loaded.stdout.strip() != str(major):
        problem = (loaded.stderr.strip().splitlines() or [f"{framework} {loaded.stdout.strip()}"])[0]  # the error line
        raise ToolchainMissing(f"ruby cannot load {framework} {major}, bcrypt and jwt ({problem}): "
                               f"Debian packages {packages}")
    return ruby


def _php() -> str:
    php = _which("php", "Debian package php-cli")
    version = subprocess.run([php, "-r", "echo PHP_MAJOR_VERSION, '.', PHP_MINOR_VERSION;"], capture_output=True,
                             text=True, check=False, timeout=60, stdin=subprocess.DEVNULL).stdout.strip()
    numbers = tuple(int(part) for part in version.split(".") if part.isdigit())
    if len(numbers) != 2 or numbers < PHP_MIN:
        raise ToolchainMissing(f"php {version or '(unknown version)'} is older than {PHP_MIN[0]}.{PHP_MIN[1]} "
                               "(Debian package php-cli)")
    return php


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
    elif stack.language in ("ruby", "php"):
        pass  # Debian's packages, loaded by check_toolchain: nothing of the stack's own to install
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
    elif stack.language == "ruby":
        _ruby(stack)
    elif stack.language == "php":
        _php()
    elif stack.language == "nginx":
        _which("nginx", "Debian package nginx-light")
        import trustme  # noqa: F401 - the edge's certificate (the project's test extras)


def install(stack: Stack) -> Path:
    """Install the stack once (cached by the digest of its dependency files); the install directory (an edge's:
    its upstream's, nginx itself is the system's)."""
    check_toolchain(stack)
    if stack.upstream:
        return install(STACKS[stack.upstream])
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
    if stack.name in ("fastapi", "litestar"):
        cmd = [str(target / "venv" / "bin" / "uvicorn"), "app:app", "--host", "127.0.0.1", "--port", str(port),
               "--no-access-log"]
    elif stack.name in ("flask", "falcon"):
        cmd = [str(target / "venv" / "bin" / "gunicorn"), "--bind", f"127.0.0.1:{port}", "app:app"]
    elif stack.name == "django":
        cmd = [str(target / "venv" / "bin" / "gunicorn"), "--bind", f"127.0.0.1:{port}", "app:application"]
    elif stack.language == "node":
        cmd = [_node(), "server.js"]
        env |= {"NODE_PATH": str(target / "node_modules"), "NODE_ENV": "production"}
    elif stack.language == "ruby":
        cmd = [_which("puma", "Debian package puma"), "--bind", f"tcp://127.0.0.1:{port}", "--environment",
               "production", "config.ru"]
        env |= {"RACK_ENV": "production", "APP_ENV": "production"}
        if stack.name == "rails":
            env |= {"RAILS_ENV": "production", "RAILS_LOG_TO_STDOUT": "1",
                    "SECRET_KEY_BASE": secrets.token_hex(64)}  # production reads it from the environment
    elif stack.language == "php":
        users = target / f"users-{port}.json"  # the demo account and token key, seeded by the first request
        users.unlink(missing_ok=True)
        cmd = [_php(), "-S", f"127.0.0.1:{port}", "router.php"]
        env |= {"USERS_FILE": str(users)}
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
    ca_file: Path | None = None  # the CA that issued an https service's certificate (for SSL_CERT_FILE)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


@contextlib.contextmanager
def serve(stack: Stack, log_dir: Path, attempts: int = 3) -> Iterator[Service]:
    """The installed stack listening on a free loopback port (another port is tried if the chosen one was taken)."""
    if stack.upstream:
        with serve(STACKS[stack.upstream], log_dir, attempts) as upstream, serve_edge(stack, upstream, log_dir,
                                                                                      attempts) as edge:
            yield edge
        return
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
        if _came_up(process, port):
            service = Service(stack, f"http://127.0.0.1:{port}", process, log)
            try:
                yield service
            finally:
                stop(process)
            return
        stop(process)
        problem = _why_not(cmd, attempt, process, log)
    raise StartFailed(f"{stack.name} did not start listening: {problem}")


def _why_not(cmd: list[str], attempt: int, process: subprocess.Popen, log: Path) -> str:
    """What a start attempt that did not come up left: its command, exit status and the end of its log."""
    return f"{' '.join(cmd)} (attempt {attempt + 1}) exited {process.returncode}: " \
        + log.read_text(errors="replace")[-2000:]


def _came_up(process: subprocess.Popen, port: int) -> bool:
    """Whether *process* is listening on *port* within START_TIMEOUT (and still running)."""
    deadline = time.monotonic() + START_TIMEOUT
    while process.poll() is None and time.monotonic() < deadline and not _listening(port):
        time.sleep(0.1)  # polls readiness; nothing is judged on timing
    return process.poll() is None and _listening(port)


def _unprivileged() -> dict:
    """Popen arguments that drop root to `nobody` (nginx's master then never runs privileged); none otherwise."""
    if os.geteuid() != 0:
        return {}
    nobody = pwd.getpwnam("nobody")
    return {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}


def _edge_prefix(stack: Stack, upstream: Service, port: int) -> tuple[Path, Path]:
    """A temporary nginx prefix: the stack's nginx.conf filled in, a certificate for 127.0.0.1 from a new trustme CA
    (prefix/ca.pem), the temp directories; owned by the user nginx runs as. (prefix, its nginx.conf)."""
    import trustme

    prefix = Path(tempfile.mkdtemp(prefix=f"hyper3d-{stack.name}-"))
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca.cert_pem.write_to_path(str(prefix / "ca.pem"))
    cert.private_key_and_cert_chain_pem.write_to_path(str(prefix / "server.pem"))
    cert.private_key_pem.write_to_path(str(prefix / "server.key"))
    conf = (stack.folder / "nginx.conf").read_text(encoding="utf-8")
    for name, value in {"PREFIX": str(prefix), "PORT": str(port),
                        "UPSTREAM_PORT": upstream.url.rsplit(":", 1)[1]}.items():
        conf = conf.replace(f"@{name}@", value)
    (prefix / "nginx.conf").write_text(conf, encoding="utf-8")
    owner = _unprivileged()
    if owner:
        for path in [prefix, *prefix.rglob("*")]:
            os.chown(path, owner["user"], owner["group"])
    return prefix, prefix / "nginx.conf"


@contextlib.contextmanager
def serve_edge(stack: Stack, upstream: Service, log_dir: Path, attempts: int = 3) -> Iterator[Service]:
    """nginx in the foreground on a free loopback port with TLS, proxying to the running *upstream*."""
    nginx = _which("nginx", "Debian package nginx-light")
    problem = ""
    for attempt in range(attempts):
        port = free_port()
        prefix, conf = _edge_prefix(stack, upstream, port)
        cmd = [nginx, "-p", str(prefix), "-c", str(conf), "-e", "stderr", "-g", "daemon off;"]
        log = log_dir / f"{stack.name}-{attempt}.log"
        process = None
        try:
            with open(log, "w", encoding="utf-8") as out:
                process = subprocess.Popen(cmd, cwd=prefix, stdout=out, stderr=subprocess.STDOUT,
                                           stdin=subprocess.DEVNULL, start_new_session=True, **_unprivileged())
            if _came_up(process, port):
                try:
                    yield Service(stack, f"https://127.0.0.1:{port}", process, log, ca_file=prefix / "ca.pem")
                finally:
                    stop(process)
                return
            stop(process)
            problem = _why_not(cmd, attempt, process, log)
        finally:
            if process is None or process.poll() is not None:
                shutil.rmtree(prefix, ignore_errors=True)
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
            trust = f", SSL_CERT_FILE={service.ca_file}" if service.ca_file else ""
            print(f"{service.stack.name} at {service.url} (demo account {DEMO_EMAIL}{trust}); Ctrl-C stops it",
                  flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                service.process.wait()
        return 0
    print(f"usage: runner.py install | serve {{{'|'.join(STACKS)}}}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
