"""Waivers: known failures a team accepts for a while (``--waivers=FILE``).

The file is YAML::

    waivers:
      - id: SEC-01
        reason: "the hosted API reports NO_SUCH_USER vs WRONG_PASSWORD; tracked in OPS-123"
        expires: 2026-12-31

(a bare list of entries is accepted too).  Every entry needs ``id`` (a requirement of the
catalog), a non-empty ``reason`` and an ``expires`` date (``YYYY-MM-DD``; the waiver protects
through that day, UTC).  A waived failure is reported with the verdict ``waived`` and does not
gate the run; an expired waiver is reported as expired and protects nothing; an unknown ID,
a repeated ID, a missing field or an unknown key is a configuration error.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..contract.yaml_loading import YamlFileError, read_yaml_file

__all__ = ["Waiver", "WaiverError", "load_waivers", "today"]

_KEYS = {"id", "reason", "expires"}


class WaiverError(ValueError):
    """The waiver file is unreadable or invalid."""


@dataclass(frozen=True)
class Waiver:
    id: str
    reason: str
    expires: dt.date

    def expired(self, on: dt.date | None = None) -> bool:
        return (on or today()) > self.expires

    def status(self, on: dt.date | None = None) -> str:
        return "expired" if self.expired(on) else "active"

    def to_dict(self, on: dt.date | None = None) -> dict:
        return {"id": self.id, "reason": self.reason, "expires": self.expires.isoformat(), "status": self.status(on)}


def today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


def _date(value, where: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise WaiverError(f"{where}: expires must be a date (YYYY-MM-DD), got {value!r}")


def load_waivers(path: str | Path, known_ids: Iterable[str]) -> tuple[Waiver, ...]:
    """Parse and validate a waiver file against the requirement IDs of the catalog."""
    path = Path(path)
    try:
        data = read_yaml_file(path, "waiver file")
    except YamlFileError as exc:
        raise WaiverError(str(exc)) from None
    if data is None:
        return ()
    if isinstance(data, dict):
        extra = set(data) - {"waivers"}
        if extra:
            raise WaiverError(f"{path}: unknown top-level key(s) {sorted(extra)}; expected 'waivers'")
        data = data.get("waivers") or []
    if not isinstance(data, list):
        raise WaiverError(f"{path}: expected a list of waivers (or a mapping with the key 'waivers')")
    known = set(known_ids)
    waivers: list[Waiver] = []
    seen: set[str] = set()
    for index, entry in enumerate(data):
        where = f"{path}: waivers[{index}]"
        if not isinstance(entry, dict):
            raise WaiverError(f"{where}: expected a mapping with id, reason and expires, got {entry!r}")
        missing = sorted(_KEYS - set(entry))
        if missing:
            raise WaiverError(f"{where}: missing {', '.join(missing)}")
        unknown_keys = sorted(set(entry) - _KEYS)
        if unknown_keys:
            raise WaiverError(f"{where}: unknown key(s) {unknown_keys}; allowed: id, reason, expires")
        rid = entry["id"]
        if not isinstance(rid, str) or rid not in known:
            raise WaiverError(f"{where}: unknown requirement ID {rid!r} (not in spec/requirements.yaml)")
        where = f"{path}: waiver for {rid}"
        if rid in seen:
            raise WaiverError(f"{where}: {rid} is waived twice")
        seen.add(rid)
        reason = entry["reason"]
        if not isinstance(reason, str) or not reason.strip():
            raise WaiverError(f"{where}: reason must be a non-empty string")
        waivers.append(Waiver(rid, " ".join(reason.split()), _date(entry["expires"], where)))
    return tuple(waivers)
