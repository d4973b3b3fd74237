"""From pytest's configuration to the run: --base-url as given, the settings (one-line errors, a report even for
those), the run's state, and the report header that says what is tested and how."""

from __future__ import annotations

import contextlib
import os

import pytest

from ..config.selection import selection_from_config
from ..config.settings import ENV_EMAIL, ENV_PASSWORD, Settings
from ..contract import catalog as catalogs
from ..fuzz.config import fuzz_settings
from ..judging.results import Results
from ..judging.run_record import RunRecord
from ..sending.target_url import url_password
from ..sending.secrets import Redactor
from .session import EXIT_COULD_NOT_TEST, SuiteState, keep

_RAW_BASE_URL = pytest.StashKey["str | None"]()


def given_base_url(config: pytest.Config) -> str | None:
    """--base-url as given: pytest-base-url turns "not given" into "", and an empty value is a usage error, so
    whether it was given is read from the command line, PYTEST_ADDOPTS, the environment and the ini file."""
    raw = config.getoption("base_url") or ""
    words = [str(a) for a in config.invocation_params.args] + os.environ.get("PYTEST_ADDOPTS", "").split()
    given = (any(w == "--base-url" or w.startswith("--base-url=") for w in words)
             or "PYTEST_BASE_URL" in os.environ or bool(config.getini("base_url")))
    if not given or hasattr(config, "workerinput"):  # xdist workers get the controller's validated value
        raw = raw or None
    config.stash[_RAW_BASE_URL] = raw
    return raw


def configure(config: pytest.Config) -> SuiteState:
    """The run's state from the options (a bad one: a report saying why, then pytest's usage error)."""
    try:
        from ..entry import runs_the_suite

        # listing the checks (--collect-only) sends nothing, a session of other tests runs none: no target needed
        runs_suite = runs_the_suite(config)
        needs_target = runs_suite and not config.option.collectonly
        settings = Settings.from_config(config, config.stash[_RAW_BASE_URL], needs_target)
        selection = selection_from_config(config, list(catalogs.load_catalog()))
        fuzz_settings(config)  # --fuzz-examples, checked now: a bad value gets its report too
    except pytest.UsageError as exc:
        _report_unusable_configuration(config, str(exc))
        raise
    if settings.base_url and "@" in settings.base_url.split("/")[2]:
        # pytest-base-url prints --base-url in its header line: show it without the userinfo part
        from ..report.json_report import strip_credentials

        config.option.base_url = strip_credentials(settings.base_url)
    state = SuiteState(config=config, settings=settings, catalog=catalogs.load_catalog(), runs_suite=runs_suite)
    state.selection = selection
    keep(config, state)
    if settings.har_file is not None and not hasattr(config, "workerinput"):
        from ..sending.har import remove_parts

        remove_parts(settings.har_file)  # parts a crashed earlier run left behind
    return state


def _report_unusable_configuration(config: pytest.Config, message: str) -> None:
    """A configuration error still leaves a report (verdict could-not-test) where --report-dir asks for one."""
    report_dir = config.getoption("report_dir", None)
    if not report_dir or hasattr(config, "workerinput"):
        return
    from pathlib import Path

    from ..report import evaluate, write_reports
    from ..report.json_report import strip_credentials

    catalog = catalogs.load_catalog()
    raw = config.stash.get(_RAW_BASE_URL, None)
    redactor = Redactor()
    if raw and "://" in raw:
        redactor.add(url_password(raw) or "", "<url-password>")
    record = RunRecord(catalog=catalog, results=Results(catalog), redactor=redactor,
                       target=strip_credentials(raw) if raw and "://" in raw else None,
                       reference_server=raw is None and any(
                           config.getoption(name, None) for name in ("bundled_server", "reference_fault",
                                                                     "reference_variant")),
                       could_not_test=redactor(message),
                       exit_status=EXIT_COULD_NOT_TEST)
    record.finished = record.started
    with contextlib.suppress(OSError):
        write_reports(record, evaluate(record), Path(report_dir))


def report_header(config: pytest.Config, state: SuiteState) -> list[str]:
    from ..about import version_line

    s = state.settings
    lines = [f"hyper3d-login suite: {version_line()}", f"hyper3d-login target: {state.target_label}"]
    if s.uses_reference and config.option.collectonly:
        lines.append("hyper3d-login: --collect-only: no request is sent, no target needed")
    elif s.uses_reference:
        lines.append(
            "hyper3d-login: no --base-url, --bundled-server: testing the BUNDLED REFERENCE SERVER with its demo "
            "account, not a deployment"
        )
    if s.account is not None:
        source = "demo account" if s.uses_reference else f"password from ${ENV_PASSWORD}"
        lines.append(f"hyper3d-login account: {s.account.email} ({source})")
    else:
        lines.append(
            f"hyper3d-login account: none (set {ENV_EMAIL} and {ENV_PASSWORD}): the credentialed requirements are "
            + ("out of scope (--without-credentials)" if s.without_credentials else
               "not checked and the run is INCONCLUSIVE (--without-credentials judges the credential-free subset)")
        )
    gate = f"--fail-on={s.fail_on}" + (" --fail-on-inconclusive" if s.fail_on_inconclusive else "")
    if s.waivers_file:
        gate += f" --waivers={s.waivers_file} ({len(s.waivers)} waiver(s))"
    if s.baseline is not None:
        known = sum(k.verdict == "failed" for k in s.baseline.requirements.values())
        lines.append(f"hyper3d-login baseline: {s.baseline.path} ({known} known failure(s))"
                     + ("; --fail-on-new: only new or worse failures gate" if s.fail_on_new else ""))
        if s.baseline.mismatch:
            lines.append(f"hyper3d-login baseline NOTE: {s.baseline.mismatch}")
    if s.har_file is not None:
        lines.append(f"hyper3d-login exchange log: {s.har_file} (HAR 1.2, secrets as labels)")
    lines.append(f"hyper3d-login opt-in probes: {s.probes.describe()}")
    lines.append(
        f"hyper3d-login gate: {gate}; budget: {s.limits.max_requests} requests, "
        f"{s.limits.failed_login_budget} failed logins"
    )
    lines.append(fuzz_settings(config).describe())  # examples per property and the hypothesis seed in use
    return lines
