"""``conformance.json``: the machine-readable result of one run.

Its shape is versioned (``schema_version``) and described by ``conformance.schema.json`` next to
this file; the self-tests validate every report they produce against it.  conformance.md and
conformance.html are rendered from this same document, so the three never disagree.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..catalog import catalog_digest
from ..results import Observation, Verdict
from ..spec import spec_digest
from .outcome import Outcome, RequirementOutcome, evaluate

if TYPE_CHECKING:
    from ..plugin import SuiteState

SCHEMA_VERSION = "1.0"
SCHEMA_FILE = Path(__file__).with_name("conformance.schema.json")
MAX_EVIDENCE = 3  # exchanges shown per requirement (failing ones first)
MAX_OBSERVATIONS = 20


def strip_credentials(url: str | None) -> str | None:
    """The URL without user:password@, query string or fragment."""
    if not url:
        return url
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


_strip_credentials = strip_credentials  # the name the core issue used


def _iso(ts: float | None) -> str | None:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat(timespec="milliseconds") if ts else None


def final_verdict(state: "SuiteState") -> str:
    return evaluate(state).verdict


def hypothesis_seed(state: "SuiteState") -> int | str | None:
    """The seed the fuzzing tests ran with, when known (``--hypothesis-seed`` or the fuzzing layer's own)."""
    seed = getattr(state, "hypothesis_seed", None)
    if seed is None:
        try:
            seed = state.config.getoption("hypothesis_seed", None)
        except (ValueError, AttributeError):
            seed = None
    if seed is None:
        return None
    text = str(seed).strip()
    return int(text) if text.lstrip("-").isdigit() else text


def run_facts(state: "SuiteState") -> dict[str, Any]:
    """Request counts and target, summed over xdist workers when the run was distributed."""
    workers = getattr(state, "workers", {}) or {}
    client = state.client
    requests = client.requests_sent if client else 0
    failed_logins = client.failed_logins if client else 0
    target = state.target_url
    for info in workers.values():
        requests += int(info.get("requests") or 0)
        failed_logins += int(info.get("failed_logins") or 0)
        target = target or info.get("target")
    return {
        "target": strip_credentials(target or state.settings.base_url),
        "requests": requests,
        "failed_logins": failed_logins,
        "workers": len(workers),
    }


def _split_message(message: str) -> tuple[str | None, str | None]:
    expected = actual = None
    for line in message.splitlines():
        stripped = line.strip()
        if expected is None and stripped.startswith("expected:"):
            expected = stripped.removeprefix("expected:").strip()
        elif actual is None and stripped.startswith("actual:"):
            actual = stripped.removeprefix("actual:").strip()
    return expected, actual


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


def _requirement(r: RequirementOutcome, state: "SuiteState") -> dict[str, Any]:
    result = r.result
    req = result.requirement
    redact = state.redactor
    failures = [o for o in result.observations if o.verdict is Verdict.FAILED]
    failures.sort(key=lambda o: o.repeat)  # first-hand reports before repeats
    failure = None
    if failures:
        first = failures[0]
        expected, actual = _split_message(first.message)
        failure = {
            "test": first.test,
            "level": first.level or req.level,
            "expected": redact(expected) if expected else None,
            "actual": redact(actual) if actual else None,
            "message": redact(first.message),
            "count": len(failures),
        }
    reproduction = next((ev.get("reproduce") for o in failures for ev in o.evidence if ev.get("reproduce")), None)
    if failure and failure["expected"]:
        summary = f"expected {failure['expected']}; actual {failure['actual'] or '(see evidence)'}"
        if failure["count"] > 1:
            summary += f" (+{failure['count'] - 1} more)"
    else:
        summary = result.reason or ""
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
            redact.scrub({k: v for k, v in o.to_dict().items() if k != "evidence"})
            for o in result.observations[:MAX_OBSERVATIONS]
        ],
        "observation_count": len(result.observations),
    }


def build_report(state: "SuiteState", exitstatus: int | None = None, outcome: Outcome | None = None) -> dict:
    outcome = outcome or evaluate(state)
    settings = state.settings
    facts = run_facts(state)
    finished = state.finished or state.started
    waivers = [
        {**w.to_dict(), "used": outcome.requirements[w.id].verdict is Verdict.WAIVED} for w in settings.waivers
    ]
    return {
        "schema_version": SCHEMA_VERSION,
        "run": {
            "target": facts["target"],
            "reference_server": settings.uses_reference,
            "reference_fault": settings.reference_fault,
            "reference_variant": settings.reference_variant,
            "suite_version": __version__,
            "spec_digest": spec_digest(),
            "catalog_digest": catalog_digest(),
            "started": _iso(state.started),
            "finished": _iso(finished),
            "duration_s": round(finished - state.started, 3),
            "requests": facts["requests"],
            "failed_logins_on_account": facts["failed_logins"],
            "xdist_workers": facts["workers"],
            "credentials": settings.account is not None,
            "hypothesis_seed": hypothesis_seed(state),
            "gate": settings.fail_on,
            "fail_on_inconclusive": settings.fail_on_inconclusive,
            "waivers_file": str(settings.waivers_file) if settings.waivers_file else None,
            "exit_status": outcome.exit_code if exitstatus is None else exitstatus,
            "verdict": outcome.verdict,
            "verdict_reasons": [state.redactor(r) for r in outcome.reasons],
            "could_not_test": state.redactor(outcome.reasons[0].removeprefix("could not test: "))
            if outcome.verdict == "could-not-test" else None,
        },
        "summary": outcome.counts(),
        "waivers": waivers,
        "requirements": [_requirement(r, state) for r in outcome.requirements.values()],
    }


def write_json(path: Path, report: dict) -> None:
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def load_schema() -> dict:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
