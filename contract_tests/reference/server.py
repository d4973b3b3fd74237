"""Running the reference server on a loopback port in a background thread."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from .app import create_app


def bind_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP so asyncio sets TCP_NODELAY on accepted connections (else ~40 ms per request)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except BaseException:
        sock.close()
        raise
    return sock


def socket_url(sock: socket.socket, scheme: str = "http") -> str:
    host, port = sock.getsockname()[:2]
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


def uvicorn_config(app, **overrides) -> uvicorn.Config:
    options = dict(log_level="warning", access_log=False, log_config=None, lifespan="off", server_header=False,
                   loop="asyncio", http="h11", ws="none", timeout_graceful_shutdown=2)
    options.update(overrides)
    return uvicorn.Config(app, **options)


class RunningServer:
    """A reference server serving on a loopback port in a daemon thread. Context manager; `.stop()` is idempotent."""

    def __init__(self, *, app, server: uvicorn.Server, thread: threading.Thread, sock: socket.socket,
                 fault: str | None, variant: str | None, front=None, scheme: str = "http") -> None:
        self.app = app
        self.url = socket_url(sock, scheme)
        self.host, self.port = sock.getsockname()[:2]
        self._front = front  # a TCP front the clients talk to instead (the `http10` knob)
        if front is not None:
            self.url = f"http://{self.host}:{front.port}"
            self.port = front.port
        self.fault = fault
        self.variant = variant
        self._server = server
        self._thread = thread
        self._sock = sock

    @property
    def service(self):
        return self.app.state.service

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, wait: bool = True, timeout: float = 5.0) -> None:
        """Ask the server to exit; with wait=False return at once (call stop() again to join)."""
        self._server.should_exit = True
        if not wait:
            return
        if self._front is not None:
            self._front.stop()
            self._front = None
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout)
        self._sock.close()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def __repr__(self) -> str:
        extra = "".join(f" {k}={v}" for k, v in (("fault", self.fault), ("variant", self.variant)) if v)
        return f"<RunningServer {self.url}{extra}{'' if self.running else ' stopped'}>"


def start_reference_server(*, fault: str | None = None, variant: str | None = None, host: str = "127.0.0.1",
                           startup_timeout: float = 10.0, demo_password: str | None = None,
                           service=None, knobs=(), tls: tuple[str, str] | None = None) -> RunningServer:
    """Start a reference server (optionally with one named fault and/or variant) on a free port of `host`.

    `demo_password` / `service` / `knobs` (benign behaviours, knobs/): see `create_app`. `tls`: (certificate file,
    key file) PEM paths: the server speaks https only."""
    app = create_app(fault=fault, variant=variant, demo_password=demo_password, service=service, knobs=knobs)
    sock = bind_socket(host, 0)
    tls_options = dict(ssl_certfile=tls[0], ssl_keyfile=tls[1]) if tls else {}
    server = uvicorn.Server(uvicorn_config(app, **tls_options))
    errors: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
            errors.append(exc)

    thread = threading.Thread(target=run, name=f"hyper3d-reference-{sock.getsockname()[1]}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive():
            sock.close()
            raise RuntimeError(f"reference server failed to start: {errors[0] if errors else 'thread exited'}")
        if time.monotonic() > deadline:
            server.should_exit = True
            thread.join(2.0)
            sock.close()
            raise RuntimeError(f"reference server did not start within {startup_timeout:g} s")
        time.sleep(0.002)
    front = None
    if getattr(app.state.service, "http10", False):
        if tls:
            raise ValueError("the HTTP/1.0 front speaks plain http: no tls with the http10 knob")
        from .knobs.wire import HTTP10Front

        front = HTTP10Front(sock.getsockname()[:2])
        front.start()
    return RunningServer(app=app, server=server, thread=thread, sock=sock, fault=fault, variant=variant, front=front,
                         scheme="https" if tls else "http")
