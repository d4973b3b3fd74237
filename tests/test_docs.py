"""README and the documentation pages stay true: the requirement table matches the catalog, CI runs README's test
command, the exit codes are the command's, and every page README links to exists."""

import pathlib
import re

import pytest

from contract_tests.contract.docs import END, START, requirements_table

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
REQUIREMENTS_PAGE = ROOT / "docs" / "requirements-table.md"
GATE_PAGE = ROOT / "docs" / "reports.md"

pytestmark = pytest.mark.unit


def _section(text: str, heading: str) -> str:
    """The text under *heading* up to the next heading of the same or a higher level."""
    level = len(heading) - len(heading.lstrip("#"))
    start = text.index(f"\n{heading}\n") + 1
    following = re.compile(rf"^#{{1,{level}}} ", re.M)
    end = following.search(text, start + len(heading) + 1)
    return text[start:end.start() if end else len(text)]


def test_requirement_table_page_matches_catalog():
    page = REQUIREMENTS_PAGE.read_text(encoding="utf-8")
    start, end = page.index(START), page.index(END) + len(END)
    assert page[start:end] == requirements_table(), (
        "run: python -m contract_tests.contract.docs --write docs/requirements-table.md")


def test_ci_runs_readme_test_command():
    readme = README.read_text(encoding="utf-8")
    match = re.search(r"## Test command.*?\n\n    (.+?)\n", readme, re.S)
    assert match, "README has a test command section"
    assert match.group(1).strip() == "python -m pytest tests"
    assert match.group(1).strip() in (ROOT / ".ci" / "run").read_text()


def test_readme_gives_the_bundled_servers_demo_account():
    from contract_tests.reference.accounts import DEMO_EMAIL, DEMO_PASSWORD

    assert f"`{DEMO_EMAIL}` / `{DEMO_PASSWORD}`" in " ".join(README.read_text(encoding="utf-8").split())


def test_readme_the_gate_page_and_the_commands_help_list_the_same_exit_codes():
    from contract_tests.__main__ import HELP
    from contract_tests.judging import outcome

    readme = _section(README.read_text(encoding="utf-8"), "## Exit codes")
    gate = _section(GATE_PAGE.read_text(encoding="utf-8"), "## Gate and exit codes")
    in_readme = {int(code) for code in re.findall(r"^\| (\d+) \| `", readme, re.M)}
    in_page = {int(code) for code in re.findall(r"^\| (\d+) \| `", gate, re.M)}
    in_help = {int(code) for code in re.findall(r"^\s+(?:exit codes)?\s+(\d+)\s{2,}\S", HELP, re.M)}
    ours = {value for name, value in vars(outcome).items() if name.startswith("EXIT_") and name != "EXIT_INTERNAL_ERROR"}
    assert in_readme == in_page == in_help == ours, (in_readme, in_page, in_help, ours)


def test_every_page_and_anchor_readme_links_to_exists():
    """README is read on a forge, not on the site: its links to the pages are relative file links."""
    readme = README.read_text(encoding="utf-8")
    links = re.findall(r"\]\(((?:docs/|CHANGELOG)[^)#\s]*)(?:#([^)\s]+))?\)", readme)
    assert len(links) >= 15, links
    from markdown.extensions.toc import slugify

    for path, anchor in links:
        target = ROOT / path
        assert target.is_file(), f"README links to {path}, which does not exist"
        if anchor:
            headings = re.findall(r"^#{1,6} (.+)$", target.read_text(encoding="utf-8"), re.M)
            assert anchor in {slugify(h.replace("`", ""), "-") for h in headings}, f"{path} has no heading #{anchor}"


def test_readme_is_a_front_door():
    """About 250 lines, and no development history in it."""
    readme = README.read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 260
    assert not re.search(r"\bissues? \d+", readme, re.I)


def test_readme_says_what_k_does_and_it_does(pytester):
    """-k AUTH-01 selects the tests that check AUTH-01 (their requirement IDs are keywords)."""
    readme = " ".join(README.read_text(encoding="utf-8").split())
    assert "`-k AUTH-01` selects by requirement" in readme
    from helpers import SUITE

    items = []

    class Capture:
        def pytest_collection_finish(self, session):
            items.extend(session.items)

    assert pytester.inline_run(*SUITE, "--collect-only", "-k", "AUTH-01", plugins=[Capture()]).ret == 0
    assert items and all("AUTH-01" in {rid for mark in item.iter_markers("requirement") for rid in mark.args}
                         for item in items)


def test_the_commands_help_shows_the_limits_the_options_default_to():
    """The short --help states the limits' defaults in its own words (it is printed without loading pytest); they
    are the options' defaults (the failed-login budget once read 20 there while the option defaulted to 25)."""
    from contract_tests.__main__ import HELP
    from contract_tests.config.options import add_options

    defaults: dict[str, object] = {}

    class Recorder:  # what add_options asks of pytest's parser: the defaults it declares
        options: list = []

        def getgroup(self, *args, **kwargs):
            return self

        def addoption(self, *names, **kwargs):
            defaults.update((name, kwargs.get("default")) for name in names)

        def addini(self, *args, **kwargs):
            pass

    add_options(Recorder())  # type: ignore[arg-type]
    line = next(line for line in HELP.splitlines() if line.startswith("limits"))
    shown = dict(re.findall(r"(--[a-z-]+)=(\S+)", line))
    assert len(shown) == 5, line
    for name, value in shown.items():
        assert float(value) == float(defaults[name]), (name, value, defaults[name])
