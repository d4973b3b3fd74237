"""How one generated example ends, besides passing: the exceptions the runner, a trial and the planning raise to stop
an example, skip it or falsify the property, and whether hypothesis is replaying the final (shrunk) example."""

from __future__ import annotations


class Stop(BaseException):
    """Ends a hypothesis run early (request share spent, or the client blocked); not a test failure."""


class AlreadyPassed(Exception):
    """This example's request was sent before in this property and passed."""


class Falsified(AssertionError):
    """The example with this key recorded a contract violation."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def falsify(key: str) -> None:
    """Every falsification is raised here: hypothesis tells failures apart by where they were raised, and a
    replayed (cached) failure must look like the first one."""
    raise Falsified(key)


def is_final() -> bool:
    """Whether hypothesis is replaying the final (shrunk) example."""
    try:
        from hypothesis.control import current_build_context

        return bool(current_build_context().is_final)
    except Exception:  # noqa: BLE001 - outside a build context, or a hypothesis without the flag
        return False


__all__ = ["AlreadyPassed", "Falsified", "Stop", "falsify", "is_final"]
