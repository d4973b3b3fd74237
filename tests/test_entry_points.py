"""How the installed suite meets pytest: the entry point is inert outside the suite, the options and their help,
--version, --list-requirements and --requirement selection."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import pytest

import contract_tests
from contract_tests import entry
from contract_tests.config import selection
from contract_tests.__main__ import main
from contract_tests.contract.catalog import catalog_digest, load_catalog
from contract_tests.config.options import GROUP, GROUP_TITLE
from contract_tests.plugin import suite_state
from contract_tests.contract.spec import spec_digest

ROOT = Path(__file__).resolve().parents[1]
CATALOG = load_catalog()
from helpers import SUITE


# ------------------------------------------------------------------------------------------- version
def test_version_is_single_sourced():
    assert importlib.metadata.version("hyper3d-login-conformance") == contract_tests.__version__
    assert 'dynamic = ["version"]' in (ROOT / "pyproject.toml").read_text()


def test_version_command_prints_version_and_digests(capsys):
    assert main(["--version"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == (
        f"hyper3d-login-conformance {contract_tests.__version__} (catalog {catalog_digest()}, spec {spec_digest()})")
    assert out.splitlines()[1] == f"pytest {pytest.__version__}"


def test_report_header_carries_version_and_digests(pytester):
    result = pytester.runpytest_inprocess(*SUITE, "--collect-only")
    assert result.ret == 0
    result.stdout.fnmatch_lines([f"hyper3d-login suite: hyper3d-login-conformance {contract_tests.__version__} "
                                 f"(catalog {catalog_digest()}, spec {spec_digest()})"])


# ------------------------------------------------------------------------------------ inert elsewhere
UNRELATED = """
    import sys

    def test_one():
        with open("modules.txt", "w") as fh:
            fh.write("\\n".join(sorted(sys.modules)))
"""


def _normalized(text: str) -> str:
    return re.sub(r"\d+\.\d+s", "<t>s", text)


def test_entry_point_is_inert_in_an_unrelated_session(pytester):
    pytester.makepyfile(test_one=UNRELATED)
    runs = {}
    for name, extra in (("with", ()), ("without", ("-p", "no:contract_tests"))):
        result = pytester.runpytest_subprocess("-q", "-p", "no:randomly", *extra)
        assert result.ret == 0
        runs[name] = (_normalized(result.stdout.str()), result.stderr.str(),
                      set((pytester.path / "modules.txt").read_text().split()))
    assert runs["with"][:2] == runs["without"][:2]
    added = runs["with"][2] - runs["without"][2]
    assert added <= {"contract_tests", "contract_tests.entry", "contract_tests.config", "contract_tests.config.options"}, sorted(added)


def test_entry_point_registers_the_plugin_only_for_the_suite(pytester):
    pytester.makepyfile(test_one="def test_one(): pass")
    assert not entry.runs_the_suite(pytester.parseconfig())
    assert not entry.runs_the_suite(pytester.parseconfig("test_one.py", "-k", "contract_tests"))
    for args in (("--pyargs", "contract_tests.suite"), ("--pyargs", "contract_tests.suite.test_auth::test_x"),
                 ("--pyargs", "contract_tests"), (str(entry.SUITE_DIR),), (str(entry.SUITE_DIR / "test_auth.py"),)):
        assert entry.runs_the_suite(pytester.parseconfig(*args)), args
    assert not entry.runs_the_suite(pytester.parseconfig("contract_tests.suite"))  # a path that does not exist


def test_an_ancestor_of_the_suite_counts_unless_pytest_would_skip_the_way(tmp_path):
    suite = tmp_path / "proj" / ".venv" / "lib" / "site-packages" / "contract_tests" / "suite"
    suite.mkdir(parents=True)
    assert not entry.collects_suite(tmp_path / "proj", suite)  # `pytest .` in a project with its venv inside
    assert entry.collects_suite(suite.parent, suite)
    checkout = tmp_path / "checkout" / "contract_tests" / "suite"
    checkout.mkdir(parents=True)
    assert entry.collects_suite(tmp_path / "checkout", checkout)  # `pytest .` in a checkout of the suite


# ------------------------------------------------------------------------------------ options and help
def _group_options(config: pytest.Config) -> list:
    return next(g for g in config._parser._groups if g.name == GROUP).options


def test_every_option_says_its_default_and_readme_lists_it(pytester):
    options = _group_options(pytester.parseconfig())
    # the option table (docs/options.md) and the pages of the probes and fuzzing, which describe their own options
    pages = "".join((ROOT / "docs" / page).read_text(encoding="utf-8")
                    for page in ("options.md", "probes.md", "fuzzing.md"))
    assert f"`{GROUP_TITLE}`" in pages
    for option in options:
        name = option.names()[-1]
        assert "(default" in option.attrs()["help"], name
        assert f"`{name}" in pages, f"docs/options.md's option table lacks {name}"


def test_help_shows_one_group_and_base_url_as_the_server_root(pytester):
    result = pytester.runpytest_subprocess("--help")
    text = result.stdout.str()
    assert result.ret == 0 and f"{GROUP_TITLE}:" in text and "--list-requirements" in text
    base_url = " ".join(text[text.index("--base-url=url"):text.index("--verify-base-url")].split())
    assert "server root" in base_url and "not .../api" in base_url and "$PYTEST_BASE_URL" in base_url


# ------------------------------------------------------------------------------------ listing and selection
def test_patterns_are_comma_separated_repeatable_globs():
    assert selection.parse_patterns(["auth-0*, INPUT-04", "SEC-01", "AUTH-0*"]) == ["AUTH-0*", "INPUT-04", "SEC-01"]
    ids = list(CATALOG)
    assert selection.select(["AUTH-0[12]", "TOKEN-03"], ids) == ["AUTH-01", "AUTH-02", "TOKEN-03"]
    with pytest.raises(pytest.UsageError, match="NOPE-1, X\\* matches no requirement"):
        selection.select(["AUTH-01", "NOPE-1", "X*"], ids)


def test_list_requirements(pytester):
    result = pytester.runpytest_inprocess("--list-requirements")
    assert result.ret == 0
    lines = result.stdout.lines
    assert lines[0].split() == ["ID", "LEVEL", "CREDENTIALS", "OPT-IN", "TITLE"]
    for req in CATALOG.values():
        row = next(line for line in lines if line.startswith(req.id + " "))
        assert row.split()[1:4] == [req.level, req.credentials, "yes" if req.opt_in else "no"]
        assert row.endswith(req.title)
    assert f"{len(CATALOG)} of {len(CATALOG)} requirements" in lines


def test_list_requirements_honours_the_selection(pytester):
    result = pytester.runpytest_inprocess("--list-requirements", "--requirement=AUTH-0*", "--requirement=SEC-01")
    ids = [line.split()[0] for line in result.stdout.lines[1:-1]]
    assert ids == [rid for rid in CATALOG if rid.startswith("AUTH-0") or rid == "SEC-01"]


class _Capture:
    def __init__(self) -> None:
        self.selection = None
        self.items: list[pytest.Item] = []

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.selection = suite_state(session.config).selection
        self.items = list(session.items)


def test_requirement_selection_deselects_and_is_recorded(pytester):
    capture = _Capture()
    recorder = pytester.inline_run(*SUITE, "--collect-only", "--requirement=AUTH-0*,INPUT-04", plugins=[capture])
    assert recorder.ret == 0
    deselected = [item for call in recorder.getcalls("pytest_deselected") for item in call.items]
    selected = [rid for rid in CATALOG if rid.startswith("AUTH-0") or rid == "INPUT-04"]

    def declared(item):
        return {rid for mark in item.iter_markers("requirement") for rid in mark.args}

    assert deselected and capture.items
    assert all(declared(item) & set(selected) for item in capture.items)
    assert not any(declared(item) & set(selected) for item in deselected)
    assert capture.selection == {"patterns": ["AUTH-0*", "INPUT-04"], "selected": selected,
                                 "excluded": [rid for rid in CATALOG if rid not in selected]}


def test_no_selection_keeps_everything(pytester):
    capture = _Capture()
    recorder = pytester.inline_run(*SUITE, "--collect-only", plugins=[capture])
    assert recorder.ret == 0 and capture.selection is None and not recorder.getcalls("pytest_deselected")


def test_unknown_requirement_pattern_is_one_error_line_and_exit_4(pytester):
    result = pytester.runpytest_inprocess(*SUITE, "--requirement=AUTH-01,NOPE-*")
    assert result.ret == 4
    errors = [line for line in result.stderr.lines if line.strip()]
    assert errors == ["ERROR: --requirement: NOPE-* matches no requirement of the catalog (--list-requirements shows them)"]


# ------------------------------------------------------------------------------------ the command's own help
def test_the_commands_help_is_its_own_and_fits_one_screen(capsys):
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert len(lines) <= 40 and max(map(len, lines)) <= 120
    for what in ("--base-url", "--bundled-server", "LOGIN_EMAIL", "LOGIN_PASSWORD", "--without-credentials",
                 "--fail-on", "--report-dir", "--help-pytest", "exit codes"):
        assert what in text, what
    for code in ("0", "1", "2", "4", "5", "10"):
        assert re.search(rf"^\s+(exit codes\s+)?{code}\s{{2,}}\S", text, re.M), code
    assert "usage: pytest" not in text


def test_pytests_help_is_behind_its_own_flag():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "contract_tests", "--help-pytest"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"{GROUP_TITLE}:" in proc.stdout and "--bundled-server" in proc.stdout and "--collect-only" in proc.stdout


@pytest.mark.parametrize("flag", ["--help", "--help-pytest"])
def test_help_piped_into_head_ends_without_a_traceback(flag):
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "contract_tests", flag], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()  # `| head -1`: the reader goes away after the first line
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 0
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
