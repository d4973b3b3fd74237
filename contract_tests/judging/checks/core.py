"""The one exception every check raises."""

from __future__ import annotations

import json
import re
from typing import Any


class Mismatch(Exception):
    """A check's property does not hold: what it expected and, optionally, what it saw."""

    def __init__(self, expected: str, actual: str | None = None) -> None:
        super().__init__(expected if actual is None else f"expected {expected}, got {actual}")
        self.expected = expected
        self.actual = actual


JWT_SHAPED = re.compile(r"eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


def short(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[:limit] + "..."
