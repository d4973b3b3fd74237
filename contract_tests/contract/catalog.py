"""Requirement catalog loader: ``spec/requirements.yaml`` validated by ``spec/requirements.schema.json``."""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Literal


from contract_tests.contract.spec import SPEC_DIR
from .yaml_loading import YamlFileError, load_yaml, read_yaml_file

__all__ = [
    "CATALOG_FILE",
    "CATALOG_SCHEMA_FILE",
    "CatalogError",
    "Requirement",
    "Source",
    "catalog_digest",
    "level_principle",
    "load_catalog",
]

CATALOG_FILE = SPEC_DIR / "requirements.yaml"
CATALOG_SCHEMA_FILE = SPEC_DIR / "requirements.schema.json"

Level = Literal["MUST", "SHOULD", "MAY"]
Credentials = Literal["none", "required", "partial"]

# ID prefix -> area, for the prefixes the shipped catalog uses (other prefixes are free to pick their area).
_PREFIX_AREA = {
    "RESP": "response",
    "DEPR": "deprecated",
    "INPUT": "input",
    "AUTH": "auth",
    "TOKEN": "token",
    "SEC": "security",
    "HTTP": "http",
    "ABUSE": "abuse",  # the opt-in probes
    "CAPTCHA": "abuse",
}


class CatalogError(ValueError):
    """The requirement catalog is unreadable, violates its schema, or is inconsistent."""


@dataclass(frozen=True)
class Source:
    kind: str
    ref: str
    url: str | None = None
    quote: str | None = None

    def __str__(self) -> str:
        return self.ref if self.kind in ("rfc", "owasp-asvs", "owasp-wstg", "nist-800-63b") else f"{self.kind}: {self.ref}"


@dataclass(frozen=True)
class Requirement:
    id: str
    level: Level
    title: str
    statement: str
    source: Source
    credentials: Credentials
    opt_in: bool
    area: str
    should_clause: str | None = None
    level_reason: str = ""  # why this level, by the catalog's level principle

    def statement_at(self, level: str | None) -> str:
        """The statement of the clause at *level*: the ``should_clause`` of a requirement that failed below its
        own level, where the catalog has one; else the statement."""
        if level == "SHOULD" and self.level == "MUST" and self.should_clause:
            return self.should_clause
        return self.statement

    @property
    def needs_credentials(self) -> bool:
        """True when every check needs LOGIN_EMAIL / LOGIN_PASSWORD (``credentials == "required"``)."""
        return self.credentials == "required"


@functools.cache
def _schema() -> dict[str, Any]:
    import jsonschema

    schema = json.loads(CATALOG_SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def _where(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top level>"


def _check_schema(data: Any, path: Path | Traversable) -> None:
    import jsonschema  # only for a catalog the self-tests have not already validated: start-up stays short

    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    if not errors:
        return
    lines = []
    for err in errors[:20]:
        loc = _where(err.absolute_path)
        ident = ""
        path_parts = list(err.absolute_path)
        if len(path_parts) >= 2 and path_parts[0] == "requirements" and isinstance(data, dict):
            try:
                ident = f" ({data['requirements'][path_parts[1]].get('id', '?')})"
            except (AttributeError, IndexError, KeyError, TypeError):
                ident = ""
        lines.append(f"  {loc}{ident}: {err.message}")
    more = f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""
    raise CatalogError(f"{path}: requirement catalog violates {CATALOG_SCHEMA_FILE.name}:\n" + "\n".join(lines) + more)


def _parse(path: Path | Traversable, *, shipped: bool = False) -> dict[str, Requirement]:
    try:
        data = read_yaml_file(path, "requirement catalog")
    except YamlFileError as exc:
        raise CatalogError(str(exc)) from None
    if not shipped:  # the shipped catalog is validated against its schema by the self-tests (test_catalog.py)
        _check_schema(data, path)

    catalog: dict[str, Requirement] = {}
    for index, entry in enumerate(data["requirements"]):
        rid = entry["id"]
        if rid in catalog:
            raise CatalogError(f"{path}: duplicate requirement id {rid!r} (requirements[{index}])")
        expected_area = _PREFIX_AREA.get(rid.split("-", 1)[0])
        if expected_area is not None and entry["area"] != expected_area:
            raise CatalogError(f"{path}: {rid} has area {entry['area']!r}; {rid.split('-')[0]}-* requirements belong to {expected_area!r}")
        catalog[rid] = Requirement(
            id=rid,
            level=entry["level"],
            title=entry["title"],
            statement=entry["statement"],
            source=Source(**entry["source"]),
            credentials=entry["credentials"],
            opt_in=entry["opt_in"],
            area=entry["area"],
            should_clause=entry.get("should_clause"),
            level_reason=entry["level_reason"],
        )
    return catalog


@functools.cache
def _principle() -> dict[str, Any]:
    return load_yaml(CATALOG_FILE.read_text(encoding="utf-8"))["level_principle"]


def level_principle() -> dict[str, Any]:
    """The catalog's level principle: ``{"documented_client": str, "must": [str], "should": [str]}`` (a fresh copy)."""
    _default_catalog()  # validated with the catalog
    return copy.deepcopy(_principle())


@functools.cache
def _default_catalog() -> dict[str, Requirement]:
    return _parse(CATALOG_FILE, shipped=True)


def load_catalog(path: str | Path | None = None) -> dict[str, Requirement]:
    """The requirement catalog as ``{id: Requirement}``, in file order.

    ``path`` defaults to ``spec/requirements.yaml`` (loaded once and cached).  Raises :class:`CatalogError`
    when the file is unreadable, violates ``spec/requirements.schema.json`` or repeats an ID.
    """
    if path is None:
        return dict(_default_catalog())
    return _parse(Path(path))


def catalog_digest() -> str:
    """``sha256:<hex>`` over the bytes of ``spec/requirements.yaml`` and ``spec/requirements.schema.json``."""
    h = hashlib.sha256()
    for file in (CATALOG_FILE, CATALOG_SCHEMA_FILE):
        data = file.read_bytes()
        h.update(f"{file.name}\0{len(data)}\0".encode())
        h.update(data)
    return "sha256:" + h.hexdigest()
