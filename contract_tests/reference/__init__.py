"""Bundled reference implementation of the Hyper3D login endpoint (Starlette + uvicorn, argon2, PyJWT, SQLite).

`start_reference_server(fault=..., variant=...)` runs one on a free loopback port; `python -m
contract_tests.reference` runs one in the foreground. FAULTS / VARIANTS / STACKS list the switchable misbehaviours.

The accounts are plain constants (accounts.py); the server and its catalogs load on first use of one of their
names, so reading the demo credentials (every run of the suite does) imports no web framework.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from . import accounts
from .accounts import *  # noqa: F403  (the accounts and the login path)

_LAZY = {
    "create_app": ".app",
    "FAULTS": ".registry", "STACKS": ".registry", "VARIANTS": ".registry", "Mutation": ".registry",
    "RegistryError": ".registry",
    "RunningServer": ".server", "start_reference_server": ".server",
    "LoginService": ".service",
}

if TYPE_CHECKING:
    from .app import create_app
    from .registry import FAULTS, STACKS, VARIANTS, Mutation, RegistryError
    from .server import RunningServer, start_reference_server
    from .service import LoginService


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


__all__ = [*accounts.__all__, *_LAZY]
