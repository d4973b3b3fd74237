"""MkDocs hooks of the documentation site (mkdocs.yml, ``hooks:``); docs/README-for-maintainers.md explains them.

``on_files`` adds the generated reference pages (requirements, OpenAPI pointers, clarifications), made from the
repository's data at every build (``requirements_reference.py``). Any inconsistency (a requirement ID a test or
fault names that the catalog does not have, a pointer the OpenAPI document lacks) raises ``PluginError``: the build
fails, in ``--strict`` mode or not.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

from requirements_reference import (CLARIFICATIONS_PAGE, OPENAPI_PAGE, REQUIREMENTS_PAGE, ReferenceError,
                                    clarifications_page, openapi_page, requirements_page)

ROOT = Path(__file__).resolve().parents[2]


def on_files(files: Files, config) -> Files:
    try:
        for src_uri, make in ((REQUIREMENTS_PAGE, requirements_page), (OPENAPI_PAGE, openapi_page),
                              (CLARIFICATIONS_PAGE, clarifications_page)):
            files.append(File.generated(config, src_uri, content=make(ROOT)))
    except ReferenceError as exc:
        raise PluginError(str(exc)) from exc
    return files
