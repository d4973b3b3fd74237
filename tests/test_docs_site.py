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
sys.path.append(str(ROOT / "docs" / "hooks"))

import readme_sections  # noqa: E402  (docs/hooks is not a package: MkDocs loads it by path)


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


def test_every_topic_page_is_built_with_its_readme_sections(site):
    reports = (site / "reports" / "index.html").read_text(encoding="utf-8")
    assert 'id="gate-and-exit-codes"' in reports
    for page in ("getting-started", "ci", "options", "safety", "baseline", "fuzzing", "probes", "misbehaving-targets",
                 "self-checks", "benchmark", "architecture", "changelog", "known-limits"):
        assert (site / page / "index.html").is_file(), page
    unexpanded = [str(p.relative_to(site)) for p in site.rglob("*.html") if "<!-- readme:" in p.read_text(encoding="utf-8")]
    assert not unexpanded, f"include directives left in {unexpanded}"
    assert 'id="the-data-path-of-one-request"' in (site / "architecture" / "index.html").read_text(encoding="utf-8")


def _includer(tmp_path: Path, readme: str, pages: dict[str, str]) -> readme_sections.Includer:
    (tmp_path / "README.md").write_text(readme, encoding="utf-8")
    (tmp_path / "pic.png").write_bytes(b"\x89PNG")
    return readme_sections.Includer(tmp_path / "README.md", pages)


README = """# Title

## Safety

Stay safe, see [the gate](#gate-and-exit-codes), [arch](docs/architecture.md) and `x`.

### Requests in flight

Few.

## Reports

Intro text. ![plot](pic.png) and [a file](pic.png).

### Gate and exit codes

```
# not a heading
```
Exit 1.

## Options

### Options
"""


def test_a_section_is_included_with_its_subsections_and_its_links_rewritten(tmp_path):
    pages = {"safety.md": "# S\n\n<!-- readme: ## Safety -->\n", "reports.md": "# R\n\n<!-- readme: ### Gate and exit codes -->\n"}
    inc = _includer(tmp_path, README, pages)
    out = inc.expand("safety.md", pages["safety.md"])
    assert "## Safety" in out and "### Requests in flight" in out and "## Reports" not in out
    assert "[the gate](reports.md#gate-and-exit-codes)" in out
    assert "[arch](architecture.md)" in out
    gate = inc.expand("reports.md", pages["reports.md"])
    assert gate.splitlines()[2] == "## Gate and exit codes"  # a ### section becomes the page's level 2
    assert "# not a heading" in gate and "Exit 1." in gate  # a fenced comment line is no heading


def test_intro_stops_at_the_first_subheading_and_images_are_copied(tmp_path):
    pages = {"reports.md": "<!-- readme: ## Reports (intro) -->"}
    out = _includer(tmp_path, README, pages).expand("reports.md", pages["reports.md"])
    assert "Intro text." in out and "Gate and exit codes" not in out
    assert f"![plot]({readme_sections.REPOSITORY_FILES}/pic.png)" in out
    assert "a file (`pic.png`)" in out


@pytest.mark.parametrize("pages, message", [
    ({"a.md": "<!-- readme: ## Gone -->"}, "no heading ## 'Gone'"),
    ({"a.md": "<!-- readme: ## Safety -->", "b.md": "<!-- readme: ### Gate and exit codes -->"}, None),
    ({"a.md": "<!-- readme: ## Safety -->"}, "a heading no page of the site includes"),
    ({"a.md": "<!-- readme: Safety -->"}, "is not an include"),
])
def test_a_missing_heading_or_a_link_to_nothing_fails(tmp_path, pages, message):
    try:
        inc = _includer(tmp_path, README, pages)
        for page, source in pages.items():
            inc.expand(page, source)
    except readme_sections.SectionError as exc:
        assert message is not None and message in str(exc)
    else:
        assert message is None


def test_a_link_to_a_section_no_page_includes_goes_where_its_subject_is(tmp_path):
    pages = {"safety.md": "<!-- readme: ## Safety -->"}
    inc = readme_sections.Includer(_includer(tmp_path, README, {}).root / "README.md", pages,
                                   {"gate-and-exit-codes": "reference/gate.md"})
    assert "[the gate](reference/gate.md)" in inc.expand("safety.md", pages["safety.md"])


def test_a_page_section_becomes_the_page_title(tmp_path):
    pages = {"options.md": "<!-- readme: ### Options (page) -->"}
    out = _includer(tmp_path, README, pages).expand("options.md", pages["options.md"])
    assert out.splitlines()[0] == "# Options"


def test_the_level_tells_two_headings_of_one_title_apart(tmp_path):
    inc = _includer(tmp_path, README, {})
    assert inc.readme.find(2, "Options").line < inc.readme.find(3, "Options").line


def test_checks_are_found_at_their_call_sites(tmp_path):
    import requirements_reference

    source = tmp_path / "contract_tests" / "suite" / "test_x.py"
    source.parent.mkdir(parents=True)
    source.write_text('''
def own_check(ex):
    """Own property."""

def test_a(ex):
    expect("RESP-01", ex, checks.status_is, 201, level="SHOULD")
    verify("RESP-01", ex, checks.issues_token)
    expect("AUTH-07", ex, own_check)
    fail("SEC-01", [ex], "alike", "not alike")
    run("not an id", ex, checks.nosniff)
''', encoding="utf-8")
    found = requirements_reference.tagged_checks([source])
    assert found["RESP-01"]["`status_is`"][0] == {"SHOULD"}
    assert found["RESP-01"]["`issues_token`"][0] == {""}
    assert found["AUTH-07"]["`own_check` (`contract_tests/suite/test_x.py`)"][1] == "Own property."
    assert list(found["SEC-01"]) == ["the test's own comparison (`fail` in `contract_tests/suite/test_x.py`)"]
    assert set(found) == {"RESP-01", "AUTH-07", "SEC-01"}


def test_an_openapi_pointer_resolves_or_fails_the_build():
    import requirements_reference

    document = {"paths": {"/api/user/login": {"post": {"responses": {"201": {"description": "ok"}}}}}}
    assert requirements_reference.resolve_pointer(document, "#/paths/~1api~1user~1login/post/responses/201") == \
        {"description": "ok"}
    with pytest.raises(requirements_reference.ReferenceError):
        requirements_reference.resolve_pointer(document, "#/paths/~1api~1user~1login/get")
