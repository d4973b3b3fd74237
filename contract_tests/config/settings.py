"""Run settings, from command-line options and the environment, validated once."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..sending.client import Account, ClientLimits
from ..sending.locks import parse_policy
# the options and their environment variables: options.py (cheap to import: every pytest session adds them)
from .options import (ENV_CAPTCHA, ENV_EMAIL, ENV_PASSWORD, ENV_REFERENCE_PASSWORD, FAIL_ON_CHOICES,  # noqa: F401
                      MAX_SECONDS, add_options)
from ..probes.settings import ProbeSettings, probe_settings_from_config
from ..contract.catalog import load_catalog
from .option_values import number
from .paths import writable_directory, writable_file
from ..sending.secrets import Secret
from ..sending.target_url import base_url_problem, shown_url
from ..judging.waivers import Waiver, WaiverError, load_waivers
from ..history.baseline import Baseline, BaselineError, load_baseline


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
    baseline: Baseline | None = None  # --baseline
    fail_on_new: bool = False
    har_file: Path | None = None
    without_credentials: bool = False  # --without-credentials: a run without credentials judges the subset
    notes: tuple[str, ...] = ()  # adjustments made to the options given, one line each (terminal summary)

    @property
    def uses_reference(self) -> bool:
        return self.base_url is None

    @classmethod
    def from_config(cls, config: pytest.Config, raw_base_url: str | None = None,
                    needs_target: bool = True) -> "Settings":
        """*raw_base_url*: --base-url / PYTEST_BASE_URL as given (None: not given), before pytest-base-url's defaults;
        *needs_target*: the session runs the contract suite (not only collects it, not another project's tests)."""
        opt = config.getoption
        if raw_base_url is not None and not raw_base_url.strip():
            raise pytest.UsageError(
                "--base-url / PYTEST_BASE_URL is empty: give the server root of the deployment to test "
                "(leave both unset to test the bundled reference server)"
            )
        base_url = (raw_base_url or "").strip() or None
        problem = base_url_problem(base_url) if base_url is not None else None
        if problem is not None:
            raise pytest.UsageError(f"--base-url must be an http(s) URL of the server root ({problem}), "
                                    f"got {shown_url(str(base_url))!r}")
        if needs_target and base_url is None and not (
                opt("bundled_server") or opt("reference_fault") or opt("reference_variant")):
            raise pytest.UsageError(
                "no target: give --base-url=https://your-deployment (the server root; or $PYTEST_BASE_URL), or "
                "--bundled-server to test the bundled reference server")
        fail_on = str(opt("fail_on")).strip().lower()
        if fail_on not in FAIL_ON_CHOICES:
            raise pytest.UsageError(f"--fail-on must be {' or '.join(FAIL_ON_CHOICES)}, got {opt('fail_on')!r}")
        timeout = number(config, "timeout", above_minimum=True, unit="seconds", maximum=MAX_SECONDS)
        run_deadline = number(config, "run_deadline", above_minimum=True, unit="seconds", maximum=MAX_SECONDS)
        notes = []
        if timeout > run_deadline:  # one request may not outlast the run
            notes.append(f"--timeout={timeout:g} capped to --run-deadline={run_deadline:g} s")
            timeout = run_deadline
        max_requests = number(config, "max_requests", integer=True, minimum=1)
        max_failed_logins = number(config, "max_failed_logins", integer=True, minimum=0)
        request_interval = number(config, "request_interval", unit="seconds", maximum=MAX_SECONDS)
        max_retry_wait = number(config, "max_retry_wait", unit="seconds", maximum=MAX_SECONDS)
        in_flight = number(config, "in_flight", integer=True, minimum=1, maximum=64)
        max_token_lifetime = number(config, "max_token_lifetime", above_minimum=True, unit="days")
        try:
            lockout_policy = parse_policy(opt("lockout_policy")) if opt("lockout_policy") else None
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None
        try:
            re.compile(opt("captcha_error"))
        except re.error as exc:
            raise pytest.UsageError(f"--captcha-error is not a valid regular expression: {exc}") from None
        if base_url and (opt("reference_fault") or opt("reference_variant")):
            raise pytest.UsageError("--reference-fault/--reference-variant apply to the bundled server only (no --base-url)")

        email = opt("login_email") or os.environ.get(ENV_EMAIL) or None
        password = os.environ.get(ENV_PASSWORD) or None
        if base_url is None:
            from ..bundled import demo_account

            email, password = demo_account()
            password = os.environ.get(ENV_REFERENCE_PASSWORD) or password
        if bool(email) != bool(password):
            missing = ENV_PASSWORD if email else f"{ENV_EMAIL} (or --login-email)"
            raise pytest.UsageError(f"credentials are incomplete: set {missing} too, or neither")
        if opt("require_credentials") and not email:
            raise pytest.UsageError(f"--require-credentials: set {ENV_EMAIL} and {ENV_PASSWORD}")
        account = Account.from_values(email, password) if email and password else None  # both or neither
        captcha = os.environ.get(ENV_CAPTCHA) or None
        if base_url is None and captcha is None:  # a captcha-enforcing bundled server: its test token
            from ..bundled import captcha_token

            captcha = captcha_token(opt("reference_fault"), opt("reference_variant"))
        probes = probe_settings_from_config(config, uses_reference=base_url is None, main_email=email)
        report_dir = opt("report_dir")
        writing = not hasattr(config, "workerinput")  # xdist workers write no reports (the controller checked)
        if report_dir and writing:
            writable_directory(Path(report_dir), "--report-dir")
        if opt("har") and writing:
            writable_file(Path(opt("har")), "--har")
        waivers_file = Path(opt("waivers")).resolve() if opt("waivers") else None
        try:
            waivers = load_waivers(waivers_file, load_catalog()) if waivers_file else ()
        except WaiverError as exc:
            raise pytest.UsageError(f"--waivers: {exc}") from None
        try:
            baseline = load_baseline(opt("baseline")) if opt("baseline") else None
        except BaselineError as exc:
            raise pytest.UsageError(str(exc)) from None
        if opt("fail_on_new") and baseline is None:
            raise pytest.UsageError("--fail-on-new needs --baseline FILE (the conformance.json of an earlier run)")
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
                in_flight=in_flight,
                lockout_policy=lockout_policy,
                verify_tls=not opt("insecure"),
            ),
            fail_on=fail_on,
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
            baseline=baseline,
            fail_on_new=bool(opt("fail_on_new")),
            har_file=Path(opt("har")).resolve() if opt("har") else None,
            without_credentials=bool(opt("without_credentials")),
            notes=tuple(notes),
        )
