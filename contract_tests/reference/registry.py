"""Catalog of faults, conforming variants and stack variants: data in faults.yaml / variants.yaml /
stacks/stacks.yaml, code in faults/ / variants.py / stacks/. The two sides are checked against each other at
import."""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

# Registers the opt-in probes' faults and variant. import_module, not `from . import`: that returns a stale
# package attribute left behind when pytester's in-process runs drop the submodule from sys.modules
importlib.import_module(".probe_faults", __package__)
from .faults import FAULT_CLASSES
from .service import LoginService
from .stacks import STACK_CLASSES
from .variants import VARIANT_CLASSES

_HERE = Path(__file__).resolve().parent
_REQUIREMENT_ID = re.compile(r"^[A-Z]+-\d{2}$")


class RegistryError(RuntimeError):
    """faults.yaml / variants.yaml and the Python classes disagree."""


@dataclass(frozen=True)
class Mutation:
    """One fault, conforming variant or stack variant of the reference server."""

    name: str
    kind: str  # "fault", "variant" or "stack" (expected findings: tests/stack_expectations.yaml)
    breaks: list[str] = field(hash=False)
    description: str
    service_class: type[LoginService] = field(repr=False, compare=False)


def _load(kind: str, filename: str, classes: dict[str, type[LoginService]]) -> dict[str, Mutation]:
    document = yaml.safe_load((_HERE / filename).read_text(encoding="utf-8")) or {}
    keys = {"name", "description"} if kind == "stack" else {"name", "breaks", "description"}
    entries = document.get(f"{kind}s")
    if not isinstance(entries, list):
        raise RegistryError(f"{filename}: top-level key '{kind}s' must be a list")
    catalog: dict[str, Mutation] = {}
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) != keys:
            raise RegistryError(f"{filename}: each entry needs exactly {', '.join(sorted(keys))}: {entry!r}")
        name, breaks, description = entry["name"], entry.get("breaks", []), entry["description"]
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
            raise RegistryError(f"{filename}: {kind} {name!r} has no registered class")
        catalog[name] = Mutation(name, kind, list(breaks), description.strip(), classes[name])
    missing = sorted(set(classes) - set(catalog))
    if missing:
        raise RegistryError(f"{kind} classes missing from {filename}: {', '.join(missing)}")
    return catalog


FAULTS: dict[str, Mutation] = _load("fault", "faults.yaml", FAULT_CLASSES)
VARIANTS: dict[str, Mutation] = _load("variant", "variants.yaml", VARIANT_CLASSES)
STACKS: dict[str, Mutation] = _load("stack", "stacks/stacks.yaml", STACK_CLASSES)


def service_class(fault: str | None = None, variant: str | None = None) -> type[LoginService]:
    """The LoginService subclass for a fault and/or a variant -- conforming or stack -- (both may be combined);
    ValueError if unknown."""
    classes: list[type[LoginService]] = []
    if fault is not None:
        classes.extend(fault_classes(fault))
    if variant is not None:
        known = {**VARIANTS, **STACKS}
        if variant not in known:
            raise ValueError(f"unknown variant {variant!r}; valid variants: {', '.join(known)}")
        classes.append(known[variant].service_class)
    if not classes:
        return LoginService
    if len(classes) == 1:
        return classes[0]
    return type("With".join(c.__name__ for c in classes), tuple(classes), {})


def fault_classes(names: str) -> list[type[LoginService]]:
    """One fault, or several comma-separated (the baseline self-test: one known fault plus one new).

    Faults are combined only when each overrides methods no other one does, so every fault still does exactly
    what its entry in faults.yaml says; ValueError otherwise.
    """
    chosen = [n.strip() for n in names.split(",") if n.strip()]
    if not chosen:
        raise ValueError(f"no fault named in {names!r}")
    for name in chosen:
        if name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; valid faults: {', '.join(FAULTS)}")
    if len(set(chosen)) != len(chosen):
        raise ValueError(f"fault named twice in {names!r}")
    owners: dict[str, str] = {}
    for name in chosen:
        for method in _overrides(FAULTS[name].service_class):
            if method in owners:
                raise ValueError(f"faults {owners[method]!r} and {name!r} both change LoginService.{method}: "
                                 "they cannot be combined")
            owners[method] = name
    return [FAULTS[name].service_class for name in chosen]


def _overrides(cls: type[LoginService]) -> set[str]:
    """What a fault class changes: the attributes it defines itself, up to LoginService."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass is LoginService or not issubclass(klass, LoginService):
            break
        names |= {k for k in vars(klass) if not k.startswith("__") and k != "mutation_name"}
    return names
