"""Fuzzing options: examples per property (``--fuzz-examples``) and the hypothesis seed in use.

The seed comes from hypothesis's own pytest plugin option ``--hypothesis-seed`` (reused, not duplicated).
Without it the suite uses :data:`DEFAULT_SEED`: every run generates the same requests, so a CI run is
deterministic and a failure it reports can be replayed.  ``--hypothesis-seed=N`` explores other inputs;
the seed in use is printed in the report header and exposed as ``SuiteState.hypothesis_seed``.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

DEFAULT_SEED = 0
DEFAULT_EXAMPLES = 20
_KEY = pytest.StashKey["FuzzSettings"]()


@dataclass(frozen=True)
class FuzzSettings:
    examples: int  # generated examples per property; 0 switches fuzzing off
    seed: int | str  # what hypothesis seeds every fuzzing property with
    seed_given: bool  # --hypothesis-seed was given (else the fixed default)

    @classmethod
    def from_config(cls, config: pytest.Config) -> "FuzzSettings":
        from ..config.option_values import number

        try:
            examples = number(config, "fuzz_examples", integer=True, minimum=0)
        except ValueError:  # the option is not registered (a session without the suite's plugin)
            examples = DEFAULT_EXAMPLES
        raw = config.getoption("hypothesis_seed", None)
        if raw is None:
            return cls(examples, DEFAULT_SEED, False)
        try:
            seed: int | str = int(raw)
        except ValueError:  # hypothesis accepts any hashable seed; its plugin keeps non-integers as text
            seed = raw
        return cls(examples, seed, True)

    @property
    def enabled(self) -> bool:
        return self.examples > 0

    def describe(self) -> str:
        if not self.enabled:
            return "hyper3d-login fuzz: off (--fuzz-examples 0)"
        origin = "--hypothesis-seed" if self.seed_given else "fixed default; --hypothesis-seed=N to explore other inputs"
        return (
            f"hyper3d-login fuzz: {self.examples} examples per property (--fuzz-examples), "
            f"hypothesis seed {self.seed!r} ({origin})"
        )


def fuzz_settings(config: pytest.Config) -> FuzzSettings:
    """The run's fuzzing settings (parsed once per config)."""
    settings = config.stash.get(_KEY, None)
    if settings is None:
        settings = FuzzSettings.from_config(config)
        config.stash[_KEY] = settings
    return settings


def keep_hypothesis_out_of_the_working_tree() -> None:
    """Hypothesis's own files go to a temporary directory instead of ``./.hypothesis`` in the user's checkout.

    The fuzzing tests keep no example database at all (``database=None``); this covers the caches hypothesis
    writes besides (Unicode tables, constants collected from the code).  ``HYPOTHESIS_STORAGE_DIRECTORY``,
    when set, still decides.
    """
    if os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        return
    from hypothesis.configuration import set_hypothesis_home_dir

    set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "hyper3d-login-hypothesis")
