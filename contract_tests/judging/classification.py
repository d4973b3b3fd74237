"""Telling a validation failure from a credential failure, whatever error vocabulary the target uses."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..sending.exchange import Exchange


def _signature(ex: Exchange) -> tuple[int | None, str | None]:
    error = ex.error
    return ex.status, error if isinstance(error, str) else None


@dataclass
class Signatures:
    """How the target answers a validation failure and a credential failure (DEPR-03, INPUT-05).

    Learned from unmistakably invalid probes (missing password, non-object body, numeric
    password) and from a well-formed login to an unknown account.
    """

    validation_probes: list[Exchange]
    credential_probe: Exchange
    validation: set[tuple[int | None, str | None]] = field(init=False)
    credential: tuple[int | None, str | None] = field(init=False)

    def __post_init__(self) -> None:
        self.validation = {
            _signature(ex) for ex in self.validation_probes if not ex.token and (ex.status or 500) < 500
        }
        self.credential = _signature(self.credential_probe)

    @property
    def distinguishable(self) -> bool:
        return bool(self.validation) and self.credential not in self.validation

    def describe(self) -> str:
        def fmt(sig):
            return f"{sig[0]} {sig[1]!r}" if sig[1] else f"{sig[0]} (no error)"

        return (
            "validation failure = " + " | ".join(sorted(fmt(s) for s in self.validation))
            + "; credential failure = " + fmt(self.credential)
        )

    def classify(self, ex: Exchange) -> str:
        """``success``, ``validation``, ``credential`` or ``unknown``."""
        if ex.token:
            return "success"
        sig = _signature(ex)
        if sig in self.validation and sig != self.credential:
            return "validation"
        if sig == self.credential and sig not in self.validation:
            return "credential"
        return "unknown"
