"""Bundled reference implementation of the Hyper3D login endpoint (Starlette + uvicorn, argon2, PyJWT, SQLite).

`start_reference_server(fault=..., variant=...)` runs one on a free loopback port; `python -m
contract_tests.reference` runs one in the foreground. FAULTS / VARIANTS / STACKS list the switchable misbehaviours.
"""

from .app import create_app
from .registry import FAULTS, STACKS, VARIANTS, Mutation, RegistryError
from .server import RunningServer, start_reference_server
from .service import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
    DEMO_USER_UUID,
    DEMO_USERNAME,
    LOGIN_PATH,
    OTHER_EMAIL,
    OTHER_PASSWORD,
    OTHER_USER_UUID,
    OTHER_USERNAME,
    LoginService,
)

__all__ = [
    "DEMO_EMAIL", "DEMO_PASSWORD", "DEMO_USERNAME", "DEMO_USER_UUID",
    "OTHER_EMAIL", "OTHER_PASSWORD", "OTHER_USERNAME", "OTHER_USER_UUID",
    "FAULTS", "STACKS", "VARIANTS", "LOGIN_PATH", "LoginService", "Mutation", "RegistryError",
    "RunningServer", "create_app", "start_reference_server",
]
