"""Property-based fuzzing of the login endpoint, driven by the clarified OpenAPI document (README, section Property-based fuzzing).

``strategies`` / ``passwords``: what is generated (schemathesis positive and negative cases, the suite's own
invalid requests, near-miss passwords, credential misuses, extra properties); ``wire``: how an example is
sent and classified against the clarified request schema; ``responses``: schemathesis's built-in response
checks that fit the contract; ``properties``: what each example sends and how its answer is judged;
``runner``: hypothesis driven through the suite's client (budgets, shrinking, reporting), composing ``trial`` (one
example), ``property_state`` (a property's shares, counts and judged examples), ``planned`` (examples sent ahead),
``seeded`` (hypothesis settings), ``control`` (how an example ends), ``static_echo`` and ``reporting``;
``config``: ``--fuzz-examples`` and the hypothesis seed in use.
"""

from .config import DEFAULT_EXAMPLES, DEFAULT_SEED, FuzzSettings, fuzz_settings


def __getattr__(name: str):
    # the runner imports hypothesis (about half a second): loaded when a fuzzing test first needs it, not when the
    # plugin reads the fuzzing options or the suite is collected
    if name in ("Fuzz", "FuzzSession", "Trial"):
        from . import runner

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DEFAULT_EXAMPLES", "DEFAULT_SEED", "Fuzz", "FuzzSession", "FuzzSettings", "Trial", "fuzz_settings"]
