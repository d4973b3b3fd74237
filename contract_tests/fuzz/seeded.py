"""A property's hypothesis settings, the same for its dry run and its real run: seeded, no example database, no
deadline, quiet (the suite reports failures itself), shrinking only in the real run."""

from __future__ import annotations

from typing import Any, Callable

from hypothesis import HealthCheck, Phase, Verbosity, given
from hypothesis import seed as seeded
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from .config import FuzzSettings


def seeded_property(settings: FuzzSettings, strategy: st.SearchStrategy[Any], *,
                    shrink: bool) -> Callable[[Callable[[Any], None]], Callable[[], None]]:
    """The property's hypothesis decorators: seeded, no database, quiet (the dry run and the real one alike)."""
    phases = (Phase.explicit, Phase.generate, *((Phase.shrink,) if shrink else ()))

    def decorate(body: Callable[[Any], None]) -> Callable[[], None]:
        return hypothesis_settings(
            max_examples=settings.examples,
            database=None,  # nothing written into the working tree; runs do not depend on earlier runs
            deadline=None,  # a network round trip, not a unit of code
            derandomize=False,  # the explicit seed below decides
            phases=phases,  # no reuse (no database), no explain (re-sends)
            report_multiple_bugs=False,
            print_blob=False,
            verbosity=Verbosity.quiet,  # the suite reports failures itself (redacted, with a curl reproduction)
            suppress_health_check=list(HealthCheck),
        )(seeded(settings.seed)(given(strategy)(body)))

    return decorate


__all__ = ["seeded_property"]
