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


def test_no_page_carries_development_history():
    """History is in CHANGELOG.md (and the commit messages); the pages and the spec speak of the suite as it is."""
    found = [f"{path.relative_to(ROOT)}:{n}" for path in [*(ROOT / "docs").rglob("*.md"), *(ROOT / "spec").iterdir()]
             if path.is_file()
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if re.search(r"\bissues? \d+|\bissue-\d+", line, re.I)]
    assert not found, found
