"""The catalog's requirement levels and their order, defined once: MUST is stricter than SHOULD, SHOULD than MAY.

Every comparison of levels (the per-test gate, the run's gate, a baseline's "worse", one cause charged to the
strictest requirement) goes through :class:`Level`; the gate rule itself is :func:`contract_tests.judging.gate.gates`.
"""

from __future__ import annotations

import enum


class Level(str, enum.Enum):
    """A requirement level, ordered by strictness (``Level.MUST.at_least(Level.SHOULD)``)."""

    MUST = "MUST"
    SHOULD = "SHOULD"
    MAY = "MAY"

    def __str__(self) -> str:
        return self.value

    @property
    def strictness(self) -> int:
        """0 for the strictest level (MUST), larger for laxer ones: a sort key, strictest first."""
        return _ORDER.index(self)

    def at_least(self, other: "Level | str") -> bool:
        """This level is as strict as *other* or stricter."""
        return self.strictness <= Level(other).strictness

    @classmethod
    def strictest(cls, levels) -> "Level":
        """The strictest of *levels* (level names or Levels; at least one)."""
        return min((cls(level) for level in levels), key=lambda level: level.strictness)

    @classmethod
    def sort_key(cls, level: "Level | str") -> int:
        """Strictest first, for ``sorted(..., key=Level.sort_key)`` over level names."""
        return cls(level).strictness


_ORDER = tuple(Level)
