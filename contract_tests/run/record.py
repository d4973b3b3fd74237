"""The run as the gate and the reports see it: one RunRecord, summed over xdist workers, compared with a baseline."""

from __future__ import annotations

from ..judging.results import Observation
from ..judging.run_record import RunRecord
from .session import SuiteState


def backoff(state: SuiteState) -> dict:
    """The rate limits and lockouts this process's client met, the time it waited on them, and the gateway answers
    it retried."""
    client = state.client
    return {"rate_limited": client.rate_limited if client else 0, "locked_out": client.locked_out if client else 0,
            "backoff_seconds": client.backoff_seconds if client else 0.0,
            "gateway_retries": client.gateway_retries if client else 0,
            "gateway_blips": client.gateway_blips if client else 0}


def worker_summary(state: SuiteState, held: list[Observation]) -> dict:
    """What an xdist worker hands the controller (config.workeroutput); *held*: the failures no item of this worker
    reported (they still count)."""
    client = state.client
    return {
        "contract_items": state.contract_items,
        "requests": client.requests_sent if client else 0,
        "failed_logins": client.failed_logins if client else 0,
        "sent_ahead": client.sent_ahead if client else 0,
        "unused_ahead": client.unused_ahead if client else 0,
        **backoff(state),
        "answer_times": client.answer_times if client else [],
        "target": state.target_url,
        "could_not_test": state.could_not_test,
        "stopped": state.stopped,
        "selected": sorted(state.selected) if state.selected is not None else None,
        "selection_note": state.selection_note,
        "held": [o.to_dict() for o in held],
    }


def run_record(state: SuiteState) -> RunRecord:
    """The run as the gate and the reports see it (xdist: summed over the workers)."""
    from ..report.json_report import strip_credentials

    s, client = state.settings, state.client
    requests = client.requests_sent if client else 0
    failed_logins = client.failed_logins if client else 0
    sent_ahead = client.sent_ahead if client else 0
    unused_ahead = client.unused_ahead if client else 0
    totals = backoff(state)
    answer_times = list(client.answer_times) if client else []
    target, selected = state.target_url, state.selected
    could_not_test, stopped, note = state.could_not_test, state.stopped, state.selection_note
    for info in state.workers.values():
        requests += int(info.get("requests") or 0)
        failed_logins += int(info.get("failed_logins") or 0)
        sent_ahead += int(info.get("sent_ahead") or 0)
        unused_ahead += int(info.get("unused_ahead") or 0)
        for name in totals:
            totals[name] += info.get(name) or 0
        answer_times += [tuple(times) for times in info.get("answer_times") or ()]
        target = target or info.get("target")
        could_not_test = could_not_test or info.get("could_not_test")
        stopped = stopped or info.get("stopped")
        note = note or info.get("selection_note")
        if info.get("selected") is not None:
            selected = (selected or frozenset()) | frozenset(info["selected"])
    record = RunRecord(
        catalog=state.catalog, results=state.results, redactor=state.redactor,
        target=strip_credentials(target or s.base_url), target_label=state.target_label,
        reference_server=s.uses_reference, reference_fault=s.reference_fault,
        reference_variant=s.reference_variant, credentials=s.account is not None,
        fail_on=s.fail_on, fail_on_inconclusive=s.fail_on_inconclusive, waivers=s.waivers,
        waivers_file=s.waivers_file, probes_enabled=s.probes.enabled,
        max_requests=s.limits.max_requests, failed_login_budget=s.limits.failed_login_budget,
        started=state.started, finished=state.finished, requests=requests, failed_logins=failed_logins, **totals,
        answer_times=tuple(answer_times),
        in_flight=s.limits.in_flight, sent_ahead=sent_ahead, unused_ahead=unused_ahead,
        workers=len(state.workers), hypothesis_seed=state.hypothesis_seed, selected=selected,
        selection_note=note, could_not_test=could_not_test, stopped=stopped,
        suite_errors=state.unexplained_failures, without_credentials=s.without_credentials,
    )
    _compare_with_baseline(state, record)
    return record


def _compare_with_baseline(state: SuiteState, record: RunRecord) -> None:
    if state.settings.baseline is None:
        return
    from ..history.baseline import compare

    comparison = compare(state.settings.baseline, record.results.by_requirement())
    record.baseline = comparison
    if state.settings.fail_on_new:
        record.known_failures = comparison.known_failures()
