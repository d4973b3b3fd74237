"""The bundled reference server as the suite uses it: the only product module that imports contract_tests.reference.

With no --base-url the suite tests its own reference server (contract_tests/reference): its demo account, its second
account (the throwaway account of the throttling probe), its captcha test token when a captcha-enforcing fault or
variant runs, and its brute-force throttle that the throttling probe switches on.
"""

from __future__ import annotations

THROTTLE_AFTER = 10  # failed logins before the bundled server throttles, once the throttling probe switches it on


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
    from .reference.guards import CAPTCHA_TEST_TOKEN
    from .reference.registry import service_class

    try:
        return CAPTCHA_TEST_TOKEN if service_class(fault, variant).captcha_required else None
    except ValueError:  # unknown name: reported when the server is started
        return None


def start(*, fault: str | None, variant: str | None, demo_password: str | None):
    """Start the bundled server on a free loopback port; ValueError for an unknown fault or variant."""
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
