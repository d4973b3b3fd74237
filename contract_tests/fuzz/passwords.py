"""A hypothesis strategy of near-miss passwords derived from the real one (AUTH-03).

Each example is ONE mutation of the password: case flips, insertions, deletions, truncations,
surrounding and inner whitespace, Unicode look-alikes, combining marks / normalization forms, NUL and
control characters.  One mutation per example keeps every failure readable and lets hypothesis shrink
towards the simplest mutation kind (the list below is ordered simplest first).

A near-miss is a :class:`~contract_tests.sending.secrets.Secret`: its value is never printed; its label says
what was done without showing a character of the password ("LOGIN_PASSWORD with U+0020 SPACE
prepended"), and its shell form rebuilds it from ``$LOGIN_PASSWORD`` in a curl reproduction.  The shell
form prints the JSON-escaped value (it is spliced between the quotes of a JSON string), so NUL and
control characters survive the shell; it needs ``python3`` and an exported ``LOGIN_PASSWORD``.

Variants a password verifier may legitimately accept are never generated: NIST SP 800-63B §5.1.1.2
lets a verifier apply Unicode normalization (NFKC/NFKD) before hashing, so a mutation whose NFKC form
equals the password's NFKC form (a full-width letter, a decomposed accent) is not a near-miss.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from typing import Literal

from hypothesis import strategies as st

from ..sending.secrets import Secret, derived

# Whitespace a server might trim or collapse: ASCII, Latin-1, Unicode spaces, line/paragraph separators.
WHITESPACE = (" ", "\t", "\n", "\r", "\x0b", "\x0c", "\x85", "\u00a0", "\u2003", "\u3000", "\u2028", "\u200b",
              "\ufeff")
# NUL and control characters (C strings end at NUL; logs and terminals treat the others specially).
CONTROL = ("\x00", "\x01", "\x08", "\x1b", "\x7f", "\x9b", "\u200e", "\u202e")
# Combining marks: 'e' + U+0301 is a different password from 'e' in every normalization form.
COMBINING = ("\u0301", "\u0308", "\u0303", "\u0327")
# Confusable look-alikes (Cyrillic / Greek / punctuation): visually close, NFKC-distinct.
LOOKALIKES = {
    "a": "\u0430", "c": "\u0441", "e": "\u0435", "i": "\u0456", "j": "\u0458", "o": "\u043e", "p": "\u0440",
    "s": "\u0455", "x": "\u0445", "y": "\u0443", "A": "\u0391", "B": "\u0392", "C": "\u0421", "E": "\u0395",
    "H": "\u0397", "K": "\u039a", "M": "\u039c", "P": "\u03a1", "T": "\u03a4", "X": "\u03a7",
    "0": "O", "O": "0", "1": "l", "l": "1", "I": "l", "-": "\u2010", "!": "\u01c3", "'": "\u2019",
    '"': "\u201d", ".": "\u2024", ";": "\u037e", "/": "\u2215", "_": "\uff3f",
}
PRINTABLE = tuple(chr(c) for c in range(0x21, 0x7f))
NormalForm = Literal["NFC", "NFD", "NFKC", "NFKD"]
NORMAL_FORMS: tuple[NormalForm, ...] = ("NFC", "NFD", "NFKC", "NFKD")


_CONTROL_NAMES = {
    "\x00": "NUL", "\x01": "START OF HEADING", "\x08": "BACKSPACE", "\t": "CHARACTER TABULATION",
    "\n": "LINE FEED", "\x0b": "LINE TABULATION", "\x0c": "FORM FEED", "\r": "CARRIAGE RETURN", "\x1b": "ESCAPE",
    "\x7f": "DELETE", "\x85": "NEXT LINE", "\x9b": "CONTROL SEQUENCE INTRODUCER",
}


def _char_name(ch: str) -> str:
    name = _CONTROL_NAMES.get(ch) or unicodedata.name(ch, "")
    if not name:
        name = "control character" if unicodedata.category(ch) == "Cc" else "unnamed character"
    return f"U+{ord(ch):04X} {name}"


def _chars_name(text: str) -> str:
    return " + ".join(_char_name(ch) for ch in text)


def _pylit(text: str) -> str:
    """A double-quoted Python literal of *text* using printable ASCII only, safe inside shell single quotes."""
    out = []
    for ch in text:
        code = ord(ch)
        if 32 <= code < 127 and ch not in "\"\\'":
            out.append(ch)
        elif code < 0x100:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


@dataclass(frozen=True)
class NearMiss:
    """One mutation of the password: kind, a password-free description, and how to recompute it.

    ``expr`` is a Python expression over ``p`` (the password) that evaluates to the near-miss; it is
    what the curl reproduction runs.  ``value`` is never shown (``repr`` omits it).
    """

    kind: str
    description: str
    expr: str
    value: str

    def __repr__(self) -> str:
        return f"NearMiss({self.kind}: LOGIN_PASSWORD {self.description})"

    def secret(self, password: Secret) -> Secret:
        shell = (
            "\"$(python3 -c 'import json,os,unicodedata;p=os.environ[\"LOGIN_PASSWORD\"];"
            f"print(json.dumps({self.expr})[1:-1],end=\"\")')\""
        )
        return derived(password, self.value, f"LOGIN_PASSWORD {self.description}", shell)


def _make(kind: str, description: str, expr: str, pw: str) -> NearMiss:
    # The value is computed from the very expression the reproduction runs, so the two cannot drift apart
    # (only expressions built in this module are evaluated).
    value = eval(expr, {"__builtins__": {}, "unicodedata": unicodedata}, {"p": pw})
    return NearMiss(kind, description, expr, value)


def near_miss_passwords(password: Secret) -> st.SearchStrategy[NearMiss]:
    """Near-misses of *password*, simplest kinds first (hypothesis shrinks towards the first)."""
    pw = password.value
    n = len(pw)
    cased = [i for i, ch in enumerate(pw) if ch.swapcase() != ch]
    alike = [i for i, ch in enumerate(pw) if ch in LOOKALIKES]

    def spaces(min_size: int) -> st.SearchStrategy[str]:
        return st.lists(st.sampled_from(WHITESPACE), min_size=min_size, max_size=3).map("".join)

    @st.composite
    def surrounding_whitespace(draw) -> NearMiss:
        where = draw(st.sampled_from(("before", "after", "both")))
        before = draw(spaces(1)) if where in ("before", "both") else ""
        after = draw(spaces(1)) if where in ("after", "both") else ""
        parts = ([f"{_chars_name(before)} prepended"] if before else []) + (
            [f"{_chars_name(after)} appended"] if after else [])
        expr = "+".join([_pylit(before)] * bool(before) + ["p"] + [_pylit(after)] * bool(after))
        return _make("surrounding-whitespace", "with " + " and ".join(parts), expr, pw)

    @st.composite
    def case_flip(draw) -> NearMiss:
        if draw(st.booleans()) or len(cased) < 2:
            return _make("case-flip", "with the case of every letter flipped", "p.swapcase()", pw)
        i = draw(st.sampled_from(cased))
        return _make("case-flip", f"with the case of character {i + 1} flipped",
                     f"p[:{i}]+p[{i}].swapcase()+p[{i + 1}:]", pw)

    @st.composite
    def truncation(draw) -> NearMiss:
        keep = draw(st.integers(min_value=max(1, math.ceil(n / 2)), max_value=n - 1))
        return _make("truncation", f"truncated to its first {keep} characters", f"p[:{keep}]", pw)

    @st.composite
    def deletion(draw) -> NearMiss:
        i = draw(st.integers(min_value=0, max_value=n - 1))
        what = "without its last character" if i == n - 1 else f"without character {i + 1}"
        return _make("deletion", what, f"p[:{i}]+p[{i + 1}:]", pw)

    @st.composite
    def insertion(draw) -> NearMiss:
        i = draw(st.integers(min_value=0, max_value=n))
        ch = draw(st.one_of(st.sampled_from(PRINTABLE), st.sampled_from(WHITESPACE), st.sampled_from(CONTROL),
                            st.characters(codec="utf-8")))
        where = "prepended" if i == 0 else "appended" if i == n else f"inserted after character {i}"
        return _make("insertion", f"with {_char_name(ch)} {where}", f"p[:{i}]+{_pylit(ch)}+p[{i}:]", pw)

    @st.composite
    def inner_whitespace(draw) -> NearMiss:
        i = draw(st.integers(min_value=1, max_value=n - 1))
        ws = draw(spaces(1))
        return _make("inner-whitespace", f"with {_chars_name(ws)} inserted after character {i}",
                     f"p[:{i}]+{_pylit(ws)}+p[{i}:]", pw)

    @st.composite
    def lookalike(draw) -> NearMiss:
        i = draw(st.sampled_from(alike))
        other = LOOKALIKES[pw[i]]
        return _make("lookalike", f"with character {i + 1} replaced by the look-alike {_char_name(other)}",
                     f"p[:{i}]+{_pylit(other)}+p[{i + 1}:]", pw)

    @st.composite
    def normalization(draw) -> NearMiss:
        forms = [f for f in NORMAL_FORMS if unicodedata.normalize(f, pw) != pw]
        if forms and draw(st.booleans()):
            form = draw(st.sampled_from(forms))
            return _make("normalization", f"in Unicode normalization form {form}",
                         f"unicodedata.normalize({_pylit(form)},p)", pw)
        i = draw(st.integers(min_value=0, max_value=n - 1))
        mark = draw(st.sampled_from(COMBINING))
        form = draw(st.sampled_from(("as is", "NFC", "NFD")))
        expr = f"p[:{i + 1}]+{_pylit(mark)}+p[{i + 1}:]"
        if form != "as is":
            expr = f"unicodedata.normalize({_pylit(form)},{expr})"
        suffix = "" if form == "as is" else f", then {form}-normalized"
        return _make("normalization", f"with {_char_name(mark)} after character {i + 1}{suffix}", expr, pw)

    @st.composite
    def control(draw) -> NearMiss:
        i = draw(st.integers(min_value=0, max_value=n))
        ch = draw(st.sampled_from(CONTROL))
        tail = draw(st.sampled_from(("", "x", "junk"))) if i == n else ""
        where = "prepended" if i == 0 else "appended" if i == n else f"inserted after character {i}"
        extra = f" (followed by {tail!r})" if tail else ""
        return _make("control-character", f"with {_char_name(ch)} {where}{extra}",
                     f"p[:{i}]+{_pylit(ch + tail)}+p[{i}:]", pw)

    # Trimming and case folding are the commonest near-miss bugs: their kinds come twice (drawn twice as often).
    kinds: list[st.SearchStrategy[NearMiss] | None] = [surrounding_whitespace(), case_flip() if cased else None,
                                                surrounding_whitespace(), case_flip() if cased else None]
    if n >= 2:
        kinds += [truncation(), deletion(), inner_whitespace()]
    elif n == 1:
        kinds.append(deletion())
    kinds += [insertion(), lookalike() if alike else None, normalization() if n else None, control()]
    strategy = st.one_of([k for k in kinds if k is not None])
    base = _nfkc(pw)
    return strategy.filter(lambda m: m.value != pw and _nfkc(m.value) != base)
