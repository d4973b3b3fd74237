"""A property's hypothesis settings, the same when its requests are planned ahead and when it runs: seeded, no example database, no
deadline, quiet (the suite reports failures itself), shrinking only in the real run, and no constants taken from the
code that happens to be imported (:func:`without_local_constants`)."""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

from hypothesis import HealthCheck, Phase, Verbosity, given
from hypothesis import seed as seeded
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from .config import FuzzSettings


def seeded_property(settings: FuzzSettings, strategy: st.SearchStrategy[Any], *,
                    shrink: bool) -> Callable[[Callable[[Any], None]], Callable[[], None]]:
    """The property's hypothesis decorators: seeded, no database, quiet (the planning and the real run alike)."""
    phases = (Phase.explicit, Phase.generate, *((Phase.shrink,) if shrink else ()))

    def decorate(body: Callable[[Any], None]) -> Callable[[], None]:
        test = hypothesis_settings(
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

        def run() -> None:
            with without_local_constants():
                test()

        return run

    return decorate


@contextlib.contextmanager
def without_local_constants() -> Iterator[None]:
    """Hypothesis (6.131 on) now and then draws a number or a short string found in the source of the "local" modules
    imported at that moment -- every module outside site-packages: the suite's own in a checkout, a user's conftest
    or CI helpers. Which modules those are depends on the install and on when an example is drawn (the run imports
    while it waits on the network), so the same seed would give other examples in a checkout than from a wheel and at
    another --in-flight, and a user's own string constants (a key in a conftest) could be sent to the target. The
    suite's examples are drawn without them: from the seed and hypothesis's built-in constants alone. (Hypothesis has
    no setting for this; its provider module's lookup is replaced while a property runs, and left as it is on a
    version without it.)"""
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - a hypothesis without the provider module: nothing collected
        yield
        return
    lookup = getattr(providers, "_get_local_constants", None)
    cache = getattr(getattr(providers, "CONSTANTS_CACHE", None), "cache", None)
    if lookup is None or not hasattr(providers, "Constants"):
        yield
        return
    none = providers.Constants()
    providers._get_local_constants = lambda *args, **kwargs: none
    if cache is not None:
        cache.clear()  # the permitted constants computed with the local ones
    try:
        yield
    finally:
        providers._get_local_constants = lookup
        if cache is not None:
            cache.clear()


__all__ = ["seeded_property", "without_local_constants"]
