"""``python -m contract_tests [pytest options]`` and ``hyper3d-login-conformance [pytest options]``: the contract suite
as a tool, the same run as ``pytest --pyargs contract_tests.suite [options]``.

``--help`` is the tool's own help, one screen; ``--help-pytest`` is pytest's, with every option of the suite.

``... replay conformance.json --base-url URL`` sends a report's failing requests again (history/replay.py);
``... baseline record conformance.json -o baseline.json`` keeps a run as the baseline (history/baseline.py).
``... fleet FLEET.yaml`` runs many deployments, ``... fleet merge DIR...`` merges their reports (fleet/cli.py).

It reads its pytest configuration from the package (contract_tests/suite.ini), not from the current directory,
so a deployment repository's own pytest settings (addopts, python_files, plugins, conftest.py files) do not change
the run.
"""

from __future__ import annotations

import atexit
import os
import sys
from importlib.resources import as_file, files
from typing import NoReturn

HELP = """\
usage: hyper3d-login-conformance --base-url=URL [options]     (also: python -m contract_tests)
Checks a deployment of the Hyper3D login API (POST /api/user/login) against its contract and gates on the result.

target       --base-url=URL         the server root, e.g. https://staging.example.com (or $PYTEST_BASE_URL)
             --bundled-server       no deployment: test the bundled reference server (a demo)
credentials  $LOGIN_EMAIL (or --login-email) and $LOGIN_PASSWORD: a test account on the target
             --without-credentials  none available (a fork's pull request): judge the credential-free subset;
                                    without it a run with no credentials is INCONCLUSIVE (exit 10)
gate         --fail-on=must|should  lowest level whose failure fails the run (default: must)
             --fail-on-inconclusive --waivers=FILE --baseline=FILE --fail-on-new
scope        --requirement=AUTH-0*,SEC-01 (or -k AUTH-01)   --list-requirements
limits       --timeout=10 --run-deadline=1200 --max-requests=400 --max-failed-logins=25 --in-flight=8
reports      --report-dir=DIR       conformance.json, .md and .html, written on every exit path
             --har=FILE             every exchange as HAR 1.2 (secrets as labels)
other        replay conformance.json --base-url=URL     re-send a report's failing requests
             baseline record conformance.json -o FILE   keep a run as the baseline
             fleet FLEET.yaml --report-dir=DIR  many deployments, one report   fleet merge DIR...  (fleet --help)
             --probe=NAMES (opt-in, staging only)  --version  --help-pytest (pytest's help: every option)

exit codes   0   conforming (or, with --fail-on-new, no new failures)
             1   violations at the gate, or an error of the suite itself
             2   interrupted (SIGINT or SIGTERM): partial report, verdict "interrupted"
             4   could not test: bad option or path, no target, unreachable or not the login API, credentials
                 that do not log in; nothing judged
             5   no contract test selected
             10  inconclusive: a requirement in scope undecided, no credentials, or the run deadline reached
The verdict is the last line of the output; README.md has the details.
"""


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except BrokenPipeError:  # `... --help | head`: the reader went away; nothing more to say to it
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python flushes stdout at exit: not into the closed pipe
        return 0


def _main(args: list[str]) -> int:
    if args[:1] == ["replay"]:  # send a report's failing requests again
        from .history.replay import main as replay

        return replay(args[1:])
    if args[:1] == ["baseline"]:
        from .history.baseline import record_main

        return record_main(args[1:])
    if args[:1] == ["fleet"]:
        from .fleet.cli import main as fleet

        return fleet(args[1:])
    ours = args[: args.index("--")] if "--" in args else args
    if "--help-pytest" in ours:
        args = ["--help" if arg == "--help-pytest" else arg for arg in args]
    elif "--help" in ours or "-h" in ours:
        sys.stdout.write(HELP)
        sys.stdout.flush()
        return 0
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


def console() -> NoReturn:
    """The command (console script and ``python -m contract_tests``): :func:`main`, then the process ends without the
    interpreter's teardown, which frees every module and object a run loaded (hypothesis, schemathesis) one by one:
    about 0.3 s of a 3 s run, after the verdict. The exit handlers run and the standard streams are flushed first;
    the reports were written and closed before :func:`main` returned."""
    code = main()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that went away, a stream already closed: nothing more to say to it
            pass
    os._exit(code)


if __name__ == "__main__":
    console()
