"""Which fresh identifier stands in for which identifier the suite invented and the target keeps locked (the fresh
identifiers themselves: stand_ins.py)."""

from __future__ import annotations

import math
from typing import Any

from ..exchange import LoginRequest
from ..stand_ins import fresh_identifier, renamed
from .identifiers import IdentifierState, identifier_of
from .policy import LockoutPolicy

MAX_STAND_INS = 64  # fresh identifiers a run may invent: a target that locks every one at once would otherwise be
# sent a new one per request


class StandInMap:
    """An identifier held for good -> its stand-in; a stand-in -> the identifier it stands in for first. Used under
    the lock book's lock."""

    def __init__(self) -> None:
        self._replaced: dict[str, str] = {}
        self._origins: dict[str, str] = {}

    @property
    def replaced(self) -> dict[str, str]:
        """Each identifier replaced so far -> its stand-in."""
        return dict(self._replaced)

    def current(self, key: str | None) -> str | None:
        """The identifier requests naming *key* name now: its newest stand-in, or *key*."""
        while key in self._replaced:
            key = self._replaced[key]
        return key

    def naming(self, request: LoginRequest, account_email: str | None) -> LoginRequest:
        """*request* naming the current stand-in of its identifier when that one was replaced (else *request*)."""
        key = identifier_of(request, account_email)
        current = self.current(key)
        if current == key or key is None or current is None:
            return request
        return renamed(request, key, current) or request

    def origin(self, key: str | None) -> str | None:
        """The identifier the stand-in *key* stands in for first (None: *key* is no stand-in)."""
        return self._origins.get(key) if key is not None else None

    def replace(self, key: str, request: LoginRequest, account_email: str | None,
                ids: dict[str, IdentifierState], shared: Any) -> bool:
        """A fresh identifier for *key* (named by *request*) from now on: True when there is one (also when *key* was
        replaced already); False for a stand-in locked at its first request (the lock is not the identifier's: a
        block on the suite's address, say, would lock another one as well), past MAX_STAND_INS, or a body that
        cannot be rewritten."""
        if key in self._replaced:
            return True
        state = ids.get(key)
        if key in self._replaced.values() and state is not None and state.locks and not state.locked_after:
            return False
        if len(self._replaced) >= MAX_STAND_INS:
            return False
        account = (account_email or "").strip().lower()
        origin = self._origins.get(key, key)  # the identifier the suite invented first
        fresh = fresh_identifier(origin, lambda candidate: candidate in ids or candidate == account
                                 or candidate in self._replaced.values())
        rewritten = renamed(request, key, fresh)
        if rewritten is None or identifier_of(rewritten, account_email) != fresh:
            return False
        self._replaced[key] = fresh
        self._origins[fresh] = origin
        ids.setdefault(fresh, IdentifierState()).learned = inherited(ids.get(origin), origin, shared)
        return True


def inherited(state: IdentifierState | None, key: str, shared: Any) -> LockoutPolicy | None:
    """What the lock of *key* taught about its stand-in (the same target counts it the same way): the credential
    failures answered before its first lock (a lower bound of the count that locks; under xdist, whichever worker met
    it) lock the stand-in too, so it is replaced before it would lock (a count that outlived a lock says nothing more
    about a fresh identifier's first one)."""
    locked_after = state.locked_after if state is not None and state.locked_after else 0
    if shared is not None:
        locked_after = locked_after or int(shared.read(f"locked after {key}"))
    # (one failure locking: a stand-in could take none; it takes one, and its lock answer, instead)
    return LockoutPolicy(locked_after, math.inf, declared=False) if locked_after >= 2 else None
