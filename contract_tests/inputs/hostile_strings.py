"""The strings INPUT-09 names ("NUL bytes, lone surrogates, control characters, emoji, right-to-left text, very long
strings ... in any field MUST NOT cause a 5xx"), recognised in whatever a request carries: where a 5xx answers a
request holding one, that statement is the one the 5xx breaks."""

from __future__ import annotations

import unicodedata
from typing import Any

from ..sending.secrets import Secret

VERY_LONG = 1000  # characters: far past any field's documented length (username 80) and any real password
_BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def hostile(text: str) -> bool:
    """*text* holds a string INPUT-09 names: a NUL or another control character, a lone surrogate, a bidirectional
    control (right-to-left text), an emoji or other pictograph, or more than VERY_LONG characters."""
    if len(text) > VERY_LONG:
        return True
    for ch in text:
        code = ord(ch)
        if (code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF or ch in _BIDI_CONTROLS
                or code > 0xFFFF or unicodedata.category(ch) == "So"):
            return True
    return False


def carries_hostile_string(value: Any) -> bool:
    """Any string in *value* (a request's JSON, its form pairs; secrets by their values) is :func:`hostile`."""
    if isinstance(value, Secret):
        return hostile(value.value)
    if isinstance(value, str):
        return hostile(value)
    if isinstance(value, dict):
        return any(carries_hostile_string(k) or carries_hostile_string(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(carries_hostile_string(v) for v in value)
    return False
