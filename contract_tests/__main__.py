"""``python -m contract_tests [pytest options]`` and ``hyper3d-login-conformance [pytest options]``: the contract suite
as a tool, the same run as ``pytest --pyargs contract_tests.suite [options]``.

``... replay conformance.json --base-url URL`` sends a report's failing requests again (history/replay.py);
``... baseline record conformance.json -o baseline.json`` keeps a run as the baseline (history/baseline.py).

It reads its pytest configuration from the package (contract_tests/suite.ini), not from the current directory,
so a deployment repository's own pytest settings (addopts, python_files, plugins, conftest.py files) do not change
the run.
"""

from __future__ import annotations

import os
import sys
from importlib.resources import as_file, files


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["replay"]:  # issue 13: send a report's failing requests again
        from .history.replay import main as replay

        return replay(args[1:])
    if args[:1] == ["baseline"]:
        from .history.baseline import record_main

        return record_main(args[1:])
    ours = args[: args.index("--")] if "--" in args else args
    if "--version" in ours or "-V" in ours:
        import pytest

        from .about import version_line

        print(version_line())
        print(f"pytest {pytest.__version__}")
        return 0
    import pytest

    plugins = ["-p", "contract_tests.plugin"]
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):  # the entry point's part: options, pytest-base-url
        plugins = ["-p", "contract_tests.entry", *plugins]
    # the suite by its path, not --pyargs: with no argument that is a path, pytest would also load conftest.py files
    # of the current directory and its test*/ folders (a deployment repository's own test setup) into this run
    with as_file(files("contract_tests") / "suite.ini") as ini, as_file(files("contract_tests") / "suite") as suite:
        code = pytest.main(["-c", str(ini), *plugins, *args, str(suite)])
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
