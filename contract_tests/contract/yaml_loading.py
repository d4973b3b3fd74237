"""YAML as the suite reads it: ``yaml.safe_load``, with libyaml's C loader where PyYAML was built with it (the
pure-Python loader takes about 70 ms for the requirement catalog alone, on every start)."""

from __future__ import annotations

from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
YAMLError = yaml.YAMLError


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 -- a safe loader, C or Python


class YamlFileError(ValueError):
    """A YAML file given to the suite that it cannot use, said in one line."""


def read_yaml_file(path: Any, what: str) -> Any:
    """The document in the YAML file *path* (a Path or a package resource); :class:`YamlFileError` with one line when
    it cannot be read, is not UTF-8 text or is not YAML. *what* names the file in the message ("waiver file")."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise YamlFileError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise YamlFileError(f"{path}: the {what} is not UTF-8 text (byte {exc.start} is {exc.object[exc.start]:#04x})") from None
    try:
        return load_yaml(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise YamlFileError(f"{path}: the {what} is not valid YAML{at} ({problem})") from None
