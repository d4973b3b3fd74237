"""Collects the contract suite (no request is sent) and writes which test checks which requirement, as JSON.

Run by the site's build in a separate process (``python collect_contract_tests.py OUT.json``) so that the suite's
plugin and its per-process state never load into MkDocs.  The requirement of a test is its
``@pytest.mark.requirement(...)`` marker, the same one ``--requirement`` selects by.
"""

from __future__ import annotations

import json
import sys

import pytest


class _Collector:
    def __init__(self) -> None:
        self.tests: dict[str, list[str]] = {}

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            ids = [rid for mark in item.iter_markers("requirement") for rid in mark.args]
            self.tests[item.nodeid] = ids


def main(out: str, suite: str) -> int:
    collector = _Collector()
    code = pytest.main([suite, "--collect-only", "-qq", "-p", "no:randomly", "-p", "no:cacheprovider"],
                       plugins=[collector])
    if code != 0:
        return int(code)
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(collector.tests, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
