"""Self-tests run with warnings as errors (the contract suite itself does not impose that on users)."""

import pathlib

# pytester's in-process runs restore sys.modules afterwards; httpx imports httpcore lazily and
# caches its exception classes, so a re-imported httpcore would escape httpx's error mapping.
import httpcore  # noqa: F401
import pytest

_HERE = pathlib.Path(__file__).parent


def pytest_collection_modifyitems(items):
    for item in items:
        if _HERE in pathlib.Path(str(item.path)).parents:
            item.add_marker(pytest.mark.filterwarnings("error"))
