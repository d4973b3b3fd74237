"""The fleet report (fleet.json): built from the deployments' conformance.json documents and nothing else.

`fleet` (after its runs) and `fleet merge` (over CI jobs' report directories) both call :func:`build_fleet_report`
with the same documents, so they write the same report. It holds no time of its own: every time in it is a
deployment's, copied from its conformance.json.

The matrix: one row per requirement (in the order the deployments' reports list them), one cell per deployment
(its verdict there, the level it failed at, whether it gates, its one-line reason; ``null``: that deployment's report
does not list the requirement, e.g. it could not test its target). "Differences" are the requirements whose verdict
is not the same on every deployment that judged something (a deployment that could not test differs everywhere and
is named once, in its own row, instead). With a previous fleet report (``--baseline``): the cells failing now that
did not fail then (new), failing then and passing now (fixed), failing then and now undecided or absent (not
rechecked), and each deployment whose verdict changed.
"""

from __future__ import annotations

import json
from pathlib import Path

from .. import __version__
from .exit_codes import FLEET_VERDICTS, WORST_FIRST, worst

FLEET_SCHEMA_VERSION = "1.0"
SCHEMA_FILE = Path(__file__).with_name("fleet-report.schema.json")
COULD_NOT_TEST = "could-not-test"
MAX_REASON = 300
SETTINGS_COMPARED = ("suite_version", "catalog_digest", "spec_digest", "gate")


def _clip(text: str | None) -> str:
    text = (text or "").splitlines()[0] if text else ""
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


def deployment_reason(run: dict) -> str:
    """Why a deployment's run ended as it did, in one line ("" when it conformed)."""
    if run.get("could_not_test"):
        return _clip(f"could not test: {run['could_not_test']}")
    if run.get("stopped"):
        return _clip(f"stopped: {run['stopped']}")
    reasons = run.get("verdict_reasons") or []
    return _clip(reasons[0]) if reasons else ""


def _deployment(name: str, report: dict) -> dict:
    run = report.get("run") or {}
    return {
        "name": name,
        "target": run.get("target"),
        "verdict": run.get("verdict") or COULD_NOT_TEST,
        "exit_status": run.get("exit_status"),
        "reason": deployment_reason(run),
        "gate": run.get("gate"),
        "started": run.get("started"),
        "finished": run.get("finished"),
        "duration_s": run.get("duration_s"),
        "requests": run.get("requests"),
        "suite_version": run.get("suite_version"),
        "summary": report.get("summary") or {},
        # the suite renders .md and .html beside every full report; a stand-in is conformance.json alone
        "report": f"{name}/conformance.{'html' if report.get('requirements') else 'json'}",
    }


def _cell(requirement: dict) -> dict:
    return {
        "verdict": requirement.get("verdict"),
        "failed_level": requirement.get("failed_level"),
        "gating": bool(requirement.get("gating")),
        "reason": _clip(requirement.get("reason")),
    }


def _matrix(reports: dict[str, dict]) -> list[dict]:
    rows: dict[str, dict] = {}
    for name, report in reports.items():
        for req in report.get("requirements") or []:
            row = rows.setdefault(req["id"], {"id": req["id"], "level": req.get("level"), "title": req.get("title"),
                                              "cells": {}})
            row["cells"][name] = _cell(req)
    for row in rows.values():
        row["cells"] = {name: row["cells"].get(name) for name in reports}
    return list(rows.values())


def _judged(deployments: list[dict]) -> list[str]:
    return [d["name"] for d in deployments if d["verdict"] != COULD_NOT_TEST]


def _differences(matrix: list[dict], judged: list[str]) -> list[dict]:
    out = []
    for row in matrix:
        by_verdict: dict[str, list[str]] = {}
        for name in judged:
            cell = row["cells"].get(name)
            by_verdict.setdefault(cell["verdict"] if cell else "not listed", []).append(name)
        if len(by_verdict) > 1:
            out.append({"id": row["id"], "level": row["level"], "title": row["title"],
                        "by_verdict": dict(sorted(by_verdict.items()))})
    return out


def _settings_differ(reports: dict[str, dict]) -> dict[str, dict[str, object]]:
    """Run settings that are not the same everywhere (a CI matrix may mix suite versions or gates)."""
    out = {}
    for key in SETTINGS_COMPARED:
        values = {name: (report.get("run") or {}).get(key) for name, report in reports.items()}
        values = {name: value for name, value in values.items() if value is not None}  # a stand-in says none
        if len(set(map(json.dumps, values.values()))) > 1:
            out[key] = values
    return out


def _compare(deployments: list[dict], matrix: list[dict], baseline: dict) -> dict:
    before = {d["name"]: d for d in baseline.get("deployments") or []}
    now = {d["name"]: d for d in deployments}
    was = {(name, row["id"]): cell for row in baseline.get("requirements") or []
           for name, cell in (row.get("cells") or {}).items() if cell}
    new, fixed, not_rechecked = [], [], []
    for row in matrix:
        for name, cell in row["cells"].items():
            then = was.get((name, row["id"]))
            failed_now = bool(cell) and cell["verdict"] == "failed"
            failed_then = then is not None and then.get("verdict") == "failed"
            entry = {"deployment": name, "id": row["id"], "level": row["level"], "title": row["title"],
                     "was": then.get("verdict") if then else None, "now": cell["verdict"] if cell else None}
            if failed_now and not failed_then:
                new.append({**entry, "failed_level": cell["failed_level"]})
            elif failed_then and cell and cell["verdict"] == "passed":
                fixed.append(entry)
            elif failed_then and not failed_now and name in now:
                not_rechecked.append(entry)
    matrix_ids = {row["id"] for row in matrix}
    for (name, rid), then in sorted(was.items()):  # failing then, in no report now: not rechecked
        if rid not in matrix_ids and name in now and then.get("verdict") == "failed":
            not_rechecked.append({"deployment": name, "id": rid, "level": None, "title": None, "was": "failed",
                                  "now": None})
    return {
        "deployments_added": sorted(set(now) - set(before)),
        "deployments_removed": sorted(set(before) - set(now)),
        "verdict_changes": [{"deployment": name, "was": before[name].get("verdict"), "now": d["verdict"],
                             "was_exit_status": before[name].get("exit_status"), "now_exit_status": d["exit_status"]}
                            for name, d in now.items() if name in before and before[name].get("verdict") != d["verdict"]],
        "new": new,
        "fixed": fixed,
        "not_rechecked": not_rechecked,
    }


def build_fleet_report(reports: dict[str, dict], baseline: dict | None = None) -> dict:
    """The fleet report of the deployments' conformance.json documents (name -> document), in name order."""
    reports = dict(sorted(reports.items()))
    deployments = [_deployment(name, report) for name, report in reports.items()]
    code = worst([d["exit_status"] for d in deployments])
    verdict = FLEET_VERDICTS[code]
    if code == 0 and any(d["verdict"] == "no-new-failures" for d in deployments):
        verdict = "no-new-failures"
    counts: dict[str, int] = {}
    for d in deployments:
        counts[d["verdict"]] = counts.get(d["verdict"], 0) + 1
    matrix = _matrix(reports)
    judged = _judged(deployments)
    return {
        "fleet_schema_version": FLEET_SCHEMA_VERSION,
        "suite_version": __version__,
        "verdict": verdict,
        "exit_status": code,
        "exit_order": list(WORST_FIRST),
        "deployment_verdicts": dict(sorted(counts.items())),
        "deployments": deployments,
        "requirements": matrix,
        "could_not_test": [d["name"] for d in deployments if d["verdict"] == COULD_NOT_TEST],
        "differences": _differences(matrix, judged),
        "settings_differ": _settings_differ(reports),
        "baseline": _compare(deployments, matrix, baseline) if baseline is not None else None,
    }


def load_schema() -> dict:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
