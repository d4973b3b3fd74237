"""``fleet FLEET.yaml`` and ``fleet merge DIR...``: their options, and bad input as one line and exit 4."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from ..judging.outcome import EXIT_COULD_NOT_TEST
from .fleet_file import FleetFileError

USAGE = """\
usage: hyper3d-login-conformance fleet FLEET.yaml [--report-dir=DIR] [--jobs=N] [--deadline=S] [--baseline=FLEET_JSON]
       hyper3d-login-conformance fleet merge DIR... [--report-dir=DIR] [--baseline=FLEET_JSON]
Runs every deployment of FLEET.yaml as its own suite process (at most --jobs at once; default 4), each one's reports
in DIR/NAME, and writes the fleet report DIR/fleet.json, .md, .html: deployments x requirements, each deployment's
verdict and exit code, what differs, what is new or fixed since --baseline (a previous fleet.json).
`merge` builds the same report from report directories (one per deployment, named for it, holding its
conformance.json; or a directory of them), e.g. the CI matrix jobs' artifacts.
--deadline: the deployments' --run-deadline where the fleet file sets none (default 1200).
Exit code: the worst of the deployments' (worst first: 2, 1, 4, 10, 5, 0); 4 for a bad fleet file or option.
docs/fleet.md has the details.
"""


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line and exit 4, not argparse's usage block and exit 2
        raise UsageError(message)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more: {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 86400:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most 86400: {text}")
    return value


def _parser(merge: bool) -> _Parser:
    parser = _Parser(prog="hyper3d-login-conformance fleet" + (" merge" if merge else ""), add_help=False)
    if merge:
        parser.add_argument("dirs", nargs="+", type=Path)
    else:
        parser.add_argument("fleet_file", type=Path)
        parser.add_argument("--jobs", type=_positive_int, default=4)
        parser.add_argument("--deadline", type=_seconds, default=None)
    parser.add_argument("--report-dir", type=Path, default=Path("fleet-report"))
    parser.add_argument("--baseline", type=Path, default=None)
    return parser


def _load_baseline(path: Path | None) -> dict | None:
    if path is None:
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"--baseline {path}: cannot be read as JSON ({getattr(exc, 'strerror', None) or exc.__class__.__name__})") from None
    if not (isinstance(document, dict) and "fleet_schema_version" in document
            and isinstance(document.get("deployments"), list) and isinstance(document.get("requirements"), list)):
        raise UsageError(f"--baseline {path}: not a fleet report (fleet.json of an earlier `fleet` or `fleet merge`)")
    return document


def main(args: list[str]) -> int:
    if args[:1] in (["-h"], ["--help"]):
        sys.stdout.write(USAGE)
        return 0
    try:
        if not args:
            raise UsageError("give a fleet file (fleet FLEET.yaml) or report directories (fleet merge DIR...); "
                             "fleet --help says more")
        if args[0] == "merge":
            return _merge(_parser(merge=True).parse_args(args[1:]))
        return _run(_parser(merge=False).parse_args(args))
    except (UsageError, FleetFileError) as exc:
        print(f"hyper3d-login-conformance fleet: {exc} (exit 4)", file=sys.stderr)
        return EXIT_COULD_NOT_TEST


def _finish(report: dict, report_dir: Path) -> int:
    from .writers import write_fleet_reports

    written = write_fleet_reports(report, report_dir)
    codes = ", ".join(f"{d['name']} {d['exit_status']}" for d in report["deployments"])
    print(f"fleet report: {written} (+ fleet.md, fleet.html)")
    print(f"hyper3d-login fleet: {report['verdict'].upper()} (exit {report['exit_status']}: the worst of {codes})")
    return report["exit_status"]


def _run(options: argparse.Namespace) -> int:
    from .fleet_file import load_fleet
    from .fleet_report import build_fleet_report
    from .runner import FleetRunner, scrub_document
    from .sources import read_reports

    deployments = load_fleet(options.fleet_file, default_deadline=options.deadline)
    baseline = _load_baseline(options.baseline)
    report_dir = options.report_dir
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
        probe = report_dir / ".fleet-write-check"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"--report-dir {report_dir}: not writable ({exc.strerror or exc})") from None
    print(f"fleet: {len(deployments)} deployment{'s' if len(deployments) != 1 else ''}, at most {options.jobs} at once; "
          f"reports in {report_dir}/NAME")
    listed = {d.name for d in deployments}
    others = sorted(p.name for p in report_dir.iterdir() if p.name not in listed and (p / "conformance.json").is_file())
    if others:
        print(f"note: {report_dir} also holds reports of deployments not in this fleet file ({', '.join(others)}): the "
              "fleet report leaves them out, `fleet merge` of the directory would not")
    runner = FleetRunner(deployments, report_dir, jobs=options.jobs, say=lambda line: print(line, flush=True))
    runner.run()
    reports = read_reports({d.name: report_dir / d.name for d in deployments})
    report = build_fleet_report(reports, baseline)
    report = scrub_document(report, runner.secrets)
    return _finish(report, report_dir)


def _merge(options: argparse.Namespace) -> int:
    from .fleet_report import build_fleet_report
    from .sources import SourceError, read_reports, report_dirs

    baseline = _load_baseline(options.baseline)
    try:
        where = report_dirs(options.dirs)
    except SourceError as exc:
        raise UsageError(str(exc)) from None
    out = options.report_dir.resolve()
    for name, path in where.items():  # the fleet report links NAME/conformance.html: the merged directory has them
        if path.resolve() != out / name:
            shutil.copytree(path, out / name, dirs_exist_ok=True)
    report = build_fleet_report(read_reports(where), baseline)
    os.makedirs(out, exist_ok=True)
    return _finish(report, options.report_dir)
