"""The reference server's accounts and path: plain constants, importable without the server (Starlette, argon2,
PyJWT) behind them -- the suite reads its demo credentials when it configures a run, long before it starts a server."""

from __future__ import annotations

import uuid

LOGIN_PATH = "/api/user/login"

DEMO_EMAIL = "demo@hyper3d.test"
DEMO_PASSWORD = "Demo-Passw0rd!2026"
DEMO_USERNAME = "demo"
DEMO_USER_UUID = str(uuid.uuid5(uuid.NAMESPACE_URL, "https://hyper3d.test/users/demo"))

OTHER_EMAIL = "other@hyper3d.test"
OTHER_PASSWORD = "0ther-Secret#4471"
OTHER_USERNAME = "other"
OTHER_USER_UUID = str(uuid.uuid5(uuid.NAMESPACE_URL, "https://hyper3d.test/users/other"))

__all__ = ["DEMO_EMAIL", "DEMO_PASSWORD", "DEMO_USERNAME", "DEMO_USER_UUID", "LOGIN_PATH",
           "OTHER_EMAIL", "OTHER_PASSWORD", "OTHER_USERNAME", "OTHER_USER_UUID"]
