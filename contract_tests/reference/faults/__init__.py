"""Faults: each subclass of LoginService overrides one method with a realistic bug breaking one requirement.

A module per section of ``faults.yaml``: ``core`` (the entries before the first section), ``coverage``, ``fuzzing``,
``login_security``, ``body_size``, ``parser_differentials``, ``transport``, ``hostile_passwords``; the opt-in probes'
faults are in ``probe_faults.py``. To add a fault: write the subclass in the module of its section, decorate it with
``@fault("name")`` (``registration.py``) and add the entry to that section of ``faults.yaml`` (name, breaks,
description). ``registry.py`` checks at import that both sides agree.
"""

from __future__ import annotations

import importlib

from .registration import FAULT_CLASSES, fault

# Each section registers its faults when imported, in faults.yaml's order. import_module, not `from . import`: that
# returns a stale package attribute left behind when pytester's in-process runs drop a submodule from sys.modules
SECTIONS = ("core", "coverage", "fuzzing", "login_security", "body_size", "parser_differentials", "transport",
            "hostile_passwords")
for _section in SECTIONS:
    importlib.import_module(f".{_section}", __name__)

from .core import grapheme_count  # noqa: E402  (tests/test_boundaries.py counts graphemes as the fault does)
from .parser_differentials import DEFAULT_RECURSION_LIMIT, json_nesting  # noqa: E402

__all__ = ["DEFAULT_RECURSION_LIMIT", "FAULT_CLASSES", "SECTIONS", "fault", "grapheme_count", "json_nesting"]
