"""Which identifier a request names (the one a lockout policy counts it against), and what the lock book keeps about
each one."""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field

from ..exchange import LoginRequest
from .policy import LockoutPolicy

ACCOUNT_KEY = "<the configured account>"
HISTORY = 256  # failed logins on one identifier whose times are kept (a window counts the newest)


def identifier_of(request: LoginRequest, account_email: str | None = None) -> str | None:
    """The identifier a request names (the one a lockout policy counts it against), or None; the configured account
    is one identifier however a request names it."""
    if request.real_account:
        return ACCOUNT_KEY
    fields: object = {}
    if request.has_json:
        fields = request.json
    elif request.form:
        fields = dict(request.form)
    elif request.raw is not None:  # a body written by hand (duplicate keys, odd encodings) still names someone
        try:
            fields = json.loads(request.raw)
        except (ValueError, RecursionError):  # a nested probe deeper than the decoder goes names no one
            fields = {}
    if not isinstance(fields, dict):
        return None
    for name in ("email", "username"):
        value = fields.get(name)
        if isinstance(value, str) and value.strip():
            key = value.strip().lower()
            return ACCOUNT_KEY if account_email and key == account_email.strip().lower() else key
    return None


@dataclass
class IdentifierState:
    """What the target saw of the suite on one identifier."""

    failures: deque = field(default_factory=deque)  # clock() of failed logins answered (since the last lock ended)
    history: deque = field(default_factory=lambda: deque(maxlen=HISTORY))  # clock() of every failed login answered
    # (a lock clears nothing: what a window counts)
    answered_failures: int = 0  # failed logins answered since the run started or the last lock ended
    credential_failures: int = 0  # of those, the requests meant as credential failures
    pending: int = 0  # possible failed logins in flight
    locked_until: float | None = None  # clock(); inf: for the rest of the run
    probing: bool = False  # after a lock: one request naming it is on the wire
    after_lock: bool = False  # locked before, no answer since that was not a lock
    locks: int = 0  # lock answers received on it
    met_elsewhere: int = 0  # locks on it another xdist worker of the run met (read from the shared tally)
    retrying: int = 0  # requests that met a lock on it and may retry (one at a time: ContractClient._retrying)
    learned: LockoutPolicy | None = None  # when no policy is declared: its count outlived a lock, none is safe
    locked_after: int | None = None  # failed logins answered before its first lock (no policy declared)
    outlived: tuple[int, int] = (0, 0)  # locked again after so many failed logins, first after so many
    refusals: set = field(default_factory=set)  # the `error` values of its failed logins that were not locks


def keep_newest(times: list, received_at: float) -> None:
    """*received_at* appended to the shared list of failed-login times, the newest HISTORY kept."""
    times.append(received_at)
    del times[:-HISTORY]
