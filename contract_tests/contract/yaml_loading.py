"""YAML as the suite reads it: ``yaml.safe_load``, with libyaml's C loader where PyYAML was built with it (the
pure-Python loader takes about 70 ms for the requirement catalog alone, on every start)."""

from __future__ import annotations

from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
YAMLError = yaml.YAMLError


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 -- a safe loader, C or Python
