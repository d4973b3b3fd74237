"""One run of the suite as the gate and the reports see it: facts about the run plus every observation.

The pytest plugin fills a :class:`RunRecord`; the gate (``judging.outcome``) and every report writer read
only this, so a run that could not even start (a bad option, an empty ``--base-url``) gets the same
reports as a complete one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from ..contract.catalog import Requirement
from .results import Results
from ..sending.secrets import Redactor


@dataclass
class RunRecord:
    catalog: dict[str, Requirement]
    results: Results
    redactor: Redactor = field(default_factory=Redactor)
    target: str | None = None  # the server root, credentials stripped
    target_label: str = ""
    reference_server: bool = False
    reference_fault: str | None = None
    reference_variant: str | None = None
    credentials: bool = False
    without_credentials: bool = False  # --without-credentials: no credentials means the credential-free subset
    fail_on: str = "must"
    fail_on_inconclusive: bool = False
    waivers: tuple = ()
    waivers_file: Path | None = None
    probes_enabled: frozenset[str] = frozenset()
    max_requests: int = 0
    failed_login_budget: int = 0
    started: float = field(default_factory=time.time)
    finished: float | None = None
    requests: int = 0
    failed_logins: int = 0
    rate_limited: int = 0  # rate-limit answers (429 / RATE_LIMITED) the client met
    locked_out: int = 0  # lockout answers (423, lock errors) the client met
    backoff_seconds: float = 0.0  # time the client waited on them
    in_flight: int = 1  # --in-flight: requests sent ahead at once
    sent_ahead: int = 0  # requests answered before their test ran (judged when it ran)
    unused_ahead: int = 0  # of those, answers no test asked for (a fuzzing property that failed early): not judged
    workers: int = 0
    hypothesis_seed: int | str | None = None
    # requirements some selected test declares; None when the whole catalog was selected (or unknown)
    selected: frozenset[str] | None = None
    selection_note: str | None = None  # how the user narrowed the selection (-k, --requirement, paths)
    could_not_test: str | None = None  # the run ended before judging: why (unreachable, bad option, ...)
    stopped: str | None = None  # the run ended early for another reason (interrupted, run deadline)
    suite_errors: int = 0  # failed test reports that carry no contract violation (a bug of the suite)
    exit_status: int | None = None  # the process's real exit status, once known
    # --baseline: a history.baseline.Comparison (typed loosely: history sits above judging); reports show it first
    baseline: object | None = None
    # --fail-on-new: failures the baseline already had at the same level or stricter; they do not gate
    known_failures: frozenset[str] | None = None
