"""Run settings, from command-line options and the environment, validated once."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from .client import Account, ClientLimits
from .optin import ProbeSettings, probe_settings_from_config, reference_captcha_token
from .catalog import load_catalog
from .option_values import number
from .secrets import Secret
from .waivers import Waiver, WaiverError, load_waivers

ENV_EMAIL = "LOGIN_EMAIL"
ENV_PASSWORD = "LOGIN_PASSWORD"
ENV_CAPTCHA = "LOGIN_CAPTCHA_TOKEN"
# bundled reference server only: the demo account's password (self-tests grep outputs for a distinctive one)
ENV_REFERENCE_PASSWORD = "HYPER3D_REFERENCE_PASSWORD"


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("hyper3d-login", "Hyper3D login contract suite")
    add = group.addoption
    add("--login-email", metavar="EMAIL", default=None,
        help=f"email of the test account (default: ${ENV_EMAIL}); the password is read from ${ENV_PASSWORD} only.")
    add("--fail-on", choices=("must", "should"), default="must",
        help="lowest requirement level whose failure fails the run (default: must).")
    add("--report-dir", metavar="DIR", default=None,
        help="write conformance.json, conformance.md and conformance.html into DIR.")
    add("--fail-on-inconclusive", action="store_true", default=False,
        help="also fail the run when a requirement is inconclusive or blocked (could not be decided).")
    add("--waivers", metavar="FILE", default=None,
        help="YAML file of waived requirements (id, reason, expires); a waived failure does not gate.")
    add("--timeout", type=str, default=10.0, metavar="SECONDS",
        help="hard deadline of each request: connect, send and the whole answer (default: 10). Three requests in a "
             "row without a complete answer end the run as could-not-test.")
    add("--run-deadline", type=str, default=1200.0, metavar="SECONDS",
        help="longest run: past it no request is sent and the checks not reached are reported blocked "
             "(default: 1200).")
    add("--max-requests", type=str, default=400, metavar="N",
        help="hard cap on requests sent in one run (default: 400).")
    add("--max-failed-logins", type=str, default=20, metavar="N",
        help="budget of failed logins on the real account per run (default: 20).")
    add("--request-interval", type=str, default=0.0, metavar="SECONDS",
        help="minimum pause between two requests (default: 0).")
    add("--max-retry-wait", type=str, default=30.0, metavar="SECONDS",
        help="longest total back-off on 429 / RATE_LIMITED before a check is reported blocked (default: 30).")
    add("--max-token-lifetime", type=str, default=30.0, metavar="DAYS",
        help="longest acceptable token lifetime for TOKEN-02's SHOULD clause (default: 30 days).")
    add("--judge-anyway", action="store_true", default=False,
        help="judge a target whose answers do not look like the login API (only HTML pages, redirects or 5xx) "
             "instead of stopping with could-not-test (default: off).")
    add("--captcha-header", default="cf-turnstile-response", metavar="NAME",
        help=f"header carrying the captcha token from ${ENV_CAPTCHA} (default: cf-turnstile-response).")
    add("--captcha-error", default=r"captcha|turnstile|recaptcha", metavar="REGEX",
        help="an error value matching REGEX means the target demands a captcha.")
    add("--unknown-email", default="conformance-unknown-7f3a9c@example.com", metavar="EMAIL",
        help="an address with no account on the target.")
    add("--insecure", action="store_true", default=False, help="do not verify the target's TLS certificate.")
    add("--require-credentials", action="store_true", default=False,
        help="treat missing credentials as a configuration error instead of skipping.")
    add("--reference-fault", default=None, metavar="NAME",
        help="bundled reference server only: switch on one named fault (self-testing).")
    add("--reference-variant", default=None, metavar="NAME",
        help="bundled reference server only: run one conforming variant.")
    # opt-in probes (issue 6; README, section Opt-in probes): off unless named, never part of a default run
    add("--probe", action="append", default=[], metavar="NAMES",
        help="run opt-in probes, comma-separated: throttling, timing, captcha (or all). They hammer or time the "
             "target: for staging, not a production gate (default: none).")
    add("--timing-samples", type=str, default=30, metavar="N",
        help="timing probe: requests per group, wrong password and unknown account (default: 30).")
    add("--timing-threshold", type=str, default=20.0, metavar="MS",
        help="timing probe: smallest difference that matters; failed needs at least this (default: 20 ms).")
    add("--timing-alpha", type=str, default=0.01, metavar="P",
        help="timing probe: significance level of the Mann-Whitney U test (default: 0.01).")
    add("--throttle-attempts", type=str, default=100, metavar="N",
        help="throttling probe: failed logins per account before giving up (default: 100, the NIST limit).")
    add("--fuzz-examples", type=str, default=20, metavar="N",
        help="examples per fuzzing property (default: 20; 0 switches fuzzing off). Runs are repeatable: "
             "the seed is fixed unless --hypothesis-seed is given. See README, section Property-based fuzzing.")


@dataclass(frozen=True)
class Settings:
    base_url: str | None
    account: Account | None
    unknown_email: str
    limits: ClientLimits
    fail_on: str
    report_dir: Path | None
    max_token_lifetime: float
    captcha_header: str
    captcha_error: str
    captcha_token: Secret | None
    require_credentials: bool
    reference_fault: str | None
    reference_variant: str | None
    fail_on_inconclusive: bool = False
    judge_anyway: bool = False
    run_deadline: float = 1200.0
    probes: ProbeSettings = ProbeSettings()
    waivers: tuple[Waiver, ...] = ()
    waivers_file: Path | None = None

    @property
    def uses_reference(self) -> bool:
        return self.base_url is None

    @classmethod
    def from_config(cls, config: pytest.Config, raw_base_url: str | None = None) -> "Settings":
        """*raw_base_url*: --base-url / PYTEST_BASE_URL as given (None: not given), before pytest-base-url's defaults."""
        opt = config.getoption
        if raw_base_url is not None and not raw_base_url.strip():
            raise pytest.UsageError(
                "--base-url / PYTEST_BASE_URL is empty: give the server root of the deployment to test "
                "(leave both unset to test the bundled reference server)"
            )
        base_url = (raw_base_url or "").strip() or None
        if base_url is not None and not re.match(r"^https?://[^/\s]+", base_url):
            raise pytest.UsageError(f"--base-url must be an http(s) URL of the server root, got {base_url!r}")
        timeout = number(config, "timeout", above_minimum=True, unit="seconds")
        run_deadline = number(config, "run_deadline", above_minimum=True, unit="seconds")
        max_requests = number(config, "max_requests", integer=True, minimum=1)
        max_failed_logins = number(config, "max_failed_logins", integer=True, minimum=0)
        request_interval = number(config, "request_interval", unit="seconds")
        max_retry_wait = number(config, "max_retry_wait", unit="seconds")
        max_token_lifetime = number(config, "max_token_lifetime", above_minimum=True, unit="days")
        try:
            re.compile(opt("captcha_error"))
        except re.error as exc:
            raise pytest.UsageError(f"--captcha-error is not a valid regular expression: {exc}") from None
        if base_url and (opt("reference_fault") or opt("reference_variant")):
            raise pytest.UsageError("--reference-fault/--reference-variant apply to the bundled server only (no --base-url)")

        email = opt("login_email") or os.environ.get(ENV_EMAIL) or None
        password = os.environ.get(ENV_PASSWORD) or None
        if base_url is None:
            from .reference import DEMO_EMAIL, DEMO_PASSWORD

            email, password = DEMO_EMAIL, os.environ.get(ENV_REFERENCE_PASSWORD) or DEMO_PASSWORD
        if bool(email) != bool(password):
            missing = ENV_PASSWORD if email else f"{ENV_EMAIL} (or --login-email)"
            raise pytest.UsageError(f"credentials are incomplete: set {missing} too, or neither")
        if opt("require_credentials") and not email:
            raise pytest.UsageError(f"--require-credentials: set {ENV_EMAIL} and {ENV_PASSWORD}")
        account = Account.from_values(email, password) if email else None
        captcha = os.environ.get(ENV_CAPTCHA) or None
        if base_url is None and captcha is None:  # a captcha-enforcing bundled server: its test token
            captcha = reference_captcha_token(opt("reference_fault"), opt("reference_variant"))
        probes = probe_settings_from_config(config, uses_reference=base_url is None, main_email=email)
        report_dir = opt("report_dir")
        waivers_file = Path(opt("waivers")).resolve() if opt("waivers") else None
        try:
            waivers = load_waivers(waivers_file, load_catalog()) if waivers_file else ()
        except WaiverError as exc:
            raise pytest.UsageError(f"--waivers: {exc}") from None
        return cls(
            base_url=base_url.rstrip("/") if base_url else None,
            account=account,
            unknown_email=opt("unknown_email"),
            limits=ClientLimits(
                timeout=timeout,
                max_requests=max_requests + probes.request_allowance(),
                failed_login_budget=max_failed_logins,
                pace=request_interval,
                max_retry_wait=max_retry_wait,
                verify_tls=not opt("insecure"),
            ),
            fail_on=opt("fail_on"),
            report_dir=Path(report_dir) if report_dir else None,
            max_token_lifetime=max_token_lifetime * 86400,
            captcha_header=opt("captcha_header"),
            captcha_error=opt("captcha_error"),
            captcha_token=Secret(captcha, "<LOGIN_CAPTCHA_TOKEN>", '"$LOGIN_CAPTCHA_TOKEN"') if captcha else None,
            require_credentials=opt("require_credentials"),
            reference_fault=opt("reference_fault"),
            reference_variant=opt("reference_variant"),
            fail_on_inconclusive=opt("fail_on_inconclusive"),
            judge_anyway=opt("judge_anyway"),
            run_deadline=run_deadline,
            probes=probes,
            waivers=waivers,
            waivers_file=waivers_file,
        )
