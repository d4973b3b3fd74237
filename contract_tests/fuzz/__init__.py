"""Property-based fuzzing of the login endpoint, driven by the clarified OpenAPI document (README, section Property-based fuzzing).

``strategies`` / ``passwords``: what is generated (schemathesis positive and negative cases, the suite's own
invalid requests, near-miss passwords, credential misuses, extra properties); ``wire``: how an example is
sent and classified against the clarified request schema; ``responses``: schemathesis's built-in response
checks that fit the contract; ``properties``: what each example sends and how its answer is judged;
``runner``: hypothesis driven through the suite's client (budgets, shrinking, reporting);
``config``: ``--fuzz-examples`` and the hypothesis seed in use.
"""

from .config import DEFAULT_EXAMPLES, DEFAULT_SEED, FuzzSettings, fuzz_settings
from .runner import Fuzz, FuzzSession, Trial

__all__ = ["DEFAULT_EXAMPLES", "DEFAULT_SEED", "Fuzz", "FuzzSession", "FuzzSettings", "Trial", "fuzz_settings"]
