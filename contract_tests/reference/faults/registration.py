"""The fault registry: ``@fault("name")`` registers a LoginService subclass in FAULT_CLASSES under its faults.yaml
name (registry.py checks both sides agree)."""

from __future__ import annotations

from ..service import LoginService, registrar

FAULT_CLASSES: dict[str, type[LoginService]] = {}


fault = registrar("fault", FAULT_CLASSES)

__all__ = ["FAULT_CLASSES", "fault"]
