"""The fleet file (YAML): the deployments a fleet run tests, validated against ``fleet.schema.json``.

A deployment names its credentials by environment variable (``credentials: {email: LOGIN_EMAIL_EU, password:
LOGIN_PASSWORD_EU}``); the values are read from the fleet process's environment when its suite process starts and
handed to that process only, in its own environment. Paths (waivers, baseline) are relative to the fleet file.
A file that is not valid is one line (:class:`FleetFileError`), never a traceback; the line names where, never the
value found there (a value in the wrong place may be a secret).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema

from ..contract.yaml_loading import YamlFileError, read_yaml_file

SCHEMA_FILE = Path(__file__).with_name("fleet.schema.json")
DEFAULT_DEADLINE_S = 1200.0  # the suite's own --run-deadline default


class FleetFileError(Exception):
    """The fleet file cannot be used: one line saying where and why."""


@dataclass(frozen=True)
class Credentials:
    """The NAMES of the environment variables holding a deployment's test account."""

    email: str
    password: str
    captcha_token: str | None = None


@dataclass(frozen=True)
class Deployment:
    name: str
    base_url: str
    credentials: Credentials | None = None
    gate: str = "must"
    waivers: Path | None = None
    baseline: Path | None = None
    fail_on_new: bool = False
    without_credentials: bool = False
    deadline: float = DEFAULT_DEADLINE_S
    options: tuple[str, ...] = field(default_factory=tuple)


@functools.cache
def schema_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


def _where(error: jsonschema.ValidationError) -> str:
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
    return where or "the file"


def _describe(error: jsonschema.ValidationError) -> str:
    """What is wrong, without echoing the value found (required and unknown keys are named: keys are not secrets)."""
    if error.validator in ("required", "additionalProperties"):
        return error.message
    expected = error.schema.get("description") if isinstance(error.schema, dict) else None
    return f"expected {expected}" if expected else f"not valid ({error.validator})"


def validate(document: object) -> None:
    errors = sorted(schema_validator().iter_errors(document), key=lambda e: (list(e.absolute_path), e.validator))
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
        raise FleetFileError(f"{_where(first)}: {_describe(first)}{more}")


def load_fleet(path: Path, default_deadline: float | None = None) -> list[Deployment]:
    """The deployments of the fleet file at *path*, in file order; FleetFileError when it cannot be used.
    *default_deadline* (--deadline) is the deadline of the deployments for which the file (entry or defaults) sets
    none; without it, the suite's own default."""
    path = Path(path)
    try:
        document = read_yaml_file(path, "fleet file")
    except YamlFileError as exc:
        raise FleetFileError(str(exc)) from None
    try:
        validate(document)
    except FleetFileError as exc:
        raise FleetFileError(f"{path}: {exc}") from None
    return _deployments(document, path, default_deadline or DEFAULT_DEADLINE_S)


def _deployments(document: dict, path: Path, default_deadline: float) -> list[Deployment]:
    defaults = document.get("defaults") or {}
    base = path.resolve().parent
    seen: dict[str, int] = {}
    out: list[Deployment] = []
    for index, entry in enumerate(document["deployments"]):
        settings = {**defaults, **entry}
        name = settings["name"]
        if name.casefold() in seen:  # report directories must not collide on a case-insensitive file system
            raise FleetFileError(f"{path}: deployments[{index}].name: {name!r} is also the name of "
                                 f"deployments[{seen[name.casefold()]}]")
        seen[name.casefold()] = index
        creds = settings.get("credentials")
        if creds is None and not settings.get("without_credentials"):
            raise FleetFileError(f"{path}: deployments[{index}] ({name}): name its credentials' environment "
                                 "variables (credentials: {email: ..., password: ...}) or set without_credentials: true")
        files = {}
        for key in ("waivers", "baseline"):
            if settings.get(key):
                found = base / settings[key]
                if not found.is_file():
                    raise FleetFileError(f"{path}: deployments[{index}].{key}: no such file: {found}")
                files[key] = found
        if settings.get("fail_on_new") and "baseline" not in files:
            raise FleetFileError(f"{path}: deployments[{index}] ({name}): fail_on_new needs its baseline (a "
                                 "conformance.json of an earlier run of that deployment)")
        out.append(Deployment(
            name=name,
            base_url=settings["base_url"],
            credentials=Credentials(**creds) if creds else None,
            gate=settings.get("gate", "must"),
            fail_on_new=bool(settings.get("fail_on_new", False)),
            without_credentials=bool(settings.get("without_credentials", False)),
            deadline=float(settings.get("deadline", default_deadline)),
            options=tuple(settings.get("options") or ()),
            **files,
        ))
    return out
