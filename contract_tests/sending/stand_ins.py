"""Fresh stand-ins for the identifiers the suite invents, when the target keeps one from the suite for good.

The unknown addresses a run names (``--unknown-email`` and the addresses derived from it, the probes' own) are the
suite's invention: no one owns them, any other unknown address serves a check that needs "an account that does not
exist" as well. A lockout policy that counts unknown identifiers too (some lock any identifier after a few failures,
known or not) may lock one for longer than the run can wait (a lock answer without Retry-After, a count that outlived
the lock); the checks that need it would then be blocked, and which of them depends on which of its requests reached
the target before the lock -- at another concurrency, others. Instead, the requests naming it name a fresh address
from then on (the lock book keeps which: locks/stand_in_map.py), the same request otherwise. The configured account is never
replaced (it is not the suite's to replace), and a stand-in is never the account's address.

A stand-in is the identifier with a tag inserted before its ``@`` (``someone-fresh1@example.com``; at the end when
there is no ``@``): a hyphen, not a ``+``, which some servers strip to find the mailbox (and so the same count).
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Callable, Iterable

from .exchange import LoginRequest, Members

_NAMING_FIELDS = ("email", "username")  # the members a request names its identifier by (locks/identifiers.py)


def fresh_identifier(key: str, taken: Callable[[str], bool]) -> str:
    """The first ``<local>-freshN@<domain>`` (N = 1, 2, ...) of *key* that *taken* does not hold."""
    local, at, domain = key.rpartition("@") if "@" in key else (key, "", "")
    n = 1
    while taken(candidate := f"{local}-fresh{n}{at}{domain}"):
        n += 1
    return candidate


def _renamed_value(value: object, key: str, fresh: str) -> object:
    """*value* (a member naming *key*: surrounding blanks and letter case aside) naming *fresh* instead, its blanks
    kept; anything else unchanged."""
    if not isinstance(value, str) or value.strip().lower() != key:
        return value
    start = len(value) - len(value.lstrip())
    end = start + len(value.strip())
    return value[:start] + fresh + value[end:]


def _renamed_members(fields: object, key: str, fresh: str) -> object:
    if not isinstance(fields, dict):
        return fields
    pairs: Iterable = fields.items()
    renamed = [(name, _renamed_value(value, key, fresh) if name in _NAMING_FIELDS else value) for name, value in pairs]
    return Members(renamed) if isinstance(fields, Members) else dict(renamed)


def renamed(request: LoginRequest, key: str, fresh: str) -> LoginRequest | None:
    """*request* naming *fresh* wherever it names *key* (its JSON or form members ``email`` / ``username``, or the
    same members in a body written by hand), the rest as it was; None when that cannot be done (the body names it in
    a form this does not rewrite: an escaped string, a nested object)."""
    if request.has_json:
        return dataclasses.replace(request, json=_renamed_members(request.json, key, fresh))
    if request.form:
        return dataclasses.replace(request, form=[(name, _renamed_value(value, key, fresh) if name in _NAMING_FIELDS
                                                   else value) for name, value in request.form])
    if request.raw is not None:
        try:
            fields = json.loads(request.raw)
        except (ValueError, RecursionError):
            return None
        if not isinstance(fields, dict):
            return None
        text = request.raw.decode("utf-8", "surrogateescape")
        for name in _NAMING_FIELDS:
            value = fields.get(name)
            if isinstance(value, str) and value.strip().lower() == key:
                new = _renamed_value(value, key, fresh)
                literal = re.escape(json.dumps(value, ensure_ascii=False)[1:-1])
                replacement = json.dumps(new, ensure_ascii=False)[1:-1]
                text, count = re.subn(literal, lambda _m, r=replacement: r, text)  # a function: no escapes read
                if not count:
                    return None
        return dataclasses.replace(request, raw=text.encode("utf-8", "surrogateescape"))
    return None
