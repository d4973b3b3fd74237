"""Catalog of faults and conforming variants: data in faults.yaml / variants.yaml, code in faults.py /
variants.py. The two sides are checked against each other at import."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import opt_in  # noqa: F401  (issue 6: registers the opt-in probes' faults and variant)
from .faults import FAULT_CLASSES
from .service import LoginService
from .variants import VARIANT_CLASSES

_HERE = Path(__file__).resolve().parent
_REQUIREMENT_ID = re.compile(r"^[A-Z]+-\d{2}$")


class RegistryError(RuntimeError):
    """faults.yaml / variants.yaml and the Python classes disagree."""


@dataclass(frozen=True)
class Mutation:
    """One fault or conforming variant of the reference server."""

    name: str
    kind: str  # "fault" or "variant"
    breaks: list[str] = field(hash=False)
    description: str
    service_class: type[LoginService] = field(repr=False, compare=False)


def _load(kind: str, filename: str, classes: dict[str, type[LoginService]]) -> dict[str, Mutation]:
    document = yaml.safe_load((_HERE / filename).read_text(encoding="utf-8")) or {}
    entries = document.get(f"{kind}s")
    if not isinstance(entries, list):
        raise RegistryError(f"{filename}: top-level key '{kind}s' must be a list")
    catalog: dict[str, Mutation] = {}
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) != {"name", "breaks", "description"}:
            raise RegistryError(f"{filename}: each entry needs exactly name, breaks, description: {entry!r}")
        name, breaks, description = entry["name"], entry["breaks"], entry["description"]
        if not isinstance(name, str) or not name or name in catalog:
            raise RegistryError(f"{filename}: missing or duplicate name {name!r}")
        if not isinstance(breaks, list) or not all(isinstance(b, str) and _REQUIREMENT_ID.match(b) for b in breaks):
            raise RegistryError(f"{filename}: {name}: breaks must be a list of requirement IDs, got {breaks!r}")
        if kind == "fault" and not breaks:
            raise RegistryError(f"{filename}: fault {name} must break at least one requirement")
        if kind == "variant" and breaks:
            raise RegistryError(f"{filename}: variant {name} must break nothing")
        if not isinstance(description, str) or not description.strip():
            raise RegistryError(f"{filename}: {name}: empty description")
        if name not in classes:
            raise RegistryError(f"{filename}: {kind} {name!r} has no class in {kind}s.py")
        catalog[name] = Mutation(name, kind, list(breaks), description.strip(), classes[name])
    missing = sorted(set(classes) - set(catalog))
    if missing:
        raise RegistryError(f"{kind}s.py defines {kind}s missing from {filename}: {', '.join(missing)}")
    return catalog


FAULTS: dict[str, Mutation] = _load("fault", "faults.yaml", FAULT_CLASSES)
VARIANTS: dict[str, Mutation] = _load("variant", "variants.yaml", VARIANT_CLASSES)


def service_class(fault: str | None = None, variant: str | None = None) -> type[LoginService]:
    """The LoginService subclass for a fault and/or a variant (both may be combined); ValueError if unknown."""
    classes: list[type[LoginService]] = []
    if fault is not None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; valid faults: {', '.join(FAULTS)}")
        classes.append(FAULTS[fault].service_class)
    if variant is not None:
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; valid variants: {', '.join(VARIANTS)}")
        classes.append(VARIANTS[variant].service_class)
    if not classes:
        return LoginService
    if len(classes) == 1:
        return classes[0]
    return type(f"{classes[0].__name__}With{classes[1].__name__}", tuple(classes), {})
