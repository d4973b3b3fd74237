"""Numeric command-line options, parsed and checked by the suite itself.

The options are declared with ``type=str`` so that a bad value reaches the suite's configuration step,
which answers it with one line, exit 4 and (with ``--report-dir``) a could-not-test report; argparse
would stop before any report could be written. ``nan`` and ``inf`` are never a sensible bound.
"""

from __future__ import annotations

import math
from typing import Literal, overload

import pytest


@overload
def number(config: pytest.Config, name: str, *, integer: Literal[True], minimum: float = 0.0,
           above_minimum: bool = False, maximum: float | None = None, below_maximum: bool = False,
           unit: str = "") -> int: ...
@overload
def number(config: pytest.Config, name: str, *, integer: Literal[False] = False, minimum: float = 0.0,
           above_minimum: bool = False, maximum: float | None = None, below_maximum: bool = False,
           unit: str = "") -> float: ...
def number(config: pytest.Config, name: str, *, integer: bool = False, minimum: float = 0.0,
           above_minimum: bool = False, maximum: float | None = None, below_maximum: bool = False,
           unit: str = "") -> float | int:
    """The option's value, or a UsageError naming the option, the rule and the value given."""
    raw = config.getoption(name)
    flag = "--" + name.replace("_", "-")
    lower = f"greater than {minimum:g}" if above_minimum else f"at least {minimum:g}"
    rule = f"{'a whole number' if integer else 'a number'} {lower}"
    if maximum is not None:
        rule += f" and {'below' if below_maximum else 'at most'} {maximum:g}"
    rule += f" {unit}".rstrip()
    try:
        value = int(str(raw).strip()) if integer else float(str(raw).strip())
    except ValueError:
        raise pytest.UsageError(f"{flag} must be {rule}, got {raw!r}") from None
    if (not math.isfinite(value) or value < minimum or (above_minimum and value == minimum)
            or (maximum is not None and (value > maximum or (below_maximum and value == maximum)))):
        raise pytest.UsageError(f"{flag} must be {rule}, got {raw!r}")
    return value
