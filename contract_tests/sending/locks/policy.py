"""A lockout policy: how many failed logins within which window lock an identifier, declared
(``--lockout-policy=10/120s``) or learned from the target's own locks (learning.py)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

MIN_LEARNED_WINDOW = 1.0  # seconds: the shortest window a count that outlived a lock is assumed to have

_POLICY = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*$", re.I)
_UNITS = {None: 1.0, "ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class LockoutPolicy:
    """*failures* failed logins for one identifier within *window* seconds lock it (inf: counted over the run)."""

    failures: int
    window: float = math.inf
    declared: bool = True

    def describe(self) -> str:
        within = "in the run" if self.window == math.inf else f"within {self.window:g} s"
        how = ("declared (--lockout-policy)" if self.declared else "learned from the target's first lock"
               if self.window == math.inf else "learned from the target's locks")
        return f"{self.failures} failed logins {within} lock an identifier ({how})"


def parse_policy(text: str) -> LockoutPolicy:
    """``N/W`` with W in seconds, or ``Ns``, ``Nm``, ``Nh``, ``Nms`` (e.g. ``10/120s``, ``6/5m``); ValueError with
    one line saying what is expected."""
    match = _POLICY.match(text or "")
    if not match or int(match.group(1)) < 1 or float(match.group(2)) <= 0:
        raise ValueError(f"--lockout-policy expects FAILURES/WINDOW such as 10/120s or 6/5m (failed logins per "
                         f"identifier that lock it, within that time), got {text!r}")
    unit = (match.group(3) or "").lower() or None
    return LockoutPolicy(int(match.group(1)), float(match.group(2)) * _UNITS[unit])
