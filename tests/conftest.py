"""Self-tests run with warnings as errors (the contract suite itself does not impose that on users)."""

import pathlib

# pytester's in-process runs restore sys.modules afterwards; httpx imports httpcore lazily and
# caches its exception classes, so a re-imported httpcore would escape httpx's error mapping.
import httpcore  # noqa: F401
# The same for the fuzzing stack (loaded on demand by the suite): a hypothesis or schemathesis
# re-imported by a later in-process run would not recognise the strategy classes an earlier one left in caches.
import hypothesis.strategies  # noqa: F401
import pytest
import schemathesis  # noqa: F401

import contract_tests.fuzz.strategies  # noqa: F401  (its strategies are built once per process)
import contract_tests.reference.registry  # noqa: F401  (the fault catalog, registered once per process)

from contract_tests.judging import verdicts

_HERE = pathlib.Path(__file__).parent


@pytest.fixture
def ledger() -> verdicts.Ledger:
    """A run's judging ledger of its own (what the plugin keeps in the config stash)."""
    return verdicts.Ledger()


@pytest.fixture
def in_test(ledger):
    """Enter a test context declaring the given requirements, as the plugin does before each contract test."""
    def enter(*requirements: str) -> verdicts.TestContext:
        ctx = verdicts.TestContext("suite/test_x.py::test_x", requirements)
        ledger.begin(ctx)
        return ctx

    return enter


def pytest_collection_modifyitems(items):
    for item in items:
        if _HERE in pathlib.Path(str(item.path)).parents:
            item.add_marker(pytest.mark.filterwarnings("error"))
