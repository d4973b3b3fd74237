"""``conformance.json``: the machine-readable result of one run.

Its shape is versioned (``schema_version``) and described by ``conformance.schema.json`` next to
this file; the self-tests validate every report they produce against it.  conformance.md and
conformance.html are rendered from this same document, so the three never disagree.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from .. import __version__
from ..contract.catalog import catalog_digest
from ..judging.results import Observation, Verdict
from ..sending.target_url import without_user_part
from ..contract.spec import spec_digest
from ..judging.run_record import RunRecord
from ..sending.exchange import visible
from ..judging.outcome import NOT_SELECTED, Outcome, RequirementOutcome

if TYPE_CHECKING:
    from ..history.baseline import Comparison

SCHEMA_VERSION = "1.3"
SCHEMA_FILE = Path(__file__).with_name("conformance.schema.json")
MAX_EVIDENCE = 3  # exchanges shown per requirement (failing ones first)
MAX_OBSERVATIONS = 20
MAX_REPLAY = 10  # failing requests kept per requirement for `replay`


def strip_credentials(url: str | None) -> str | None:
    """The URL without user:password@, query string or fragment."""
    if not url:
        return url
    try:
        parts = urllib.parse.urlsplit(url)
        host, port = parts.hostname or "", parts.port
    except ValueError:  # a URL that does not parse (its usage error says why): the user part and ?/# dropped all the same
        return re.split(r"[?#]", without_user_part(url), maxsplit=1)[0]
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{port}" if port else "")
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))



def _iso(ts: float | None) -> str | None:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat(timespec="milliseconds") if ts else None


# an observation's fields the report lists elsewhere (evidence, reproduction, replay, the failure card)
_NOT_LISTED = ("evidence", "replay", "expected", "actual", "check")


def expected_actual(obs: Observation) -> tuple[str | None, str | None]:
    """A failure's expected and actual, each on one line (the first of its text) as a summary shows them."""
    return _first_line(obs.expected), _first_line(obs.actual)


def _first_line(text: str | None) -> str | None:
    if text is None:
        return None
    lines = text.splitlines()
    return lines[0].strip() if lines else ""


def _evidence(observations: list[Observation]) -> list[dict]:
    """Up to MAX_EVIDENCE distinct exchanges, those of failed observations first."""
    ordered = sorted(observations, key=lambda o: o.verdict is not Verdict.FAILED)
    seen: set[tuple] = set()
    out: list[dict] = []
    for obs in ordered:
        for ev in obs.evidence:
            key = (ev.get("request"), (ev.get("response") or {}).get("status"))
            if key in seen:
                continue
            seen.add(key)
            out.append(ev)
            if len(out) >= MAX_EVIDENCE:
                return out
    return out


def reproduce(obs: Observation) -> str | None:
    """curl commands for every request the observation compares (SEC-01 compares two), one per line."""
    commands = [ev["reproduce"] for ev in obs.evidence if ev.get("reproduce")]
    return "\n".join(dict.fromkeys(commands)) or None


def not_run_reason(r: RequirementOutcome, record: RunRecord, outcome: Outcome) -> str | None:
    """Why a requirement no test observed was not run, when the run says why: it could not test its target, or it
    stopped early. A deselected requirement is said to be deselected (results.aggregate) only when it was."""
    if r.result.observations or r.out_of_scope == NOT_SELECTED:
        return None
    if outcome.verdict == "could-not-test" and outcome.reasons:
        return f"not run (could not test: {outcome.reasons[0].removeprefix('could not test: ')})"
    if record.stopped:
        return f"not run (the run stopped early: {record.stopped})"
    return None


def _requirement(r: RequirementOutcome, record: RunRecord, outcome: Outcome) -> dict[str, Any]:
    result = r.result
    req = result.requirement
    redact = record.redactor
    failures = [o for o in result.observations if o.verdict is Verdict.FAILED]
    failure: dict[str, Any] | None = None
    first = result.headline  # a failure at the failed level, first-hand before repeats (results.aggregate)
    if first is not None:
        expected, actual = expected_actual(first)
        failure = {
            "test": first.test,
            "level": first.level or req.level,
            "statement": result.failed_statement,
            "expected": redact(expected) if expected else None,
            "actual": redact(actual) if actual else None,
            "message": redact(first.message),
            "count": len(failures),
        }
    reproduction = reproduce(first) if first is not None else None
    if failure and failure["expected"]:
        summary = f"expected {failure['expected']}; actual {failure['actual'] or '(see evidence)'}"
        if failure["count"] > 1:
            summary += f" (+{failure['count'] - 1} more)"
    else:
        summary = not_run_reason(r, record, outcome) or result.reason or ""
        for prefix in ("inconclusive: ", "blocked: "):  # the verdict already says so
            summary = summary.removeprefix(prefix)
    waiver = None
    if r.waiver is not None:
        waiver = {"reason": r.waiver.reason, "expires": r.waiver.expires.isoformat(), "status": r.waiver.status()}
    return {
        "id": req.id,
        "level": req.level,
        "title": req.title,
        "statement": req.statement,
        "source": {"kind": req.source.kind, "ref": req.source.ref, "url": req.source.url},
        "credentials": req.credentials,
        "verdict": r.verdict.value,
        "observed_verdict": result.verdict.value,
        "failed_level": result.failed_level,
        "gating": r.gating,
        "reason": redact(summary.splitlines()[0] if summary else ""),
        "failure": failure,
        "waiver": waiver,
        "evidence": redact.scrub(_evidence(result.observations)),
        "reproduction": redact(reproduction) if reproduction else None,
        "observations": [
            redact.scrub({k: v for k, v in o.to_dict().items() if k not in _NOT_LISTED})
            for o in result.observations[:MAX_OBSERVATIONS]
        ],
        "observation_count": len(result.observations),
        "out_of_scope": r.out_of_scope,
        "accepted": r.accepted,
        "replay": _replay(failures),
    }


def _replay(failures: list[Observation]) -> list[dict]:
    """What `python -m contract_tests replay` sends and judges again: each distinct failing request and its check."""
    out: list[dict] = []
    seen: set[str] = set()
    for obs in failures:
        if not obs.replay:
            continue
        entry = {"test": obs.test, "level": obs.level, "check": obs.check,
                 "requests": list(obs.replay.get("requests") or ())}
        key = repr((entry["check"], entry["requests"]))
        if key in seen:
            continue
        seen.add(key)
        out.append(entry)
        if len(out) >= MAX_REPLAY:
            break
    return out


def build_report(record: RunRecord, outcome: Outcome) -> dict:
    finished = record.finished or record.started
    waivers = [
        {**w.to_dict(), "used": outcome.requirements[w.id].verdict is Verdict.WAIVED} for w in record.waivers
    ]
    redact = record.redactor
    report = {
        "schema_version": SCHEMA_VERSION,
        "run": {
            "target": record.target,
            "reference_server": record.reference_server,
            "reference_fault": record.reference_fault,
            "reference_variant": record.reference_variant,
            "suite_version": __version__,
            "spec_digest": spec_digest(),
            "catalog_digest": catalog_digest(),
            "started": _iso(record.started),
            "finished": _iso(finished),
            "duration_s": round(finished - record.started, 3),
            "requests": record.requests,
            "failed_logins_on_account": record.failed_logins,
            "rate_limited": record.rate_limited,
            "locked_out": record.locked_out,
            "backoff_s": round(record.backoff_seconds, 1),
            "gateway_retries": record.gateway_retries,
            "gateway_blips": record.gateway_blips,
            "latency": latency(record),
            "in_flight": record.in_flight,
            "sent_ahead": record.sent_ahead,
            "unused_ahead": record.unused_ahead,
            "xdist_workers": record.workers,
            "credentials": record.credentials,
            "hypothesis_seed": record.hypothesis_seed,
            "gate": record.fail_on,
            "fail_on_inconclusive": record.fail_on_inconclusive,
            "waivers_file": str(record.waivers_file) if record.waivers_file else None,
            "exit_status": outcome.exit_code if record.exit_status is None else record.exit_status,
            "verdict": outcome.verdict,
            "verdict_reasons": [redact(r) for r in outcome.reasons],
            "could_not_test": redact(outcome.reasons[0].removeprefix("could not test: "))
            if outcome.verdict == "could-not-test" else None,
            "scope": [redact(n) for n in outcome.scope_notes],
            "stopped": redact(record.stopped) if record.stopped else None,
        },
        "baseline": _baseline(record),
        "summary": outcome.counts(),
        "waivers": waivers,
        "requirements": [_requirement(r, record, outcome) for r in outcome.requirements.values()],
    }
    return _visible(report)


def _baseline(record: RunRecord) -> dict | None:
    """--baseline: what changed per requirement since the baseline run (history/baseline.py), else None."""
    comparison = cast("Comparison | None", record.baseline)
    if comparison is None:
        return None
    return {**comparison.to_dict(), "fail_on_new": record.known_failures is not None}


def latency(record: RunRecord) -> dict | None:
    """The target's answer latency (conformance.json ``run.latency``, since 1.3); None when nothing was answered."""
    found = record.latency()
    if found is None:
        return None
    return {"answered": found.answered, "median_ms": round(found.median_s * 1000, 1),
            "p95_ms": round(found.p95_s * 1000, 1), "waiting_s": round(found.waiting_s, 1),
            "dominates": found.dominates}


def _ms(value: float) -> str:
    return f"{value / 1000:.1f} s" if value >= 1000 else f"{value:,.0f} ms"


def latency_line(run: dict) -> str | None:
    """The answer latency in one line, and whether the target's slowness dominates the run time."""
    found = run.get("latency")
    if not found:
        return None
    line = (f"median {_ms(found['median_ms'])}, p95 {_ms(found['p95_ms'])} over {found['answered']} answered "
            f"request{'s' if found['answered'] != 1 else ''}")
    waited = f"waiting for answers took {found['waiting_s']:g} s of the {run.get('duration_s') or 0:.1f} s run"
    if found["dominates"]:
        return f"{line}; {waited}: the target's slowness dominates the run time"
    return f"{line} ({waited})"


def backoff_line(run: dict) -> str | None:
    """The rate limits and lockouts the run met and the time it waited on them (None: it met none)."""
    limited, locked = run.get("rate_limited") or 0, run.get("locked_out") or 0
    if not (limited or locked):
        return None
    met = [f"{limited} rate limit{'s' if limited != 1 else ''} (429 / RATE_LIMITED / 503 again)" if limited else "",
           f"{locked} lockout{'s' if locked != 1 else ''} (423 / lock error)" if locked else ""]
    return (f"{' and '.join(m for m in met if m)} met, {run.get('backoff_s') or 0:g} s of back-off in total (never a "
            "failure by itself: a check they kept from being observed is blocked)")


def gateway_line(run: dict) -> str | None:
    """The gateway answers (502/503/504) the run retried once and how many were passing blips (None: none)."""
    retried = run.get("gateway_retries") or 0
    if not retried:
        return None
    blips = run.get("gateway_blips") or 0
    again = retried - blips
    said = [f"{blips} a passing blip (the retry, answered without a server error, judged in its place; the blip kept "
            "as evidence, its shape judged at SHOULD)" if blips else "",
            f"{again} a server error again (a 503: backed off from as a rate limit; else the target's own answer to "
            "that input, judged as such)" if again else ""]
    return (f"{retried} gateway answer{'s' if retried != 1 else ''} (502/503/504) retried once, identically: "
            + "; ".join(s for s in said if s))


def _visible(value: Any) -> Any:
    """No raw control character reaches a report, whatever the target sent."""
    if isinstance(value, str):
        return visible(value)
    if isinstance(value, dict):
        return {k: _visible(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_visible(v) for v in value]
    return value


def write_json(path: Path, report: dict) -> None:
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def load_schema() -> dict:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
