"""A check that ends without a pass or a failure, as exceptions that carry their verdict.

They are pytest skips (pytest shows them as such, with the verdict's word first: ``blocked: rate limited``), and the
plugin reads the verdict from the exception's type, never from the reason's text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from .results import Verdict

if TYPE_CHECKING:
    from _pytest.outcomes import Skipped as _Skipped  # what pytest.skip.Exception is (public only as that attribute)
else:
    _Skipped = pytest.skip.Exception


class Undecided(_Skipped):
    """Base of the typed skips: *reason* in words, :attr:`verdict` the requirement's verdict."""

    verdict: Verdict = Verdict.SKIPPED
    word: str = ""
    not_applicable: bool = False

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(self.reason_text)

    @property
    def reason_text(self) -> str:
        return f"{self.word}: {self.reason}"


class Blocked(Undecided):
    """The target kept the suite from observing this (rate limit, lockout, captcha, budget, a stopped run)."""

    verdict = Verdict.BLOCKED
    word = "blocked"


class Inconclusive(Undecided):
    """Observed, but the observation cannot decide the requirement (no answer, an unreadable one)."""

    verdict = Verdict.INCONCLUSIVE
    word = "inconclusive"


class NotApplicable(Undecided):
    """The requirement does not apply to this target (HSTS on plain http): skipped, never hiding a pass elsewhere."""

    verdict = Verdict.SKIPPED
    word = "n/a"
    not_applicable = True
