"""The run's own objects: settings, redactor, judging ledger, the target and the client that sends to it."""

from __future__ import annotations

import dataclasses
import ssl
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NoReturn

import pytest

from ..config.settings import Settings
from ..contract.catalog import Requirement
from ..fuzz.config import fuzz_settings
from ..judging import invariants
from ..judging.ledger import Ledger
from ..judging.results import Results
from ..judging.run_record import RunRecord
from ..sending.target_url import url_password
from ..sending.transport import trust_store_problem
from ..sending.client import ContractClient
from ..sending.exchange import Exchange
from ..sending.secrets import Redactor
from ..warm_up import WarmUp

if TYPE_CHECKING:
    from ..bundled import BundledServer
    from ..judging.outcome import Outcome
    from ..sending.har import HarRecorder

EXIT_COULD_NOT_TEST = 4  # same as pytest's usage error: bad configuration or untestable target
_STATE = pytest.StashKey["SuiteState"]()
LEDGER = pytest.StashKey[Ledger]()  # the run's judging ledger (also SuiteState.ledger)


@dataclass
class SuiteState:
    """Everything one run of the suite shares."""

    config: pytest.Config
    settings: Settings
    catalog: dict[str, Requirement]
    redactor: Redactor = field(default_factory=Redactor)
    ledger: Ledger = field(default_factory=Ledger)  # the running test, its observations, the held failures
    warm_up: WarmUp = field(default_factory=WarmUp)  # work done while the first checks wait on the network
    results: Results = field(init=False)
    client: ContractClient | None = None
    observer: invariants.Observer | None = None  # the cross-cutting invariants of this process (judging/invariants.py)
    server: BundledServer | None = None
    target_url: str | None = None
    could_not_test: str | None = None
    stopped: str | None = None  # the run ended early for another reason (run deadline)
    preflight_login: Exchange | None = None  # the pre-flight login with the configured credentials (RESP-01's)
    session: pytest.Session | None = None
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
    outcome: Outcome | None = None  # once the run is over
    final_record: RunRecord | None = None  # what the reports were written from
    selection: dict | None = None  # --requirement: {"patterns", "selected", "excluded"} (selection.py); None: all
    har: HarRecorder | None = None  # --har: this process's recorder
    report_error: str | None = None  # the reports could not be written at the end (disk full, removed)
    runs_suite: bool = False  # the session's arguments name the contract suite (entry.runs_the_suite)
    interrupted_by: str | None = None  # SIGINT / SIGTERM: the signal that interrupted the run
    finishing: bool = False  # the reports are being written: a signal no longer interrupts

    @property
    def has_contract_run(self) -> bool:
        """Contract tests ran here, or (xdist controller) on some worker."""
        return (bool(self.contract_items) or self.could_not_test is not None
                or any(w.get("contract_items") for w in self.workers.values()))

    def __post_init__(self) -> None:
        self.results = Results(self.catalog)
        if self.settings.account is not None:
            self.redactor.add(self.settings.account.password)
        if self.settings.captcha_token is not None:
            self.redactor.add(self.settings.captcha_token)
        if self.settings.base_url:  # https://user:password@host: the password is a secret too
            self.redactor.add(url_password(self.settings.base_url) or "", "<url-password>")
        if self.settings.probes.throwaway is not None:
            self.redactor.add(self.settings.probes.throwaway.password)

    @property
    def open_client(self) -> ContractClient:
        """The client, once :meth:`open` made it (before the first contract test runs)."""
        if self.client is None:
            raise RuntimeError("the run's client was used before the run opened it")
        return self.client

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
            from .. import bundled

            try:
                self.server = bundled.start(
                    fault=s.reference_fault, variant=s.reference_variant,
                    demo_password=s.account.password.value if s.account else None,
                )
            except ValueError as exc:
                self._cannot_test(str(exc))
            url = self.server.url
        else:
            url = s.base_url or ""  # set whenever the bundled server is not used (settings.py)
        self.target_url = url
        # --run-deadline counts from the run's start (collection, the pre-flight included); the limits are the
        # settings' own, per client
        limits = dataclasses.replace(s.limits, run_deadline=self.started_monotonic + s.run_deadline)
        try:
            self.client = ContractClient(
                url,
                self.redactor,
                limits,
                captcha_header=s.captcha_header,
                captcha_token=s.captcha_token,
                captcha_pattern=s.captcha_error,
                account=s.account,
            )
        except (OSError, ssl.SSLError) as exc:  # the TLS context, made with the client, reads SSL_CERT_FILE / _DIR
            self._cannot_test(trust_store_problem(exc))
        self.client.ledger = self.ledger  # stamped on every exchange: the call-site API records there
        self.observer = invariants.Observer(self.ledger)
        self.client.observer = self.observer
        if s.har_file is not None:
            from ..sending.client import DEFAULT_HEADERS
            from ..sending.har import HarRecorder

            self.har = HarRecorder(DEFAULT_HEADERS, s.captcha_header)
            self.client.recorder = self.har
        self.client.on_stop = self._on_stop
        from .xdist import worker_tally

        self.client.shared = worker_tally(self.config)
        from ..sending.preflight import CannotTest, check_target

        reports_here = s.report_dir is not None and not hasattr(self.config, "workerinput")
        self.warm_up.prepare(fuzzing=self._fuzzes(), html=reports_here)
        self.client.while_waiting = self.warm_up.step  # done while the first checks wait on the network
        try:
            self.preflight_login = check_target(self.client, s.account, judge_anyway=s.judge_anyway)
        except CannotTest as exc:
            self._cannot_test(str(exc))

    def _fuzzes(self) -> bool:
        """This process runs fuzzing properties."""
        return (self.session is not None and fuzz_settings(self.config).enabled
                and any(item.get_closest_marker("fuzz") for item in self.session.items))

    def _on_stop(self, reason: str, could_not_test: bool) -> None:
        """The client will send nothing more (target lost, run deadline): end the run after the current test."""
        if could_not_test:
            self.could_not_test = self.could_not_test or self.redactor(reason)
        else:
            self.stopped = self.stopped or reason
        if self.session is not None:
            self.session.shouldstop = f"hyper3d-login: {'could not test: ' if could_not_test else ''}{reason}"

    def _cannot_test(self, reason: str) -> NoReturn:
        reason = self.redactor(reason)
        self.could_not_test = reason
        raise Untestable(reason)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.server is not None:
            self.server.stop()
            self.server = None


class Untestable(Exception):
    """The target cannot be tested (SuiteState.could_not_test says why): no check runs, the verdict says why."""


def suite_state(config: pytest.Config) -> SuiteState:
    return config.stash[_STATE]


def suite_state_or_none(config: pytest.Config) -> SuiteState | None:
    return config.stash.get(_STATE, None)


def keep(config: pytest.Config, state: SuiteState) -> None:
    """*state* is the run of *config*: it and its judging ledger in the config's stash."""
    config.stash[_STATE] = state
    config.stash[LEDGER] = state.ledger
