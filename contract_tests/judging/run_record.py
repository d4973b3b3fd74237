"""One run of the suite as the gate and the reports see it: facts about the run plus every observation.

The pytest plugin fills a :class:`RunRecord`; the gate (``judging.outcome``) and every report writer read
only this, so a run that could not even start (a bad option, an empty ``--base-url``) gets the same
reports as a complete one.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..contract.catalog import Requirement
from .results import Results
from ..sending.secrets import Redactor


# The target's slowness dominates the run time when waiting for its answers took at least SLOW_SHARE of the run, at
# least SLOW_WAIT_S seconds of it (a short run needs no explaining), and its median answer took SLOW_ANSWER_S or more
# (many quick answers make a long run by their number, not by slowness).
SLOW_SHARE = 0.5
SLOW_WAIT_S = 10.0
SLOW_ANSWER_S = 0.1


@dataclass(frozen=True)
class Latency:
    """How fast the target answered: median and p95 over the answered requests, and the time spent waiting."""

    answered: int  # requests that got an answer (their times give median and p95)
    median_s: float
    p95_s: float
    waiting_s: float  # wall time during which at least one request waited for its answer (answered or not)
    duration_s: float  # the run's

    @property
    def dominates(self) -> bool:
        return (self.waiting_s >= SLOW_WAIT_S and self.waiting_s >= SLOW_SHARE * self.duration_s
                and self.median_s >= SLOW_ANSWER_S)


def latency_of(answer_times, duration_s: float) -> Latency | None:
    """*answer_times*: (wall-clock start, seconds, answered) of every request that reached the wire; None when no
    request was answered."""
    answered = sorted(seconds for _, seconds, got in answer_times if got)
    if not answered:
        return None
    p95 = statistics.quantiles(answered, n=20, method="inclusive")[18] if len(answered) > 1 else answered[0]
    waiting, until = 0.0, float("-inf")
    for start, seconds in sorted((start, seconds) for start, seconds, _ in answer_times):
        end = start + seconds  # requests in flight overlap: their union is the time spent waiting
        if end > until:
            waiting += end - max(start, until)
            until = end
    return Latency(len(answered), statistics.median(answered), p95, waiting, max(duration_s, 0.0))


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
    gateway_retries: int = 0  # gateway answers (502/503/504) the client retried once, identically
    gateway_blips: int = 0  # of them, those whose retry was answered without a server error (judged in their place)
    # (wall-clock start, seconds, answered) of every request that reached the wire (summed over xdist workers)
    answer_times: tuple = ()
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

    def latency(self) -> Latency | None:
        """The target's answer latency over this run (None: nothing was answered)."""
        return latency_of(self.answer_times, (self.finished or self.started) - self.started)
