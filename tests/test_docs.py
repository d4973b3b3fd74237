"""README stays in sync with the catalog; CI runs exactly README's test command."""

import pathlib
import re

from contract_tests.contract.docs import END, START, requirements_table

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_readme_requirement_table_matches_catalog():
    readme = (ROOT / "README.md").read_text()
    start, end = readme.index(START), readme.index(END) + len(END)
    assert readme[start:end] == requirements_table(), "run: python -m contract_tests.contract.docs and paste into README"


def test_ci_runs_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"## Test command.*?\n\n    (.+?)\n", readme, re.S)
    assert match, "README has a test command section"
    assert match.group(1).strip() in (ROOT / ".ci" / "run").read_text()
