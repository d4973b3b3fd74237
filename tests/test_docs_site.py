"""The documentation site builds strictly, and its generated requirements reference covers the whole catalog.

The build is the one .ci/run does (``mkdocs build --strict``), into a temporary directory.  Without mkdocs installed
(the ``docs`` extra) the build test is skipped, except in CI, where that is a failure.
"""

from __future__ import annotations

import html
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from contract_tests.contract.catalog import load_catalog

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
        if os.environ.get("CI"):
            pytest.fail("mkdocs / mkdocs-material are not installed in CI: install the docs extra (pip install -e '.[docs]')")
        pytest.skip("mkdocs / mkdocs-material not installed (pip install -e '.[docs]'); CI builds the site")
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    return out


def _sections(page: str) -> dict[str, str]:
    """h2 id -> the HTML up to the next h2."""
    parts = re.split(r'<h2 id="([^"]+)"', page)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def test_requirements_reference_lists_every_catalog_id_with_its_level(site):
    sections = _sections((site / "reference" / "requirements" / "index.html").read_text(encoding="utf-8"))
    catalog = load_catalog()
    missing = [rid for rid in catalog if rid.lower() not in sections]
    assert not missing, f"requirements reference lacks {missing}"
    for rid, req in catalog.items():
        text = html.unescape(re.sub(r"<[^>]+>", "", sections[rid.lower()]))
        assert f"{rid} {req.title}" in text
        assert f"Level: {req.level}" in text, rid
        statement = " ".join(req.statement.replace("`", "").split())  # Markdown code spans render as <code>
        assert statement[:60] in " ".join(text.split()), rid


def test_every_topic_page_is_built(site):
    reports = (site / "reports" / "index.html").read_text(encoding="utf-8")
    assert 'id="gate-and-exit-codes"' in reports
    for page in ("getting-started", "ci", "options", "safety", "baseline", "fuzzing", "probes", "misbehaving-targets",
                 "self-checks", "benchmark", "architecture", "changelog", "known-limits", "requirements-table"):
        assert (site / page / "index.html").is_file(), page
    assert 'id="the-data-path-of-one-request"' in (site / "architecture" / "index.html").read_text(encoding="utf-8")
    assert (site / "images" / "latency.png").is_file()


# A reference to the tracker's history: "issue N", "issues N", "issue-N", "ISSUE_N_CASES", "issue #N" (N a number).
HISTORY = re.compile(r"\bissues?[ _-]#?\d", re.IGNORECASE)

def history_mentions(root: Path, paths) -> list[str]:
    """``relative/path:line`` of every line of *paths* (files, or folders searched recursively) that mentions an
    issue number; cache folders, hidden folders and files that are not UTF-8 text are left out."""
    found = []
    for start in paths:
        for path in sorted([start] if start.is_file() else start.rglob("*")):
            parts = path.relative_to(root).parts
            if not path.is_file() or any(p == "__pycache__" or p.startswith(".") for p in parts):
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
            found += [f"{path.relative_to(root).as_posix()}:{n}" for n, line in enumerate(text.splitlines(), 1)
                      if HISTORY.search(line)]
    return found


def test_no_page_carries_development_history():
    """History is in CHANGELOG.md (and the commit messages); the pages and the spec speak of the suite as it is."""
    found = history_mentions(ROOT, [*(ROOT / "docs").rglob("*.md"), ROOT / "spec"])
    assert not found, found


def test_code_and_tests_carry_no_development_history():
    """The code and the self-tests name the concern they serve, not the issue that brought it (CHANGELOG.md and the
    commit messages hold that)."""
    found = history_mentions(ROOT, [ROOT / "contract_tests", ROOT / "tests"])
    assert not found, f"issue numbers in code or tests (name the concern instead): {found}"


def test_history_mentions_finds_each_spelling_and_skips_caches(tmp_path):
    n = 3  # the number is put in at run time, so that this file does not mention one itself
    (tmp_path / "pkg" / "__pycache__").mkdir(parents=True)
    (tmp_path / ".hypothesis").mkdir()
    pkg = tmp_path / "pkg"
    (pkg / "a.py").write_text(f'"""Fuzzing (issue {n})."""\nX = 1  # the issues {n} and 6\n', encoding="utf-8")
    (pkg / "b.yaml").write_text(f"# --- Issue-{n} faults ---\nISSUE_{n}_CASES: [issue #{n}]\n", encoding="utf-8")
    (pkg / "clean.py").write_text(f"# opt-in probes; tissue {n}; issues: none; issue tracker\n", encoding="utf-8")
    (pkg / "__pycache__" / "a.pyc").write_text(f"issue {n}", encoding="utf-8")
    (tmp_path / ".hypothesis" / "note").write_text(f"issue {n}", encoding="utf-8")
    (pkg / "blob.bin").write_bytes(b"\xff\xfe" + f" issue {n}".encode())
    assert history_mentions(tmp_path, [tmp_path]) == ["pkg/a.py:1", "pkg/a.py:2", "pkg/b.yaml:1", "pkg/b.yaml:2"]
