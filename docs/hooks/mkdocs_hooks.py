"""MkDocs hooks of the documentation site (mkdocs.yml, ``hooks:``); docs/README-for-maintainers.md explains them.

- ``on_files`` adds the generated reference pages (requirements, OpenAPI pointers, clarifications), made from the
  repository's data at every build (``requirements_reference.py``), and the repository images README shows;
- ``on_page_markdown`` replaces each ``<!-- readme: Heading -->`` line of a page by that README section
  (``readme_sections.py``).

Any inconsistency (a heading README lacks, a link to nothing, a requirement ID a test or fault names that the catalog
does not have) raises ``PluginError``: the build fails, in ``--strict`` mode or not.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

from readme_sections import REPOSITORY_FILES, Includer, SectionError
from requirements_reference import (CLARIFICATIONS_PAGE, OPENAPI_PAGE, REQUIREMENTS_PAGE, ReferenceError,
                                    clarifications_page, openapi_page, requirements_page)

ROOT = Path(__file__).resolve().parents[2]
_includer: Includer | None = None
# README sections no page includes, and the page a link to them goes to
README_ELSEWHERE = {"requirements": REQUIREMENTS_PAGE, "layout": "architecture.md"}


def on_files(files: Files, config) -> Files:
    global _includer
    try:
        for src_uri, make in ((REQUIREMENTS_PAGE, requirements_page), (OPENAPI_PAGE, openapi_page),
                              (CLARIFICATIONS_PAGE, clarifications_page)):
            files.append(File.generated(config, src_uri, content=make(ROOT)))
        pages = {f.src_uri: Path(f.abs_src_path).read_text(encoding="utf-8")
                 for f in files.documentation_pages() if f.abs_src_path and not f.generated_by}
        _includer = Includer(ROOT / "README.md", pages, README_ELSEWHERE)
        for page, source in pages.items():  # expand once now, so the images it shows are known before the build
            _includer.expand(page, source)
    except (ReferenceError, SectionError) as exc:
        raise PluginError(str(exc)) from exc
    for path in sorted(_includer.images):
        files.append(File.generated(config, f"{REPOSITORY_FILES}/{path}", abs_src_path=str(ROOT / path)))
    return files


def on_page_markdown(markdown: str, page, config, files) -> str:
    if _includer is None:
        return markdown
    try:
        return _includer.expand(page.file.src_uri, markdown)
    except SectionError as exc:
        raise PluginError(str(exc)) from exc
