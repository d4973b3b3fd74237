"""``conformance.md``: the run in Markdown, short enough for a CI job summary or a pull-request comment.

Verdict line first, then the failures (with expected / actual and a curl reproduction), then the
undecided and waived requirements, then the full table.  Rendered from the conformance.json
document, so it says exactly what the JSON says.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..judging.results import clip, failed_clause
from ..sending.reproduction import export_hint
from .json_report import backoff_line, gateway_line, latency_line

ICONS = {
    "conforming": "✅",
    "non-conforming": "❌",
    "inconclusive": "⚠️",
    "error": "💥",
    "could-not-test": "⛔",
    "no-new-failures": "☑️",
}
CHANGE_ORDER = ("new", "worse", "fixed", "still failing", "not rechecked")
CHANGE_ICONS = {"new": "🆕", "worse": "⬆️", "fixed": "✅", "still failing": "↔️", "not rechecked": "❔"}
VERDICT_ICONS = {
    "passed": "✅ passed",
    "failed": "❌ failed",
    "inconclusive": "❔ inconclusive",
    "blocked": "🚧 blocked",
    "skipped": "➖ skipped",
    "waived": "🏷️ waived",
}
MAX_DETAILED_FAILURES = 12
MAX_FIELD = 300
MAX_CODE = 1500
PR_COMMENT_LIMIT = 65536  # GitHub's limit for a comment body; the report stays well below it


def _clip(text: str | None, limit: int = MAX_FIELD) -> str:
    return clip(text or "", limit)


_CODE_SPAN = re.compile(r"(`+)(.+?)\1")


def _escape_plain(value: str) -> str:
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\\`*_\[\]|#~])", r"\\\1", value)


def text(value: str | None, limit: int = MAX_FIELD) -> str:
    """Text safe inside a Markdown paragraph or table cell: no raw HTML, no table breaks; `code` spans kept."""
    value = _clip(value, limit)
    out, pos = [], 0
    for m in _CODE_SPAN.finditer(value):
        out.append(_escape_plain(value[pos:m.start()]))
        out.append(m.group(0).replace("|", "\\|"))  # GFM tables honour \| even inside code spans
        pos = m.end()
    out.append(_escape_plain(value[pos:]))
    return "".join(out)


def code_block(body: str, lang: str = "") -> str:
    body = body if len(body) <= MAX_CODE else body[:MAX_CODE] + "\n… (truncated; see conformance.json)"
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{body}\n{fence}"


def verdict_line(report: dict) -> str:
    run = report["run"]
    icon = ICONS.get(run["verdict"], "")
    gate = f"--fail-on={run['gate']}" + (" --fail-on-inconclusive" if run["fail_on_inconclusive"] else "")
    if (report.get("baseline") or {}).get("fail_on_new"):
        gate += " --fail-on-new"
    narrowed = " — narrowed scope" if any(n.startswith("scope narrowed") for n in run.get("scope") or ()) else ""
    bundled = " — BUNDLED REFERENCE SERVER" if run["reference_server"] else ""
    return (f"# {icon} Hyper3D login API: {run['verdict'].upper()} at {gate} (exit {run['exit_status']})"
            f"{narrowed}{bundled}")


def baseline_section(report: dict) -> list[str]:
    """--baseline: what changed since the baseline run, per kind of change (new and worse first)."""
    baseline = report.get("baseline")
    if not baseline:
        return []
    titles = {r["id"]: r for r in report["requirements"]}
    counts = baseline["counts"]
    shown = ", ".join(f"{counts.get(k, 0)} {k}" for k in CHANGE_ORDER if counts.get(k))
    gate = " — only new or worse failures gate (--fail-on-new)" if baseline["fail_on_new"] else ""
    lines = [f"## Since the baseline: {shown or 'no change'}{gate}", "",
             f"Baseline: {text(baseline['file'])} (run of {text(baseline.get('started') or 'unknown date')}, "
             f"verdict {text(baseline.get('verdict') or 'unknown')})", ""]
    if baseline.get("mismatch"):
        lines += [f"> ⚠️ {text(baseline['mismatch'], 500)}", ""]
    for kind in CHANGE_ORDER:
        for rid, change in baseline["changes"].items():
            if change["change"] != kind:
                continue
            r = titles.get(rid)
            before = change["before"] or "not in the baseline"
            if change.get("before_failed_level"):
                before += f" at {change['before_failed_level']}"
            now = (r["observed_verdict"] + (f" at {r['failed_level']}" if r.get("failed_level") else "")) if r else "?"
            title = text(r["title"], 80) if r else ""
            lines.append(f"- {CHANGE_ICONS[kind]} **{kind}**: **{rid}** {title} — before: {before}; now: {now}")
    lines.append("")
    return lines


def render_markdown(report: dict) -> str:
    run = report["run"]
    reqs = report["requirements"]
    counts = report["summary"]
    lines = [verdict_line(report), ""]
    if run["reference_server"]:
        lines += ["> ⚠️ **This run tested the bundled reference server, not a deployment** (no --base-url).", ""]
    lines += baseline_section(report)
    for reason in run["verdict_reasons"]:
        lines.append(f"> {text(reason, 500)}")
    if run["verdict_reasons"]:
        lines.append("")
    for note in run.get("scope") or ():
        lines.append(f"> ⚠️ {text(note, 800)}")
    if run.get("scope"):
        lines.append("")
    target = run["target"] or "(none)"
    if run["reference_server"]:
        target += " — the BUNDLED REFERENCE SERVER, not a deployment"
        if run.get("reference_fault"):
            target += f" (fault {run['reference_fault']})"
    lines.append(f"**Target:** {text(target)}  ")
    lines.append(
        "**Verdicts:** " + ", ".join(f"{n} {v}" for v, n in counts.items() if n) + "  "
    )
    seed = f" · hypothesis seed {run['hypothesis_seed']}" if run.get("hypothesis_seed") is not None else ""
    lines.append(
        f"**Run:** {run['requests']} requests · {run['duration_s']:.1f} s · started {run['started']} · "
        f"suite {text(run['suite_version'])} · spec {run['spec_digest'][:19]}{seed}"
    )
    if backoff_line(run):
        lines[-1] += "  "
        lines.append(f"**Rate limits and lockouts:** {backoff_line(run)}")
    if gateway_line(run):
        lines[-1] += "  "
        lines.append(f"**Gateway answers:** {gateway_line(run)}")
    if latency_line(run):
        lines[-1] += "  "
        lines.append(f"**Answer latency:** {latency_line(run)}")
    lines.append("")

    failed = [r for r in reqs if r["verdict"] == "failed"]
    failed.sort(key=lambda r: (not r["gating"], r["id"]))
    if failed:
        lines.append(f"## Failures ({len(failed)})")
        lines.append("")
        for r in failed[:MAX_DETAILED_FAILURES]:
            clause = failed_clause(r["level"], r["failed_level"])
            gate = "**gating**" if r["gating"] else "below the gate"
            lines.append(f"### {r['id']} [{clause or r['level']}] {text(r['title'])} — {gate}")
            lines.append("")
            statement = text((r.get("failure") or {}).get("statement") or r["statement"], 500)
            lines.append(f"Its {r['failed_level']} clause: {statement}" if clause else statement)
            lines.append("")
            failure = r.get("failure") or {}
            if failure.get("expected"):
                lines.append(f"- **expected:** {text(failure['expected'])}")
            if failure.get("actual"):
                lines.append(f"- **actual:** {text(failure['actual'])}")
            if failure.get("count", 1) > 1:
                lines.append(f"- {failure['count'] - 1} more failed observation(s) in conformance.json")
            if r.get("waiver") and r["waiver"]["status"] == "expired":
                lines.append(f"- waiver **expired** on {r['waiver']['expires']}: {text(r['waiver']['reason'])}")
            lines.append(f"- source: {text(r['source']['kind'])} {text(r['source']['ref'])}")
            if r.get("reproduction"):
                lines.append("")
                lines.append(f"Reproduce{export_hint(r['reproduction'])}:")
                lines.append("")
                lines.append(code_block(r["reproduction"], "sh"))
            lines.append("")
        if len(failed) > MAX_DETAILED_FAILURES:
            lines.append(f"… and {len(failed) - MAX_DETAILED_FAILURES} more failures: see the table and conformance.json.")
            lines.append("")

    undecided = [r for r in reqs if r["verdict"] in ("inconclusive", "blocked")]
    if undecided:
        lines.append(f"## Not decided ({len(undecided)})")
        lines.append("")
        for r in undecided:
            lines.append(f"- **{r['id']}** [{r['level']}] {r['verdict']}: {text(r['reason'])}")
        lines.append("")

    waived = [r for r in reqs if r["verdict"] == "waived"]
    expired = [w for w in report["waivers"] if w["status"] == "expired"]
    if waived or expired:
        lines.append("## Waivers")
        lines.append("")
        for r in waived:
            w = r["waiver"]
            lines.append(
                f"- **{r['id']}** [{r['failed_level'] or r['level']}] waived until {w['expires']}: {text(w['reason'])} "
                f"(failure: {text(r['reason'], 200)})"
            )
        for w in expired:
            lines.append(f"- **{w['id']}**: waiver EXPIRED on {w['expires']} and no longer protects: {text(w['reason'])}")
        lines.append("")

    lines.append("## All requirements")
    lines.append("")
    lines.append("| ID | Level | Requirement | Verdict | Note |")
    lines.append("|---|---|---|---|---|")
    for r in reqs:
        verdict = VERDICT_ICONS.get(r["verdict"], r["verdict"])
        if r["verdict"] == "failed" and failed_clause(r["level"], r["failed_level"]):
            verdict += f" its {r['failed_level']} clause"
        if r["gating"]:
            verdict = f"**{verdict}**"
        note = "" if r["verdict"] == "passed" else text(r["reason"], 140)
        lines.append(f"| {r['id']} | {r['level']} | {text(r['title'], 80)} | {verdict} | {note} |")
    lines.append("")
    lines.append(
        "Full evidence: conformance.json (schema version "
        f"{report['schema_version']}) and conformance.html in the report directory."
    )
    return "\n".join(lines) + "\n"


def write_markdown(path: Path, report: dict) -> str:
    content = render_markdown(report)
    path.write_text(content, encoding="utf-8")
    return content


def append_step_summary(content: str, env: dict | None = None) -> Path | None:
    """Append to $GITHUB_STEP_SUMMARY when GitHub Actions provides it."""
    target = (env if env is not None else os.environ).get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    try:
        with path.open("a", encoding="utf-8") as fh:
            fh.write(content + "\n")
    except OSError:
        return None
    return path
