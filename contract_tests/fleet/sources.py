"""Where the fleet report's documents come from: the deployments' report directories, each holding one
conformance.json, named by the directory's name.

``fleet merge DIR...``: each DIR is a deployment's report directory (it holds conformance.json) or a fleet's
(its subdirectories do: a fleet run's --report-dir, or the CI jobs' artifacts downloaded side by side). A
conformance.json that cannot be read still gives its deployment a row: could not test, with the reason; a
deployment whose run left none gets a stand-in written by the fleet runner (:func:`stand_in`), so the merge of a
fleet run's directory sees exactly what the run saw.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..judging.outcome import EXIT_COULD_NOT_TEST
from ..report.json_report import SCHEMA_VERSION, strip_credentials

REPORT = "conformance.json"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
EMPTY_SUMMARY = {"passed": 0, "failed": 0, "inconclusive": 0, "blocked": 0, "skipped": 0, "waived": 0}


class SourceError(Exception):
    """A directory given to `fleet merge` holds no deployment report: one line."""


def stand_in(target: str | None, verdict: str, exit_status: int, reason: str, *, gate: str = "must",
             started: str | None = None, finished: str | None = None, duration_s: float | None = None) -> dict:
    """A conformance.json for a deployment whose run wrote none: nothing judged, the reason said (valid against
    conformance.schema.json)."""
    from .. import __version__
    from ..contract.catalog import catalog_digest
    from ..contract.spec import spec_digest

    run = {
        "target": strip_credentials(target),
        "reference_server": False,
        "suite_version": __version__,
        "spec_digest": spec_digest(),
        "catalog_digest": catalog_digest(),
        "started": started,
        "finished": finished,
        "duration_s": duration_s or 0.0,
        "requests": 0,
        "credentials": False,
        "hypothesis_seed": None,
        "gate": gate,
        "fail_on_inconclusive": False,
        "exit_status": exit_status,
        "verdict": verdict,
        "verdict_reasons": [reason],
        "could_not_test": reason.removeprefix("could not test: ") if verdict == "could-not-test" else None,
        "scope": [],
        "stopped": None if verdict == "could-not-test" else reason,
    }
    return {"schema_version": SCHEMA_VERSION, "run": run, "baseline": None, "summary": dict(EMPTY_SUMMARY),
            "waivers": [], "requirements": []}


def read_report(path: Path) -> dict:
    """The conformance.json at *path*, or a could-not-test stand-in saying why it cannot be read."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        why = getattr(exc, "strerror", None) or exc.__class__.__name__
        return stand_in(None, "could-not-test", EXIT_COULD_NOT_TEST,
                        f"could not test: its {REPORT} could not be read ({why})")
    if not (isinstance(document, dict) and isinstance(document.get("run"), dict)
            and isinstance(document.get("requirements", []), list)):
        return stand_in(None, "could-not-test", EXIT_COULD_NOT_TEST,
                        f"could not test: its {REPORT} is not a conformance report")
    return document


def report_dirs(dirs: list[Path]) -> dict[str, Path]:
    """Deployment name -> its report directory, for the directories given to `fleet merge`."""
    found: dict[str, Path] = {}
    for given in dirs:
        given = Path(given)
        if not given.is_dir():
            raise SourceError(f"{given}: not a directory")
        if (given / REPORT).is_file():
            candidates = [given]
        else:
            candidates = sorted(p for p in given.iterdir() if (p / REPORT).is_file())
            if not candidates:
                raise SourceError(f"{given}: no {REPORT} in it nor in its subdirectories")
        for where in candidates:
            name = where.resolve().name
            if not NAME.fullmatch(name):
                raise SourceError(f"{where}: a deployment's directory is named for it (letters, digits, '.', '_', "
                                  "'-'; at most 64)")
            clash = next((n for n in found if n.casefold() == name.casefold()), None)
            if clash is not None:
                raise SourceError(f"{where}: a second deployment named {name} (also {found[clash]})")
            found[name] = where
    return found


def read_reports(where: dict[str, Path]) -> dict[str, dict]:
    return {name: read_report(path / REPORT) for name, path in where.items()}
