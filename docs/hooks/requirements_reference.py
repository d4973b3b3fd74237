"""The requirements reference of the site, generated from the repository's data at every build.

Nothing here is hand-kept: each section is made from

- the catalog, ``spec/requirements.yaml`` (ID, title, level and its reason, statement, SHOULD clause, source,
  credentials, opt-in), read with the suite's own loader;
- the contract tests that check it: the ``@pytest.mark.requirement`` markers of the collected suite
  (``collect_contract_tests.py``, in a separate process);
- the checks tagged with it at their call site (``expect`` / ``verify`` in the contract tests, ``run`` in the
  invariants, read from the source), with each check's one-line docstring;
- the opt-in probe that checks it (``contract_tests.probes.settings.PROBES``);
- the self-tests that prove the checks fail when they should: the faults of the reference server that break it
  (``contract_tests/reference/faults.yaml``), the stack look-alikes and real frameworks expected to fail it
  (``tests/stack_expectations.yaml``, ``tests/real_frameworks/*/expectations.yaml``), and the self-test modules
  that name it.

The OpenAPI pointers of the catalog's sources link to a generated page showing the vendor document at each pointer,
and the clarifications page lists the suite's own readings of the vendor page (``spec/clarifications.yaml``).
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from contract_tests.contract.catalog import Requirement, level_principle, load_catalog
from contract_tests.judging import checks as check_module
from contract_tests.judging import invariants
from contract_tests.probes.settings import PROBE_OF

REQUIREMENTS_PAGE = "reference/requirements.md"
OPENAPI_PAGE = "reference/openapi.md"
CLARIFICATIONS_PAGE = "reference/clarifications.md"

_ID = re.compile(r"[A-Z]+-[0-9]+")  # a requirement ID (an unknown one fails the build)
_TAGGING_CALLS = {"expect", "verify", "run"}  # check(requirement ID, exchange, check, *args, level=...)
_CREDENTIALS = {
    "none": "none: every check of it runs without `LOGIN_EMAIL` / `LOGIN_PASSWORD`",
    "required": "required: nothing of it can be checked without `LOGIN_EMAIL` / `LOGIN_PASSWORD` (skipped without them)",
    "partial": "partial: some of its checks need `LOGIN_EMAIL` / `LOGIN_PASSWORD`",
}


class ReferenceError(RuntimeError):
    """The repository's data cannot be turned into the reference (the build fails with this message)."""


@dataclass
class Coverage:
    tests: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # test function -> node ids
    checks: dict[str, tuple[set[str], str]] = field(default_factory=dict)  # check -> (levels given, description)
    faults: list[dict] = field(default_factory=list)
    stacks: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, variant, expected verdict)
    self_tests: set[str] = field(default_factory=set)


def pointer_anchor(pointer: str) -> str:
    """The anchor of an OpenAPI pointer's section on the OpenAPI page."""
    return "ptr-" + re.sub(r"[^a-z0-9]+", "-", pointer.lower()).strip("-")


def resolve_pointer(document, pointer: str):
    """RFC 6901: the node of *document* at *pointer* (``#/a/b`` or ``/a/b``)."""
    node = document
    for raw in pointer.lstrip("#").split("/")[1:]:
        part = raw.replace("~1", "/").replace("~0", "~")
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError, TypeError):
            raise ReferenceError(f"the pointer {pointer} is not in spec/login.openapi.json") from None
    return node


def collect_contract_tests(root: Path) -> dict[str, list[str]]:
    """node id -> requirement IDs of its markers, from a collection of the contract suite."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "tests.json"
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).with_name("collect_contract_tests.py")), str(out), "contract_tests/suite"],
            cwd=root, capture_output=True, text=True, timeout=300)
        if proc.returncode != 0 or not out.exists():
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-20:])
            raise ReferenceError(f"collecting the contract suite failed (exit {proc.returncode}):\n{tail}")
        return json.loads(out.read_text(encoding="utf-8"))


def tagged_checks(paths: list[Path]) -> dict[str, dict[str, tuple[set[str], str]]]:
    """requirement ID -> check -> (levels, one-line description), from the call sites
    ``expect("ID", ex, checks.name, ..., level=...)`` (``verify``, the invariants' ``run`` alike); a check defined in
    the test module itself is named with its module, and ``fail("ID", ...)`` is a comparison in the test's own code."""
    found: dict[str, dict[str, tuple[set[str], str]]] = defaultdict(dict)
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        local = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}
        where = "contract_tests/" + path.as_posix().split("contract_tests/", 1)[-1]
        for node in ast.walk(tree):
            func = getattr(node.func, "id", getattr(node.func, "attr", None)) if isinstance(node, ast.Call) else None
            if func not in _TAGGING_CALLS | {"fail"}:
                continue
            if not (node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
                    and _ID.fullmatch(node.args[0].value)):
                continue
            rid = node.args[0].value
            level = next((k.value.value for k in node.keywords
                          if k.arg == "level" and isinstance(k.value, ast.Constant)), None)
            named: list[tuple[str, str]] = []
            if func == "fail":
                named.append((f"the test's own comparison (`fail` in `{where}`)", ""))
            for arg in node.args[1:]:
                if isinstance(arg, ast.Attribute) and getattr(arg.value, "id", "") == "checks":
                    named.append((f"`{arg.attr}`", _first_line(getattr(getattr(check_module, arg.attr, None), "__doc__", ""))))
                elif isinstance(arg, ast.Name) and arg.id in local and not local[arg.id].name.startswith("test_"):
                    named.append((f"`{arg.id}` (`{where}`)", _first_line(ast.get_docstring(local[arg.id]))))
                elif isinstance(arg, ast.Name) and callable(getattr(check_module, arg.id, None)):
                    named.append((f"`{arg.id}`", _first_line(getattr(check_module, arg.id).__doc__)))
            for name, doc in named:
                levels, _ = found[rid].setdefault(name, (set(), doc))
                levels.add(level or "")
    return found


def _expectations(path: Path) -> dict[str, dict[str, str]]:
    """variant -> requirement -> expected verdict, from a stack or real-framework expectations file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {name: {rid: entry["expect"] for rid, entry in (reqs or {}).items()}
            for name, reqs in (data.get("variants") or {}).items()}


def coverage(root: Path, catalog: dict[str, Requirement]) -> dict[str, Coverage]:
    cov = {rid: Coverage() for rid in catalog}

    def known(rid: str, where: str) -> Coverage:
        if rid not in cov:
            raise ReferenceError(f"{where} names {rid}, which is not in spec/requirements.yaml")
        return cov[rid]

    for nodeid, ids in collect_contract_tests(root).items():
        for rid in ids:
            known(rid, nodeid).tests[nodeid.split("[")[0]].append(nodeid)

    sources = sorted((root / "contract_tests" / "suite").glob("test_*.py"))
    sources += [root / "contract_tests" / "judging" / "invariants.py"]
    sources += sorted((root / "contract_tests" / "probes").glob("*.py"))
    for rid, names in tagged_checks(sources).items():
        for name, (levels, doc) in names.items():
            known(rid, f"a check call site ({name})").checks.setdefault(name, (set(), doc))[0].update(levels)

    for fault in yaml.safe_load((root / "contract_tests/reference/faults.yaml").read_text(encoding="utf-8"))["faults"]:
        for rid in fault["breaks"]:
            known(rid, f"the fault {fault['name']}").faults.append(fault)

    files = [("stack look-alike", root / "tests" / "stack_expectations.yaml")]
    files += [("real framework", p) for p in sorted((root / "tests" / "real_frameworks").glob("*/expectations.yaml"))]
    for kind, path in files:
        for variant, verdicts in _expectations(path).items():
            for rid, verdict in verdicts.items():
                if verdict.startswith("failed"):
                    known(rid, str(path.relative_to(root))).stacks.append((kind, variant, verdict))

    for path in sorted((root / "tests").glob("test_*.py")):
        if path.name == "test_docs_site.py":  # the self-test of this page names IDs as sample data
            continue
        text = path.read_text(encoding="utf-8")
        for rid in catalog:
            if re.search(rf"\b{re.escape(rid)}\b", text):
                cov[rid].self_tests.add(path.name)
    return cov


def _first_line(text: str | None) -> str:
    return " ".join((text or "").strip().split("\n\n")[0].split())


def _source(req: Requirement) -> list[str]:
    src = req.source
    if src.kind == "openapi":
        where = f"[`{src.ref}`](openapi.md#{pointer_anchor(src.ref)}) in the vendor's OpenAPI document"
    elif src.url:
        where = f"[{src.ref}]({src.url})"
    else:
        where = src.ref
        if src.kind == "suite":
            where = re.sub(r"clarification ([a-z0-9-]+)", r"clarification [\1](clarifications.md#\1)", where)
    lines = [f"**Source** ({src.kind}): {where}"]
    if src.quote:
        lines += ["", f"> {src.quote}"]
    return lines


def requirements_page(root: Path) -> str:
    catalog = load_catalog()
    cov = coverage(root, catalog)
    principle = level_principle()
    out = [
        "# Requirements reference",
        "",
        "Generated at every build of this site from `spec/requirements.yaml` (the catalog), the contract suite's",
        "requirement markers, the checks' call sites and the self-tests' data; never edited by hand. "
        f"{len(catalog)} requirements: "
        + ", ".join(f"{sum(r.level == lv for r in catalog.values())} {lv}" for lv in ("MUST", "SHOULD", "MAY")
                    if any(r.level == lv for r in catalog.values())) + ".",
        "",
        "## Level principle",
        "",
        "The documented client: " + " ".join(principle["documented_client"].split()),
        "",
        "MUST is for:",
        "",
        *[f"- {item}" for item in principle["must"]],
        "",
        "SHOULD is for:",
        "",
        *[f"- {item}" for item in principle["should"]],
        "",
        "## Index",
        "",
        "| ID | Level | Title | Credentials | Opt-in |",
        "|---|---|---|---|---|",
        *[f"| [{r.id}](#{r.id.lower()}) | {r.level} | {r.title} | {r.credentials} | {'yes' if r.opt_in else 'no'} |"
          for r in catalog.values()],
        "",
    ]
    for req in catalog.values():
        c = cov[req.id]
        out += [f"## {req.id} {req.title} {{#{req.id.lower()}}}", "",
                f"**Level: {req.level}** ({req.area}). *Why this level:* {req.level_reason}", "",
                req.statement.strip(), ""]
        if req.should_clause:
            out += [f"*Judged at SHOULD:* {req.should_clause.strip()}", ""]
        out += [*_source(req), ""]
        opt_in = f"yes: runs only with `--probe={PROBE_OF[req.id]}`" if req.id in PROBE_OF else ("yes" if req.opt_in else "no")
        out += [f"**Credentials:** {_CREDENTIALS[req.credentials]}. **Opt-in:** {opt_in}.", ""]
        if req.id in invariants.REQUIREMENTS:
            out += ["**Invariant:** judged on every exchange of the run, whatever test sent it "
                    "(`contract_tests/judging/invariants.py`).", ""]
        out += ["**Contract tests:**", ""]
        out += [f"- `{test}`" + (f" ({len(ids)} cases)" if len(ids) > 1 else "") for test, ids in sorted(c.tests.items())]
        out += [] if c.tests else ["- none (the requirement has no contract test)"]
        out += ["", "**Checks** (tagged with this ID at their call site):", ""]
        for name in sorted(c.checks):
            levels, doc = c.checks[name]
            at = f" (at {', '.join(sorted(lv for lv in levels if lv))})" if any(levels) else ""
            out.append(f"- {name}{at}" + (f": {doc}" if doc else ""))
        if req.id in PROBE_OF:
            out.append(f"- the `{PROBE_OF[req.id]}` probe (`contract_tests/probes/{PROBE_OF[req.id]}.py`), its result "
                       "turned into a verdict by `contract_tests/probes/outcome.py`")
        out += [] if c.checks or req.id in PROBE_OF else ["- judged in its test's own code (no tagged check call)"]
        out += ["", "**Self-tests that prove it fails when it should:**", ""]
        out += [f"- fault `{f['name']}`: {' '.join(f['description'].split())}" for f in c.faults]
        out += [f"- {kind} `{variant}`: expected {verdict}" for kind, variant, verdict in c.stacks]
        if c.self_tests:
            out.append("- self-test modules naming it: " + ", ".join(f"`tests/{name}`" for name in sorted(c.self_tests)))
        out += [] if (c.faults or c.stacks or c.self_tests) else ["- none"]
        out.append("")
    return "\n".join(out)


def openapi_page(root: Path) -> str:
    document = json.loads((root / "spec" / "login.openapi.json").read_text(encoding="utf-8"))
    users: dict[str, list[str]] = defaultdict(list)
    for req in load_catalog().values():
        if req.source.kind == "openapi":
            users[req.source.ref].append(req.id)
    out = ["# The vendor's OpenAPI document", "",
           "`spec/login.openapi.json`, the vendor's Login page as OpenAPI, verbatim (the suite's own readings are the "
           "[clarifications](clarifications.md)). Each section below is a node a requirement cites as its source.", ""]
    for pointer in sorted(users):
        node = resolve_pointer(document, pointer)
        refs = ", ".join(f"[{rid}](requirements.md#{rid.lower()})" for rid in users[pointer])
        out += [f"## `{pointer}` {{#{pointer_anchor(pointer)}}}", "", f"Cited by {refs}.", "", "```json",
                json.dumps(node, indent=2, ensure_ascii=False), "```", ""]
    out += ["## The whole document", "", "```json", json.dumps(document, indent=2, ensure_ascii=False), "```", ""]
    return "\n".join(out)


def clarifications_page(root: Path) -> str:
    data = yaml.safe_load((root / "spec" / "clarifications.yaml").read_text(encoding="utf-8"))
    out = ["# Clarifications", "", " ".join(data["notice"].split()),
           "Generated from `spec/clarifications.yaml`, an overlay applied to the vendor's document: each entry adds "
           "to the node at its target and never rewrites a vendor statement.", ""]
    for entry in data["clarifications"]:
        src = entry["source"]
        out += [f"## {entry['title']} {{#{entry['id']}}}", "", f"`{entry['id']}`: {' '.join(entry['statement'].split())}",
                "", f"*Why:* {' '.join(entry['reason'].split())}", "",
                f"**Source** ({src['kind']}): {src['ref']}", ""]
        if src.get("quote"):
            out += [f"> {src['quote']}", ""]
        if entry.get("target"):
            out += [f"**Adds to** `{entry['target']}`:", "", "```yaml",
                    yaml.safe_dump(entry.get("add"), sort_keys=False, allow_unicode=True).rstrip(), "```", ""]
    return "\n".join(out)
