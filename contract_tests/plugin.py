"""pytest plugin of the Hyper3D login contract suite: options, target, verdicts, gate, summary."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import time
from dataclasses import dataclass, field

import pytest

from .judging import verdicts
from .judging import invariants
from . import plan, warm_up
from .probes import settings as probe_settings
from .contract.catalog import Requirement, load_catalog
from .sending.client import ContractClient, NotSent, SharedTally
from .judging.verdicts import TestContext, Violation
from .sending.exchange import Exchange
from .fuzz.config import fuzz_settings
from .judging.results import SKIP_PREFIXES, Observation, Results, Verdict, level_gates
from .judging.run_record import RunRecord
from .sending.secrets import Redactor
from .config.selection import RequirementSelection, selection_from_config
from .config.settings import ENV_EMAIL, ENV_PASSWORD, Settings, add_options

EXIT_COULD_NOT_TEST = 4  # same as pytest's usage error: bad configuration or untestable target
MARKER = "requirement"
_STATE = pytest.StashKey["SuiteState"]()
_CTX = pytest.StashKey[TestContext]()
_RAW_BASE_URL = pytest.StashKey["str | None"]()
COLLECTED_ORDER = pytest.StashKey[int]()  # definition order: the suite runs in it whatever reorders items


@dataclass
class SuiteState:
    """Everything one run of the suite shares."""

    config: pytest.Config
    settings: Settings
    catalog: dict[str, Requirement]
    redactor: Redactor = field(default_factory=Redactor)
    results: Results | None = None
    client: ContractClient | None = None
    observer: invariants.Observer | None = None  # the cross-cutting invariants of this process (judging/invariants.py)
    server: object | None = None
    target_url: str | None = None
    could_not_test: str | None = None
    stopped: str | None = None  # the run ended early for another reason (run deadline)
    preflight_login: Exchange | None = None  # the pre-flight login with the configured credentials (RESP-01's)
    session: pytest.Session | None = None
    planned: set[str] = field(default_factory=set)  # node IDs whose request was sent ahead (plan.py)
    plan_inputs: tuple | None = None  # what the last plan could use (session fixtures, failed logins); None: no plan
    session_values: dict[str, object] = field(default_factory=dict)  # session fixtures set up so far, by name
    started: float = field(default_factory=time.time)
    started_monotonic: float = field(default_factory=time.monotonic)  # --run-deadline counts from here
    finished: float | None = None
    contract_items: int = 0
    collected_contract: int = 0  # contract tests collected, before any deselection
    selected: frozenset[str] | None = None  # requirements the selected tests declare (None: the whole catalog)
    selection_note: str | None = None
    whole_suite: bool = True  # every test module of contract_tests/suite was collected
    workers: dict[str, dict] = field(default_factory=dict)  # xdist controller: what each worker reported
    unexplained_failures: int = 0  # failed test reports that carry no contract violation (suite errors)
    outcome: object | None = None  # judging.outcome.Outcome, once the run is over
    final_record: RunRecord | None = None  # what the reports were written from
    selection: dict | None = None  # --requirement: {"patterns", "selected", "excluded"} (selection.py); None: all
    har: object | None = None  # --har: sending.har.HarRecorder of this process
    report_error: str | None = None  # the reports could not be written at the end (disk full, removed)
    runs_suite: bool = False  # the session's arguments name the contract suite (entry.runs_the_suite)
    interrupted_by: str | None = None  # SIGINT / SIGTERM: the signal that interrupted the run
    finishing: bool = False  # the reports are being written: a signal no longer interrupts

    @property
    def has_contract_run(self) -> bool:
        """Contract tests ran here, or (xdist controller) on some worker."""
        return (bool(self.contract_items) or self.could_not_test is not None
                or any(w.get("contract_items") for w in self.workers.values()))

    def worker_summary(self) -> dict:
        """What an xdist worker hands the controller (config.workeroutput)."""
        return {
            "contract_items": self.contract_items,
            "requests": self.client.requests_sent if self.client else 0,
            "failed_logins": self.client.failed_logins if self.client else 0,
            "sent_ahead": self.client.sent_ahead if self.client else 0,
            "unused_ahead": self.client.unused_ahead if self.client else 0,
            **self._backoff(),
            "answer_times": self.client.answer_times if self.client else [],
            "target": self.target_url,
            "could_not_test": self.could_not_test,
            "stopped": self.stopped,
            "selected": sorted(self.selected) if self.selected is not None else None,
            "selection_note": self.selection_note,
            "held": self.unreported_invariant_failures(),
        }

    def _backoff(self) -> dict:
        """The rate limits and lockouts this process's client met, the time it waited on them, and the gateway
        answers it retried."""
        client = self.client
        return {"rate_limited": client.rate_limited if client else 0, "locked_out": client.locked_out if client else 0,
                "backoff_seconds": client.backoff_seconds if client else 0.0,
                "gateway_retries": client.gateway_retries if client else 0,
                "gateway_blips": client.gateway_blips if client else 0}

    @staticmethod
    def unreported_invariant_failures() -> list[dict]:
        """Held failures no item reported (its item deselected or run earlier on this worker; a 5xx charged to the
        request's own requirement during another test): they still count."""
        return [o.to_dict() for o in verdicts.take_held()]

    def record(self) -> RunRecord:
        """The run as the gate and the reports see it (xdist: summed over the workers)."""
        from .report.json_report import strip_credentials

        s = self.settings
        requests = self.client.requests_sent if self.client else 0
        failed_logins = self.client.failed_logins if self.client else 0
        sent_ahead = self.client.sent_ahead if self.client else 0
        unused_ahead = self.client.unused_ahead if self.client else 0
        backoff = self._backoff()
        answer_times = list(self.client.answer_times) if self.client else []
        target, selected = self.target_url, self.selected
        could_not_test, stopped, note = self.could_not_test, self.stopped, self.selection_note
        for info in self.workers.values():
            requests += int(info.get("requests") or 0)
            failed_logins += int(info.get("failed_logins") or 0)
            sent_ahead += int(info.get("sent_ahead") or 0)
            unused_ahead += int(info.get("unused_ahead") or 0)
            for name in backoff:
                backoff[name] += info.get(name) or 0
            answer_times += [tuple(times) for times in info.get("answer_times") or ()]
            target = target or info.get("target")
            could_not_test = could_not_test or info.get("could_not_test")
            stopped = stopped or info.get("stopped")
            note = note or info.get("selection_note")
            if info.get("selected") is not None:
                selected = (selected or frozenset()) | frozenset(info["selected"])
        record = RunRecord(
            catalog=self.catalog, results=self.results, redactor=self.redactor,
            target=strip_credentials(target or s.base_url), target_label=self.target_label,
            reference_server=s.uses_reference, reference_fault=s.reference_fault,
            reference_variant=s.reference_variant, credentials=s.account is not None,
            fail_on=s.fail_on, fail_on_inconclusive=s.fail_on_inconclusive, waivers=s.waivers,
            waivers_file=s.waivers_file, probes_enabled=s.probes.enabled,
            max_requests=s.limits.max_requests, failed_login_budget=s.limits.failed_login_budget,
            started=self.started, finished=self.finished, requests=requests, failed_logins=failed_logins, **backoff,
            answer_times=tuple(answer_times),
            in_flight=s.limits.in_flight, sent_ahead=sent_ahead, unused_ahead=unused_ahead,
            workers=len(self.workers), hypothesis_seed=self.hypothesis_seed, selected=selected,
            selection_note=note, could_not_test=could_not_test, stopped=stopped,
            suite_errors=self.unexplained_failures, without_credentials=s.without_credentials,
        )
        self._compare_with_baseline(record)
        return record

    def _compare_with_baseline(self, record: RunRecord) -> None:
        if self.settings.baseline is None:
            return
        from .history.baseline import compare

        comparison = compare(self.settings.baseline, record.results.by_requirement())
        record.baseline = comparison
        if self.settings.fail_on_new:
            record.known_failures = comparison.known_failures()

    def __post_init__(self) -> None:
        self.results = Results(self.catalog)
        if self.settings.account is not None:
            self.redactor.add(self.settings.account.password)
        if self.settings.captcha_token is not None:
            self.redactor.add(self.settings.captcha_token)
        if self.settings.base_url:  # https://user:password@host: the password is a secret too
            import urllib.parse

            self.redactor.add(urllib.parse.urlsplit(self.settings.base_url).password or "", "<url-password>")
        if self.settings.probes.throwaway is not None:
            self.redactor.add(self.settings.probes.throwaway.password)

    @property
    def hypothesis_seed(self) -> int | str:
        """The hypothesis seed the fuzzing tests use (--hypothesis-seed, else a fixed default): reports carry it."""
        return fuzz_settings(self.config).seed

    @property
    def target_label(self) -> str:
        if self.settings.uses_reference:
            extra = ""
            if self.settings.reference_fault:
                extra = f", fault {self.settings.reference_fault!r}"
            if self.settings.reference_variant:
                extra += f", variant {self.settings.reference_variant!r}"
            return f"{self.target_url or 'http://127.0.0.1:<free port>'} (BUNDLED REFERENCE SERVER{extra})"
        return self.redactor(self.settings.base_url or "")

    def open(self) -> None:
        """Start the bundled server or check that the target can be tested at all."""
        if self.client is not None:
            return
        s = self.settings
        if s.uses_reference:
            from . import bundled

            try:
                self.server = bundled.start(
                    fault=s.reference_fault, variant=s.reference_variant,
                    demo_password=s.account.password.value if s.account else None,
                )
            except ValueError as exc:
                self._cannot_test(str(exc))
            self.target_url = self.server.url
        else:
            self.target_url = s.base_url
        # --run-deadline counts from the run's start (collection, the pre-flight included); the limits are the
        # settings' own, per client
        limits = dataclasses.replace(s.limits, run_deadline=self.started_monotonic + s.run_deadline)
        self.client = ContractClient(
            self.target_url,
            self.redactor,
            limits,
            captcha_header=s.captcha_header,
            captcha_token=s.captcha_token,
            captcha_pattern=s.captcha_error,
            account=s.account,
        )
        self.observer = invariants.Observer()
        self.client.observer = self.observer
        if s.har_file is not None:
            from .sending.client import DEFAULT_HEADERS
            from .sending.har import HarRecorder

            self.har = HarRecorder(DEFAULT_HEADERS, s.captcha_header)
            self.client.recorder = self.har
        self.client.on_stop = self._on_stop
        tally = getattr(self.config, "workerinput", {}).get("hyper3d_tally")
        if tally:
            self.client.shared = SharedTally(tally)
        from .sending.preflight import CannotTest, check_target

        reports_here = s.report_dir is not None and not hasattr(self.config, "workerinput")
        warm_up.plan(fuzzing=self._fuzzes(), html=reports_here)
        self.client.while_waiting = warm_up.step  # done while the first checks wait on the network
        try:
            self.preflight_login = check_target(self.client, s.account, judge_anyway=s.judge_anyway)
        except CannotTest as exc:
            self._cannot_test(str(exc))

    def _fuzzes(self) -> bool:
        """This process runs fuzzing properties."""
        return (self.session is not None and fuzz_settings(self.config).enabled
                and any(item.get_closest_marker("fuzz") for item in self.session.items))

    def send_ahead(self, item: pytest.Item) -> None:
        """At the run's first check: send the run's plannable requests ahead (plan.py); again whenever a session
        fixture has been set up since (a learned value: the checks that need it can be planned), and once the
        success-path checks are done (the requests naming the account that may fail a login)."""
        client = self.client
        failed_logins = item.get_closest_marker("success_path") is None
        inputs = (len(self.session_values), failed_logins)
        if (client is None or client.limits.in_flight <= 1 or client.stopped or self.session is None
                or hasattr(self.config, "workerinput") or self.plan_inputs == inputs):
            return
        self.plan_inputs = inputs
        items = self.session.items
        # what a test may use before its request at plan time: data, and the suite and its client read-only
        fixtures = {name: (lambda value=value: value) for name, value in self.session_values.items()
                    if plan.plain_data(value)}
        fixtures.update({"unknown_email": lambda: self.settings.unknown_email, "account": lambda: self.settings.account,
                         "suite": lambda: plan.ReadOnlySuite(self), "client": lambda: plan.ReadOnlyClient(client)})
        rest = [later for later in items[items.index(item):] if later.nodeid not in self.planned]
        planned = plan.plan(rest, self.catalog, fixtures, failed_logins=failed_logins)
        if plan.send_ahead(client, planned):
            self.planned.update(key for key, _ in planned)

    def _on_stop(self, reason: str, could_not_test: bool) -> None:
        """The client will send nothing more (target lost, run deadline): end the run after the current test."""
        if could_not_test:
            self.could_not_test = self.could_not_test or self.redactor(reason)
        else:
            self.stopped = self.stopped or reason
        if self.session is not None:
            self.session.shouldstop = f"hyper3d-login: {'could not test: ' if could_not_test else ''}{reason}"

    def _cannot_test(self, reason: str) -> None:
        reason = self.redactor(reason)
        self.could_not_test = reason
        raise _Untestable(reason)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.server is not None:
            self.server.stop()
            self.server = None


class _Untestable(Exception):
    """The target cannot be tested (SuiteState.could_not_test says why): no check runs, the verdict says why."""


def suite_state(config: pytest.Config) -> SuiteState:
    return config.stash[_STATE]


def _declared(item: pytest.Item) -> tuple[str, ...]:
    ids: list[str] = []
    for mark in item.iter_markers(MARKER):
        ids.extend(mark.args)
    return tuple(dict.fromkeys(ids))


def _is_contract(item: pytest.Item) -> bool:
    return item.get_closest_marker(MARKER) is not None or "contract_tests/suite/" in item.nodeid.replace("\\", "/")


# -- configuration ---------------------------------------------------------------------------
def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    add_options(parser, pluginmanager)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(*ids): the requirement IDs (spec/requirements.yaml) a contract test checks."
    )
    config.addinivalue_line(  # with the requirement marker: the suite's modules are imported by self-tests too
        "markers",
        "success_path(spends_failed_logins=False): the test logs in with the right credentials; it runs before the "
        "failed logins are spent on the account, so a lockout policy the suite's own failures trigger cannot reach it.",
    )
    if config.option.help or config.option.version:  # pytest's help or version: no run to set up
        return
    # --base-url as given: pytest-base-url turns "not given" into "", and an empty value is a usage error, so whether
    # it was given is read from the command line, PYTEST_ADDOPTS, the environment and the ini file
    raw = config.getoption("base_url") or ""
    words = [str(a) for a in config.invocation_params.args] + os.environ.get("PYTEST_ADDOPTS", "").split()
    given = (any(w == "--base-url" or w.startswith("--base-url=") for w in words)
             or "PYTEST_BASE_URL" in os.environ or bool(config.getini("base_url")))
    if not given or hasattr(config, "workerinput"):  # xdist workers get the controller's validated value
        raw = raw or None
    config.stash[_RAW_BASE_URL] = raw
    _configure(config)


def _configure(config: pytest.Config) -> None:
    try:
        from .entry import runs_the_suite

        # listing the checks (--collect-only) sends nothing, a session of other tests runs none: no target needed
        runs_suite = runs_the_suite(config)
        needs_target = runs_suite and not config.option.collectonly
        settings = Settings.from_config(config, config.stash[_RAW_BASE_URL], needs_target)
        selection = selection_from_config(config, list(load_catalog()))
        fuzz_settings(config)  # --fuzz-examples, checked now: a bad value gets its report too
    except pytest.UsageError as exc:
        _report_unusable_configuration(config, str(exc))
        raise
    if settings.base_url and "@" in settings.base_url.split("/")[2]:
        # pytest-base-url prints --base-url in its header line: show it without the userinfo part
        from .report.json_report import strip_credentials

        config.option.base_url = strip_credentials(settings.base_url)
    state = SuiteState(config=config, settings=settings, catalog=load_catalog(), runs_suite=runs_suite)
    verdicts.reset_held()
    state.selection = selection
    config.stash[_STATE] = state
    if settings.har_file is not None and not hasattr(config, "workerinput"):
        from .sending.har import remove_parts

        remove_parts(settings.har_file)  # parts a crashed earlier run left behind
    config.pluginmanager.register(RequirementSelection(state), "hyper3d-login-selection")
    config.pluginmanager.register(_Collector(state), "hyper3d-login-collector")
    config.pluginmanager.register(_WorkerMerge(state), "hyper3d-login-xdist-merge")
    redacting = _RedactingFilter(state.redactor)
    for name in ("httpx", "httpcore", "hypothesis", "schemathesis"):
        logging.getLogger(name).addFilter(redacting)


def _report_unusable_configuration(config: pytest.Config, message: str) -> None:
    """A configuration error still leaves a report (verdict could-not-test) where --report-dir asks for one."""
    report_dir = config.getoption("report_dir", None)
    if not report_dir or hasattr(config, "workerinput"):
        return
    from pathlib import Path

    from .report import evaluate, write_reports
    from .report.json_report import strip_credentials

    catalog = load_catalog()
    raw = config.stash.get(_RAW_BASE_URL, None)
    redactor = Redactor()
    if raw and "://" in raw:
        import urllib.parse

        redactor.add(urllib.parse.urlsplit(raw).password or "", "<url-password>")
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


class _RedactingFilter(logging.Filter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._redactor(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            import traceback

            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = self._redactor(record.exc_text)
        return True


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Redact at pytest's log handlers too: records of child loggers (httpcore.http11, ...) skip logger filters."""
    state = suite_state(session.config)
    state.session = session
    _install_signal_handlers(state)
    logging_plugin = session.config.pluginmanager.get_plugin("logging-plugin")
    redacting = _RedactingFilter(state.redactor)
    for name in ("caplog_handler", "report_handler", "log_file_handler", "log_cli_handler"):
        handler = getattr(logging_plugin, name, None)
        if isinstance(handler, logging.Handler):
            handler.addFilter(redacting)


def pytest_report_header(config: pytest.Config) -> list[str]:
    from .about import version_line

    state = suite_state(config)
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


# -- collection ------------------------------------------------------------------------------
def pytest_itemcollected(item: pytest.Item) -> None:
    item.stash[COLLECTED_ORDER] = item.session.stash.get(_COLLECTED, 0)
    item.session.stash[_COLLECTED] = item.stash[COLLECTED_ORDER] + 1


_COLLECTED = pytest.StashKey[int]()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every contract test declares known requirements; every requirement has a test."""
    state = suite_state(config)
    contract = [item for item in items if _is_contract(item)]
    if not contract:
        return
    problems = []
    covered: set[str] = set()
    for item in contract:
        ids = _declared(item)
        if not ids:
            problems.append(f"{item.nodeid}: no @pytest.mark.{MARKER}(...) naming the requirement it checks")
        unknown = [i for i in ids if i not in state.catalog]
        if unknown:
            problems.append(f"{item.nodeid}: unknown requirement ID(s) {unknown} (not in spec/requirements.yaml)")
        covered.update(ids)
    if _whole_suite_collected(session, contract):
        missing = [rid for rid in state.catalog if rid not in covered]
        if missing:
            problems.append(f"requirements with no test: {', '.join(missing)}")
    if problems:
        raise pytest.UsageError("requirement coverage is broken:\n  " + "\n  ".join(problems))
    probe_settings.gate_items(items, _declared, state.catalog, state.settings.probes)  # skipped unless --probe
    for item in contract:
        item.stash[_CTX] = TestContext(item.nodeid, _declared(item))
        item.extra_keyword_matches.update(_declared(item))  # -k AUTH-01 selects the tests of AUTH-01
    state.collected_contract = len(contract)
    state.whole_suite = _whole_suite_collected(session, contract)


def pytest_collection_finish(session: pytest.Session) -> None:
    """What the selection (-k, -m, --deselect, a subset of paths) left of the catalog: the run's scope."""
    state = suite_state(session.config)
    contract = [item for item in session.items if item.stash.get(_CTX, None) is not None]
    state.contract_items = len(contract)
    if not state.collected_contract:
        return
    selected = frozenset(rid for item in contract for rid in _declared(item))
    opt = session.config.option
    how = [f"--requirement {','.join(state.selection['patterns'])}" if state.selection else "",
           f"-k {opt.keyword!r}" if getattr(opt, "keyword", "") else "",
           f"-m {opt.markexpr!r}" if getattr(opt, "markexpr", "") else "",
           "--deselect" if getattr(opt, "deselect", None) else "",
           "" if state.whole_suite else "a subset of the suite's test files"]
    if selected >= set(state.catalog) and state.whole_suite:
        return
    state.selected = selected
    state.selection_note = ", ".join(h for h in how if h) or None


def _whole_suite_collected(session: pytest.Session, contract: list[pytest.Item]) -> bool:
    from pathlib import Path

    suite_dir = Path(__file__).parent / "suite"
    modules = {p.resolve() for p in suite_dir.glob("test_*.py")}
    seen = {Path(str(item.path)).resolve() for item in contract}
    return bool(modules) and modules <= seen


# -- running ---------------------------------------------------------------------------------
@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> bool | None:
    state = suite_state(session.config)
    try:
        if state.contract_items and not session.config.option.collectonly:
            state.open()
        elif _xdist_controller_of_suite(session.config) and state.settings.base_url:
            state.open()  # an unreachable target: one line and exit 4 here, not a crash in every worker
    except _Untestable:
        return True  # no check runs; the summary and the reports say why (pytest_sessionfinish)
    return None


def _xdist_controller_of_suite(config: pytest.Config) -> bool:
    """The xdist controller (it collects nothing itself) of a run that targets the contract suite."""
    if hasattr(config, "workerinput") or not config.pluginmanager.has_plugin("dsession") or config.option.collectonly:
        return False
    args = [str(a) for a in config.args]
    return config.args_source == pytest.Config.ArgsSource.TESTPATHS or any("contract_tests" in a for a in args)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem):
    ctx = item.stash.get(_CTX, None)
    verdicts.begin(ctx)
    try:
        return (yield)
    finally:
        verdicts.begin(None)


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef, request: pytest.FixtureRequest):
    value = yield
    if fixturedef.scope == "session" and not hasattr(request, "param"):  # fixed for the run: the plan may use it
        state = request.config.stash.get(_STATE, None)
        if state is not None and state.client is not None:
            state.session_values[fixturedef.argname] = value
    return value


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    state = suite_state(item.config)
    client = state.client
    if client is None or item.stash.get(_CTX, None) is None:
        return (yield)
    if item.get_closest_marker("fuzz"):
        warm_up.drop("fuzzing")  # what is not loaded yet, the property loads now
    state.send_ahead(item)
    client.plan_key = item.nodeid  # its request may have been sent ahead
    try:
        return (yield)
    finally:
        client.plan_key = None
        client.discard_ahead(item.nodeid)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    ctx = item.stash.get(_CTX, None)
    if ctx is None:
        return report
    state = suite_state(item.config)
    if call.excinfo is not None and isinstance(call.excinfo.value, NotSent):
        _as_skipped(report, item, verdicts.not_sent_verdict(call.excinfo.value))
    decisive = call.when == "call" or (call.when == "setup" and not report.passed)
    if decisive:
        observations, suite_error = _conclude(ctx, report, call)
        report.hyper3d_observations = [o.to_dict() for o in observations]
        if not suite_error:
            _apply_gate(report, ctx, state.settings.fail_on, _active_waivers(state.settings),
                        _known_failures(state.settings))
    _redact_report(report, state.redactor)
    # one property per requirement, named by its ID, valued by its level: unambiguous for name -> value readers
    report.user_properties.extend((rid, state.catalog[rid].level) for rid in ctx.requirements if rid in state.catalog)
    return report


def _conclude(ctx: TestContext, report: pytest.TestReport, call: pytest.CallInfo) -> tuple[list[Observation], bool]:
    """One observation per declared requirement (plus the recorded ones); True if the suite itself erred."""
    observations = list(ctx.observations)
    observed = {o.requirement for o in observations}  # recorded failures, or an invariant item's own verdict
    evidence = [ex.evidence() for ex in ctx.exchanges[:2]]
    suite_error = False

    def add(verdict: Verdict, message: str, n_a: bool = False) -> None:
        for rid in ctx.requirements:
            if rid not in observed:
                observations.append(Observation(rid, verdict, ctx.nodeid, message, None, evidence, n_a))

    if report.passed:
        add(Verdict.PASSED, f"{len(ctx.exchanges)} exchange(s) checked")
        if ctx.failed():
            report.outcome = "failed"
            report.longrepr = _joined(ctx.failed())
    elif report.skipped:
        reason = _skip_reason(report)
        verdict, n_a = Verdict.SKIPPED, False
        for prefix, v in SKIP_PREFIXES.items():
            if reason.startswith(prefix):
                verdict, n_a = v, prefix == "n/a:"
        add(verdict, reason, n_a)
        if ctx.failed():  # a violation seen before the block must not disappear behind it
            report.outcome = "failed"
            report.longrepr = _joined(ctx.failed()) + f"\n\n(then: {reason})"
    else:
        exc = call.excinfo.value if call.excinfo else None
        if isinstance(exc, Violation):
            add(Verdict.INCONCLUSIVE, "not reached: an earlier check of this test failed")
            others = [o for o in ctx.failed() if o is not exc.observation]
            report.longrepr = exc.observation.message
            if others:
                report.longrepr += "\n\nalso observed in this test:\n" + _brief(others)
            repeats = sum(o.repeat and o is not exc.observation for o in ctx.observations)
            if repeats:
                report.longrepr += (f"\n\n(+{repeats} more response(s) like one reported above: counted in "
                                    "conformance.json)")
        else:
            suite_error = True
            what = call.excinfo.exconly() if call.excinfo else "unknown error"
            add(Verdict.INCONCLUSIVE, f"the check could not complete: {what.splitlines()[0][:300]}")
    return observations, suite_error


def _joined(observations: list[Observation]) -> str:
    return "\n\n".join(o.message for o in observations)


def _brief(observations: list[Observation]) -> str:
    """Other failures the same test saw: headline and expected/actual only, each distinct one once, counted."""
    keep = ("  expected:", "  actual:")
    briefs: dict[str, int] = {}
    for o in observations:
        brief = "\n".join([o.message.splitlines()[0], *(l for l in o.message.splitlines() if l.startswith(keep))])
        briefs[brief] = briefs.get(brief, 0) + 1
    return "\n".join(brief + (f"\n  ({n} responses)" if n > 1 else "") for brief, n in briefs.items())


def _as_skipped(report: pytest.TestReport, item: pytest.Item, reason: str) -> None:
    """The client could not complete the check (budget, rate limit, no answer): a skip carrying its verdict."""
    path, lineno, _ = item.location
    report.outcome = "skipped"
    report.longrepr = (str(path), (lineno or 0) + 1, f"Skipped: {reason}")


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return reason.removeprefix("Skipped: ")


def _active_waivers(settings: Settings) -> dict[str, object]:
    return {w.id: w for w in settings.waivers if not w.expired()}


def _known_failures(settings: Settings) -> dict[str, str]:
    """--fail-on-new: requirement -> the level it failed at in the baseline (failures no stricter do not gate)."""
    if not settings.fail_on_new or settings.baseline is None:
        return {}
    return {rid: k.failed_level or "MUST" for rid, k in settings.baseline.requirements.items() if k.verdict == "failed"}


def _apply_gate(report: pytest.TestReport, ctx: TestContext, fail_on: str, waived: dict | None = None,
                known: dict[str, str] | None = None) -> None:
    """A violation below the gate level, of a waived requirement or (--fail-on-new) one the baseline already had
    shows as xfail: visible, not failing."""
    failures = ctx.failed() or ctx.failed(repeats=True)
    if not report.failed or not failures:
        return
    waived, known = waived or {}, known or {}
    catalog = load_catalog()
    order = ["MUST", "SHOULD", "MAY"]

    def is_known(o: Observation) -> bool:
        before = known.get(o.requirement)
        return before is not None and order.index(o.level or catalog[o.requirement].level) >= order.index(before)

    levels = {o.level or catalog[o.requirement].level for o in failures
              if o.requirement not in waived and not is_known(o)}
    if any(level_gates(level, fail_on) for level in levels):
        return
    first = failures[0].message.splitlines()[0]
    report.outcome = "skipped"
    why = []
    if levels:
        why.append(f"non-gating {'/'.join(sorted(levels))} violation at --fail-on={fail_on}")
    ids = sorted({o.requirement for o in failures if o.requirement in waived})
    if ids:
        why.append("waived " + ", ".join(f"{i} (until {waived[i].expires})" for i in ids))
    ids = sorted({o.requirement for o in failures if o.requirement not in waived and is_known(o)})
    if ids:
        why.append(f"known from the baseline (--fail-on-new): {', '.join(ids)}")
    report.wasxfail = f"{'; '.join(why)}: {first}"


def _redact_report(report: pytest.TestReport, redactor: Redactor) -> None:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        report.longrepr = (longrepr[0], longrepr[1], redactor(longrepr[2]))
    elif longrepr is not None:
        report.longrepr = redactor(str(longrepr))
    report.sections = [(title, redactor(content)) for title, content in report.sections]
    if hasattr(report, "wasxfail"):
        report.wasxfail = redactor(report.wasxfail)


class _Collector:
    """Gathers observations from reports (also those xdist workers send to the controller)."""

    def __init__(self, state: SuiteState) -> None:
        self._state = state

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        observations = getattr(report, "hyper3d_observations", None) or ()
        for data in observations:
            self._state.results.add(Observation.from_dict(data))
        if report.failed and not any(data["verdict"] == Verdict.FAILED.value for data in observations):
            self._state.unexplained_failures += 1  # a suite error, a failing teardown, a non-contract test


class _WorkerMerge:
    """xdist controller: collects what each worker's suite state reported (request counts, target)."""

    def __init__(self, state: SuiteState) -> None:
        self._state = state
        self._tally: str | None = None

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node) -> None:
        """Every worker counts requests and failed logins in one file, and keeps the pause, the locks and the
        account gate there (sending/shared_tally.py): the budgets and the gate are per run."""
        if self._tally is None:
            import tempfile

            fd, self._tally = tempfile.mkstemp(prefix="hyper3d-login-tally-", suffix=".json")
            os.close(fd)
        node.workerinput["hyper3d_tally"] = self._tally

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        for path in (self._tally, f"{self._tally}.lock") if self._tally else ():  # (the tally's file lock)
            with contextlib.suppress(OSError):
                os.unlink(path)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error) -> None:
        summary = dict((getattr(node, "workeroutput", None) or {}).get("hyper3d_login") or {})
        for data in summary.pop("held", None) or ():  # each worker judged its own exchanges
            self._state.results.add(Observation.from_dict(data))
        if summary:
            self._state.workers[str(node.gateway.id)] = summary


# -- reporting and gate ----------------------------------------------------------------------
_PYTEST_ENDINGS = {
    2: "the run was interrupted before all checks ran",  # (by SIGINT or SIGTERM: the signal is named)
    3: "pytest stopped with an internal error (see the output above)",
    5: "no contract test ran: every test was deselected or none was collected",
}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = suite_state(session.config)
    state.finishing = True
    state.finished = time.time()
    _write_har(session.config, state)
    if hasattr(session.config, "workerinput"):  # xdist worker: the controller reports and gates
        session.config.workeroutput["hyper3d_login"] = state.worker_summary()
        return
    if session.config.option.collectonly or not (
            state.has_contract_run or state.collected_contract
            or (state.settings.report_dir is not None and _xdist_controller_of_suite(session.config))):
        return  # not a run of the contract suite (e.g. the suite's own self-tests): no verdict
    from .report import EXIT_INCONCLUSIVE, evaluate, write_reports

    status = int(session.exitstatus)
    for data in state.unreported_invariant_failures():
        state.results.add(Observation.from_dict(data))
    record = state.record()
    ending = _PYTEST_ENDINGS.get(status)
    interrupted = status == 2 and not state.stopped  # 2 with state.stopped: the suite itself stopped the run
    if interrupted:
        ending = ending.replace("interrupted", f"interrupted ({state.interrupted_by or 'SIGINT'})")
    if ending and not record.could_not_test:
        record.stopped = record.stopped or ending
    outcome = evaluate(record)
    if record.could_not_test:
        final = EXIT_COULD_NOT_TEST
    elif status in (0, 1) or not interrupted and status == 2:
        final = outcome.exit_code
    else:  # pytest's own ending (interrupted, internal error, nothing ran): the process exits with it
        final = status
        if status == 3:
            outcome.verdict = "error"
        elif interrupted:
            outcome.verdict, outcome.exit_code = "interrupted", status
        elif outcome.verdict == "conforming":
            outcome.verdict, outcome.exit_code = "inconclusive", EXIT_INCONCLUSIVE
    session.exitstatus = final
    record.exit_status = final
    state.outcome, state.final_record = outcome, record
    if state.settings.report_dir is not None:
        try:
            write_reports(record, outcome, state.settings.report_dir)
        except OSError as exc:  # checked before the first request; the disk may still fill up or go away
            state.report_error = f"--report-dir {state.settings.report_dir}: the reports could not be written ({exc})"


def _write_har(config: pytest.Config, state: SuiteState) -> None:
    """--har: a worker writes its part, the controller (or a serial run) the file, merging the workers' parts."""
    path = state.settings.har_file
    if path is None:
        return
    from .sending.har import HarRecorder, merge_parts, part_path

    worker = getattr(config, "workerinput", {}).get("workerid")
    recorder = state.har if state.har is not None else HarRecorder()
    try:
        if worker:
            recorder.write(part_path(path, worker))
            return
        recorder.write(path, comment=f"hyper3d-login-conformance run against {state.target_label}")
        merge_parts(path)
    except OSError as exc:
        state.config.get_terminal_writer().line(f"hyper3d-login: --har {path}: cannot write it ({exc})", red=True)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    state = suite_state(config)
    if state.outcome is None:
        return
    from .report.terminal import write_summary

    # the failures are named by requirement (ID, level, title) in the summary, not by test file path; pytest's own
    # FAILED lines only where -r asks for them
    words = [str(a) for a in config.invocation_params.args] + os.environ.get("PYTEST_ADDOPTS", "").split()
    if not any(w.startswith("-r") for w in words):
        terminalreporter.reportchars = terminalreporter.reportchars.replace("f", "")
    write_summary(terminalreporter, state.final_record, state.outcome,
                  None if state.report_error else state.settings.report_dir, state.settings.notes)


@pytest.hookimpl(trylast=True)  # after pytest's own closing lines: the verdict is the log's last line
def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is None:
        return
    _restore_signals(state)
    state.close()
    if state.outcome is None or config.pluginmanager.get_plugin("terminalreporter") is None:
        return
    from .report.terminal import verdict_line

    line, markup = verdict_line(state.final_record, state.outcome,
                                None if state.report_error else state.settings.report_dir)
    writer = config.get_terminal_writer()
    if state.report_error:
        writer.line(f"hyper3d-login: {state.report_error}", red=True)
    writer.line(line, **markup)


# -- signals ---------------------------------------------------------------------------------
_PREVIOUS_HANDLERS = pytest.StashKey[dict]()


def _install_signal_handlers(state: SuiteState) -> None:
    """SIGTERM (what CI runners send on a timeout or a cancel) ends the run as SIGINT does: the checks stop, the
    partial results are judged and reported, verdict "interrupted", exit 2."""
    import threading

    if (not state.runs_suite or threading.current_thread() is not threading.main_thread()
            or hasattr(state.config, "workerinput")):
        return

    def interrupt(signum, frame) -> None:
        if state.finishing:
            return  # the reports are being written: let them finish
        state.interrupted_by = signal.Signals(signum).name
        raise KeyboardInterrupt

    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(signum) in (signal.default_int_handler, signal.SIG_DFL):
            previous[signum] = signal.signal(signum, interrupt)
    state.config.stash[_PREVIOUS_HANDLERS] = previous


def _restore_signals(state: SuiteState) -> None:
    for signum, handler in state.config.stash.get(_PREVIOUS_HANDLERS, {}).items():
        signal.signal(signum, handler)
