"""Paths the run will write, checked before the first request: a report or an exchange log that cannot be written
is a usage error (one line, exit 4, nothing sent), not a traceback after the whole run was spent on the target."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def writable_directory(path: Path, flag: str) -> None:
    """*path* is, or can be made, a directory the suite can write files into (it is created if missing)."""
    if path.exists() and not path.is_dir():
        raise pytest.UsageError(f"{flag} {path}: exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise pytest.UsageError(f"{flag} {path}: cannot create the directory ({_why(exc)})") from None
    try:
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise pytest.UsageError(f"{flag} {path}: cannot write into the directory ({_why(exc)})") from None


def writable_file(path: Path, flag: str) -> None:
    """*path* names a file the suite can (over)write: not a directory, its folder writable (created if missing)."""
    if path.is_dir():
        raise pytest.UsageError(f"{flag} {path}: is a directory; give a file name")
    if path.exists() and not path.is_file():
        raise pytest.UsageError(f"{flag} {path}: exists and is not a regular file")
    writable_directory(path.parent, f"{flag} {path}: its folder")
