"""``conformance.json``: the machine-readable result of one run (schema: conformance.schema.json)."""

from __future__ import annotations

import datetime as dt
import json
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING

from .. import __version__
from ..catalog import catalog_digest
from ..results import Verdict, gating
from ..spec import spec_digest

if TYPE_CHECKING:
    from ..plugin import SuiteState

SCHEMA_VERSION = "1.0"


def _strip_credentials(url: str | None) -> str | None:
    if not url:
        return url
    parts = urllib.parse.urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _iso(ts: float | None) -> str | None:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat() if ts else None


def final_verdict(state: "SuiteState") -> str:
    if state.could_not_test:
        return "could-not-test"
    results = state.results.by_requirement().values()
    return "non-conforming" if any(gating(r, state.settings.fail_on) for r in results) else "conforming"


def build_report(state: "SuiteState", exitstatus: int) -> dict:
    results = state.results.by_requirement()
    client = state.client
    counts = {v.value: 0 for v in Verdict}
    for r in results.values():
        counts[r.verdict.value] += 1
    requirements = []
    for r in results.values():
        req = r.requirement
        reproduction = next(
            (ev.get("reproduce") for o in r.observations if o.verdict is Verdict.FAILED for ev in o.evidence),
            None,
        )
        requirements.append(
            {
                "id": req.id,
                "level": req.level,
                "title": req.title,
                "statement": req.statement,
                "source": {"kind": req.source.kind, "ref": req.source.ref, "url": req.source.url},
                "verdict": r.verdict.value,
                "failed_level": r.failed_level,
                "gating": gating(r, state.settings.fail_on),
                "reason": state.redactor(r.reason or ""),
                "reproduction": reproduction,
                "observations": [state.redactor.scrub(o.to_dict()) for o in r.observations[:20]],
            }
        )
    return {
        "schema_version": SCHEMA_VERSION,
        "run": {
            "target": _strip_credentials(state.target_url or state.settings.base_url),
            "reference_server": state.settings.uses_reference,
            "reference_fault": state.settings.reference_fault,
            "reference_variant": state.settings.reference_variant,
            "suite_version": __version__,
            "spec_digest": spec_digest(),
            "catalog_digest": catalog_digest(),
            "started": _iso(state.started),
            "finished": _iso(state.finished),
            "duration_s": round((state.finished or state.started) - state.started, 3),
            "requests": client.requests_sent if client else 0,
            "failed_logins_on_account": client.failed_logins if client else 0,
            "credentials": state.settings.account is not None,
            "gate": state.settings.fail_on,
            "exit_status": exitstatus,
            "verdict": final_verdict(state),
            "could_not_test": state.could_not_test,
        },
        "summary": counts,
        "requirements": requirements,
    }


def write_json(path: Path, report: dict) -> None:
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
