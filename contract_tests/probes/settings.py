"""Opt-in probes: which are enabled, their settings, and how their tests are gated (their order: suite/conftest.py).

A probe runs only when ``--probe`` names it.  Its test is marked with an opt-in requirement of the catalog
(``opt_in: true``); when the probe is not enabled, collection adds a skip mark ("opt-in, not enabled"), so the
test is reported skipped before any fixture runs and sends no request.  Enabled probes run last, the throttling
probe at the very end: it may get the suite's address throttled or lock the throwaway account.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import pytest

from ..sending.client import Account
from ..config.option_values import number
from ..judging.results import NOT_ENABLED
from ..sending.secrets import Secret

# probe name -> requirement it checks, in run order (the captcha probe first, the throttling probe last)
PROBES: dict[str, str] = {"captcha": "CAPTCHA-01", "timing": "SEC-07", "throttling": "ABUSE-01"}
PROBE_OF: dict[str, str] = {rid: name for name, rid in PROBES.items()}

ENV_THROWAWAY_EMAIL = "LOGIN_THROWAWAY_EMAIL"
ENV_THROWAWAY_PASSWORD = "LOGIN_THROWAWAY_PASSWORD"

CAPTCHA_PROBE_REQUESTS = 7  # first use of LOGIN_CAPTCHA_TOKEN + 3 token cases x (right, wrong password)
# address-wide throttle episodes (every identifier throttled alike) the throttling probe waits out per account, each
# costing the throttled request and a control for another identifier
THROTTLE_MAX_PAUSES = 8


def throwaway_secret(password: str) -> Secret:
    return Secret(password, "<LOGIN_THROWAWAY_PASSWORD>", '"$LOGIN_THROWAWAY_PASSWORD"')


@dataclass(frozen=True)
class ProbeSettings:
    """``--probe`` and the probes' own options."""

    enabled: frozenset[str] = frozenset()
    throwaway: Account | None = None  # a dedicated account the throttling probe may lock
    timing_samples: int = 30  # per group (wrong password / unknown account)
    timing_threshold: float = 0.020  # seconds
    timing_alpha: float = 0.01
    throttle_attempts: int = 100

    def timing_requests(self) -> int:
        """Warm-up pair + the samples + a successful login after every 3 wrong passwords (so nothing locks)."""
        return 2 + 2 * self.timing_samples + math.ceil((self.timing_samples + 1) / 3)

    def throttling_requests(self) -> int:
        """An unknown account, then the throwaway account (if any) and its right password; for each account, the
        throttled attempts and the control after each (the last one ends the run)."""
        per_account = self.throttle_attempts + 2 * (THROTTLE_MAX_PAUSES + 1)
        return per_account + (per_account + 1 if self.throwaway else 0)

    def request_allowance(self) -> int:
        """Requests the enabled probes may send on top of --max-requests."""
        cost = {"captcha": CAPTCHA_PROBE_REQUESTS, "timing": self.timing_requests(),
                "throttling": self.throttling_requests()}
        return sum(cost[name] for name in self.enabled)

    def describe(self) -> str:
        if not self.enabled:
            return f"none (enable with --probe={','.join(PROBES)}; see docs/probes.md)"
        names = [name for name in PROBES if name in self.enabled]
        extra = f", throwaway account {self.throwaway.email}" if self.throwaway and "throttling" in self.enabled else ""
        return f"{', '.join(names)} (up to {self.request_allowance()} more requests{extra})"


def parse_probe_names(values: list[str] | None) -> frozenset[str]:
    names: set[str] = set()
    for value in values or ():
        for name in (part.strip().lower() for part in value.split(",")):
            if not name:
                continue
            if name == "all":
                names.update(PROBES)
            elif name in PROBES:
                names.add(name)
            else:
                raise pytest.UsageError(f"--probe: unknown probe {name!r} (choose from {', '.join(PROBES)}, all)")
    return frozenset(names)


def probe_settings_from_config(config: pytest.Config, *, uses_reference: bool, main_email: str | None) -> ProbeSettings:
    opt = config.getoption
    enabled = parse_probe_names(opt("probe"))
    timing_samples = number(config, "timing_samples", integer=True, minimum=5)
    timing_threshold = number(config, "timing_threshold", above_minimum=True, unit="milliseconds")
    timing_alpha = number(config, "timing_alpha", above_minimum=True, maximum=1, below_maximum=True)
    throttle_attempts = number(config, "throttle_attempts", integer=True, minimum=1)
    email = os.environ.get(ENV_THROWAWAY_EMAIL) or None
    password = os.environ.get(ENV_THROWAWAY_PASSWORD) or None
    if uses_reference:  # the bundled server's second demo account plays the throwaway account
        from ..bundled import throwaway_account

        email, password = throwaway_account()
    if bool(email) != bool(password):
        missing = ENV_THROWAWAY_PASSWORD if email else ENV_THROWAWAY_EMAIL
        raise pytest.UsageError(f"throwaway account is incomplete: set {missing} too, or neither")
    if email and main_email and email.strip().lower() == main_email.strip().lower():
        raise pytest.UsageError(
            f"{ENV_THROWAWAY_EMAIL} must name a different account than {main_email}: "
            "the throttling probe deliberately gets it throttled or locked"
        )
    return ProbeSettings(
        enabled=enabled,
        throwaway=Account(email, throwaway_secret(password)) if email and password else None,
        timing_samples=timing_samples,
        timing_threshold=timing_threshold / 1000.0,
        timing_alpha=timing_alpha,
        throttle_attempts=throttle_attempts,
    )


def gate_items(items: list[pytest.Item], requirements_of, catalog, settings: ProbeSettings) -> None:
    """Skip the tests of opt-in requirements whose probe is not enabled (the suite's conftest runs them last)."""
    for item in items:
        ids = [rid for rid in requirements_of(item) if rid in catalog and catalog[rid].opt_in]
        missing = [name for name in (PROBE_OF.get(rid, rid) for rid in ids) if name not in settings.enabled]
        if missing:
            item.add_marker(pytest.mark.skip(reason=f"{NOT_ENABLED} (--probe={','.join(missing)})"))
