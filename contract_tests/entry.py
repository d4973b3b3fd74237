"""The pytest11 entry point: what an installed suite does to every pytest session of its environment.

It adds the suite's options and nothing else, unless the session runs the contract suite (its arguments name
``contract_tests.suite``, or a path in it); then it registers the suite's plugin, ``contract_tests.plugin``.
Nothing heavy is imported here: unrelated sessions must not pay for the suite.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .config.options import add_options, explain_base_url

# --base-url is pytest-base-url's: load it by its entry point name also where plugin autoloading is off
pytest_plugins = ["base_url"]

PLUGIN = "contract_tests.plugin"
SUITE_PACKAGE = "contract_tests.suite"
SUITE_DIR = Path(__file__).resolve().parent / "suite"


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    add_options(parser, pluginmanager)


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    if not config.option.list_requirements:
        return None
    from .contract.catalog import load_catalog
    from .config.selection import list_requirements, parse_patterns

    print(list_requirements(load_catalog(), parse_patterns(config.option.requirement)), end="")
    return 0


@pytest.hookimpl(trylast=True)  # after pytest-base-url has read its ini value, like the plugin itself
def pytest_configure(config: pytest.Config) -> None:
    explain_base_url(config)
    if runs_the_suite(config) and not config.pluginmanager.is_blocked(PLUGIN):
        config.pluginmanager.import_plugin(PLUGIN)  # a no-op when -p or a conftest registered it already


def runs_the_suite(config: pytest.Config) -> bool:
    """Whether the session's arguments (or testpaths) name the contract suite or a part of it."""
    for arg in config.args:
        spec = str(arg).split("::", 1)[0]
        if config.option.pyargs and (spec in ("contract_tests", SUITE_PACKAGE) or spec.startswith(SUITE_PACKAGE + ".")):
            return True
        if collects_suite(config.invocation_params.dir / spec):
            return True
    return False


def collects_suite(path: Path, suite_dir: Path = SUITE_DIR) -> bool:
    """Whether pytest, given *path*, collects the suite at *suite_dir* (or a part of it)."""
    try:
        path = path.resolve()
    except OSError:
        return False
    if path == suite_dir or suite_dir in path.parents:
        return True
    if path not in suite_dir.parents:
        return False
    # an ancestor: pytest recurses into it unless the way passes a virtualenv or a hidden directory
    between = suite_dir.relative_to(path).parts
    return not any(part.startswith(".") or part in ("site-packages", "dist-packages") for part in between)
