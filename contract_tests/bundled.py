"""The bundled reference server as the suite uses it: the only product module that imports contract_tests.reference.

With no --base-url the suite tests its own reference server (contract_tests/reference): its demo account, its second
account (the throwaway account of the throttling probe), its captcha test token when a captcha-enforcing fault or
variant runs, and its brute-force throttle that the throttling probe switches on.

The server's own dependencies (Starlette, uvicorn, argon2-cffi, PyJWT) are the ``reference`` extra: a suite installed
to test a deployment does without them, and asked for the bundled server it says in one line which extra to install.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from typing import Protocol

THROTTLE_AFTER = 10  # failed logins before the bundled server throttles, once the throttling probe switches it on
DISTRIBUTION = "hyper3d-login-conformance"
EXTRA = "reference"
# the modules the server imports, for a source tree run without installed metadata (pyproject.toml's extra is the list)
_SERVER_MODULES = ("starlette", "uvicorn", "argon2", "jwt")


def missing_dependencies() -> list[str]:
    """The distributions of the ``reference`` extra that are not installed (by the installed metadata)."""
    from packaging.requirements import Requirement

    try:
        requires = importlib.metadata.requires(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        return [name for name in _SERVER_MODULES if importlib.util.find_spec(name) is None]
    missing = []
    for text in requires:
        requirement = Requirement(text)
        marker = requirement.marker
        if marker is None or not marker.evaluate({"extra": EXTRA}) or marker.evaluate({"extra": ""}):
            continue  # a dependency of the suite itself, or of another extra
        try:
            importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(requirement.name)
    return missing


def missing_extra() -> str | None:
    """One line saying which extra to install, when the bundled server's dependencies are not all there."""
    missing = missing_dependencies()
    if not missing:
        return None
    return (f"the bundled reference server needs the '{EXTRA}' extra ({', '.join(missing)} not installed): install "
            f"the suite as \"{DISTRIBUTION}[{EXTRA}]\" (in a checkout: pip install -e \".[{EXTRA}]\"), or test a "
            "deployment with --base-url")


def demo_account() -> tuple[str, str]:
    from .reference import DEMO_EMAIL, DEMO_PASSWORD

    return DEMO_EMAIL, DEMO_PASSWORD


def throwaway_account() -> tuple[str, str]:
    from .reference import OTHER_EMAIL, OTHER_PASSWORD

    return OTHER_EMAIL, OTHER_PASSWORD


def captcha_token(fault: str | None, variant: str | None) -> str | None:
    """The test token, when the bundled server runs a captcha-enforcing fault or variant."""
    if fault is None and variant is None:
        return None  # the plain reference server asks for none; its fault catalog stays unloaded until it starts
    if missing_extra():
        return None  # the server cannot start: start() says which extra to install
    from .reference.guards import CAPTCHA_TEST_TOKEN
    from .reference.registry import service_class

    try:
        return CAPTCHA_TEST_TOKEN if service_class(fault, variant).captcha_required else None
    except ValueError:  # unknown name: reported when the server is started
        return None


class BundledServer(Protocol):
    """What the run uses of the bundled server (reference/server.py RunningServer; the extra may be absent)."""

    url: str

    def stop(self) -> None: ...


def start(*, fault: str | None, variant: str | None, demo_password: str | None) -> BundledServer:
    """Start the bundled server on a free loopback port; ValueError for an unknown fault or variant, or when the
    server's dependencies (the ``reference`` extra) are not installed."""
    message = missing_extra()
    if message:
        raise ValueError(message)
    from .reference import start_reference_server

    return start_reference_server(fault=fault, variant=variant, demo_password=demo_password)


def switch_on_throttle(server) -> bool:
    """The bundled server keeps its brute-force throttle off so the suite's own runs stay fast; the throttling
    probe switches it on right before it starts, as a production deployment would have it."""
    service = server.service
    if getattr(service, "throttle_after", 0) is None:
        service.throttle_after = THROTTLE_AFTER
        return True
    return False
