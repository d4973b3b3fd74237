"""``fleet.md``: the fleet report in Markdown (a CI job summary): verdict line, the deployments, the matrix, what
differs and what changed since the baseline. Rendered from fleet.json alone."""

from __future__ import annotations

from pathlib import Path

from ..report.markdown import text

ICONS = {"conforming": "✅", "no-new-failures": "☑️", "non-conforming": "❌", "inconclusive": "⚠️", "error": "💥",
         "could-not-test": "⛔", "interrupted": "⏹️", "nothing-selected": "➖"}
CELLS = {"passed": "✅", "failed": "❌", "waived": "🏷️", "inconclusive": "❔", "blocked": "🚧", "skipped": "➖"}
NOT_LISTED = "·"


def verdict_line(report: dict) -> str:
    n = len(report["deployments"])
    return (f"# Login conformance fleet: {ICONS.get(report['verdict'], '')} {report['verdict'].upper()} "
            f"(exit {report['exit_status']}, the worst of {n} deployment{'s' if n != 1 else ''})")


def cell(value: dict | None) -> str:
    if not value:
        return NOT_LISTED
    icon = CELLS.get(value["verdict"]) or text(str(value["verdict"]), 20)
    if value["verdict"] == "failed" and value.get("failed_level") not in (None, "MUST"):
        return f"{icon} {text(str(value['failed_level']), 20)}"
    return icon


def _deployments(report: dict) -> list[str]:
    lines = ["## Deployments", "",
             "| Deployment | Target | Verdict | Exit | Failed | Undecided | Passed | Time | Why |",
             "|---|---|---|---:|---:|---:|---:|---:|---|"]
    for d in report["deployments"]:
        s = d["summary"]
        undecided = s.get("inconclusive", 0) + s.get("blocked", 0)
        took = f"{d['duration_s']:.1f} s" if d.get("duration_s") is not None else ""
        lines.append(f"| [{d['name']}]({d['report']}) | {text(d['target'] or '')} | "
                     f"{ICONS.get(d['verdict'], '')} {text(str(d['verdict']), 40)} | {d['exit_status']} | {s.get('failed', 0)} | "
                     f"{undecided} | {s.get('passed', 0)} | {took} | {text(d['reason'], 200)} |")
    order = ", ".join(str(c) for c in report["exit_order"])
    lines += ["", f"The fleet's exit code is the worst of its deployments' (worst first: {order})."]
    return lines


def _matrix(report: dict) -> list[str]:
    names = [d["name"] for d in report["deployments"]]
    lines = ["## Requirements × deployments", "",
             "✅ passed · ❌ failed (at MUST unless named) · 🏷️ waived · ❔ inconclusive · 🚧 blocked · ➖ skipped · "
             f"{NOT_LISTED} not in that deployment's report", "",
             "| Requirement | Level | " + " | ".join(names) + " |",
             "|---|---|" + "---|" * len(names)]
    for row in report["requirements"]:
        cells = " | ".join(cell(row["cells"].get(n)) for n in names)
        lines.append(f"| **{text(row['id'], 40)}** {text(row['title'] or '', 80)} | {text(row['level'] or '', 10)} | "
                     f"{cells} |")
    return lines


def _differences(report: dict) -> list[str]:
    lines = ["## What differs between deployments", ""]
    if report["could_not_test"]:
        lines.append(f"Could not test (nothing judged, left out below): {', '.join(report['could_not_test'])}.")
        lines.append("")
    for key, values in report["settings_differ"].items():
        shown = "; ".join(f"{name}: {text(str(value), 80)}" for name, value in values.items())
        lines.append(f"- run setting **{key}** differs: {shown}")
    for diff in report["differences"]:
        where = "; ".join(f"{text(verdict, 40)} on {', '.join(names)}" for verdict, names in diff["by_verdict"].items())
        lines.append(f"- **{text(diff['id'], 40)}** ({text(str(diff['level']), 10)}) {text(diff['title'] or '', 80)}: "
                     f"{where}")
    if not report["differences"] and not report["settings_differ"]:
        lines.append("Every deployment that was judged has the same verdict on every requirement.")
    return lines


def _baseline(report: dict) -> list[str]:
    base = report.get("baseline")
    if base is None:
        return []
    lines = ["## Since the baseline", ""]
    for label, key in (("New failures", "new"), ("Fixed", "fixed"), ("Failing before, not rechecked", "not_rechecked")):
        entries = base[key]
        lines.append(f"**{label}** ({len(entries)})" + (":" if entries else ""))
        for e in entries:
            lines.append(f"- {e['deployment']}: **{text(e['id'], 40)}** {text(e['title'] or '', 80)} "
                         f"({text(e['was'] or 'not listed', 40)} → {text(e['now'] or 'not listed', 40)})")
        lines.append("")
    for change in base["verdict_changes"]:
        lines.append(f"- deployment {change['deployment']}: {text(str(change['was']), 40)} (exit "
                     f"{change['was_exit_status']}) → {text(str(change['now']), 40)} (exit {change['now_exit_status']})")
    if base["deployments_added"]:
        lines.append(f"- deployments added: {', '.join(base['deployments_added'])}")
    if base["deployments_removed"]:
        lines.append(f"- deployments removed: {', '.join(base['deployments_removed'])}")
    return lines


def render_markdown(report: dict) -> str:
    parts = [[verdict_line(report)], _deployments(report), _baseline(report), _differences(report), _matrix(report)]
    return "\n\n".join("\n".join(p).rstrip() for p in parts if p) + "\n"


def write_markdown(path: Path, report: dict) -> str:
    content = render_markdown(report)
    path.write_text(content, encoding="utf-8")
    return content
