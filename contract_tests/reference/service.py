"""The conforming login service of the bundled reference server.

`LoginService` answers ``POST /api/user/login`` (and everything else) for one server instance.  It is written
as a chain of small methods; faults and conforming variants (see ``faults/`` / ``variants.py``) are subclasses
that override one of them.  Every instance owns its state: a fresh in-memory SQLite user store, a random JWT
secret and its own argon2 hashes.

The methods come in parts, a module each, which LoginService composes (a part calls the others' methods on self):
body_parsing.py (Content-Type, size limit, JSON object), validation.py (the login schema), user_store.py (the users
table), authentication.py (the password checked against its argon2 hash), login_guards.py (the opt-in throttle and
captcha), tokens.py (the JWT), answers.py (every response, Reject), headers.py (OPTIONS, CORS, common headers);
their data in records.py. This module holds the request's path through them (handle, route, login).
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import replace

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from .accounts import (  # noqa: F401  (re-exported: the service's accounts)
    DEMO_EMAIL,
    DEMO_PASSWORD,
    DEMO_USER_UUID,
    DEMO_USERNAME,
    LOGIN_PATH,
    OTHER_EMAIL,
    OTHER_PASSWORD,
    OTHER_USER_UUID,
    OTHER_USERNAME,
)
from .answers import Answers, JSONBody, Reject, logger  # noqa: F401  (re-exported)
from .authentication import Authentication
from .body_parsing import BodyParsing
from .headers import Headers
from .login_guards import LoginGuards
from .records import SEED_USERS, USER_COLUMNS, LoginRequest, SeedUser, User  # noqa: F401  (re-exported)
from .tokens import Tokens
from .user_store import UserStore
from .validation import KNOWN_FIELDS, Validation, is_email_address  # noqa: F401  (re-exported)


class LoginService(BodyParsing, Validation, UserStore, Authentication, LoginGuards, Tokens, Answers, Headers):
    """The conforming reference implementation. Subclasses override one method to become a fault/variant."""

    # Set by the @fault / @variant registration decorators.
    mutation_name: str | None = None

    def __init__(self, *, database: str = ":memory:", demo_password: str | None = None) -> None:
        self.hasher = self.make_hasher()
        self.secret = secrets.token_bytes(32)
        self.db = sqlite3.connect(database, check_same_thread=False, isolation_level=None)
        self.create_schema()
        for seed in SEED_USERS:
            if demo_password and seed.email == DEMO_EMAIL:
                seed = replace(seed, password=demo_password)  # e.g. a distinctive password for secret greps
            self.register(seed)
        self.dummy_hash = self.hash_password(secrets.token_urlsafe(18))
        self.setup()

    # ------------------------------------------------------------------ set-up
    def setup(self) -> None:
        """Hook for subclasses needing extra per-instance state."""

    # ------------------------------------------------------------------ ASGI entry
    async def handle(self, request: Request) -> Response:
        """Answers any request (any path, any method)."""
        try:
            response = await self.route(request)
        except Reject as reject:
            response = reject.response
        except ClientDisconnect:  # the client went away mid-body (an interrupted run): nobody reads an answer
            return Response(status_code=400)
        except Exception as exc:  # noqa: BLE001 - the server must always answer JSON
            response = self.internal_error(exc)
        try:
            return self.finalize(request, response)
        except Exception as exc:  # noqa: BLE001
            return self.internal_error(exc)

    async def route(self, request: Request) -> Response:
        if request.url.path != LOGIN_PATH:
            return self.not_found(request)
        if request.method == "OPTIONS":
            return self.options(request)
        if request.method != "POST":
            return self.method_not_allowed(request)
        return await self.login(request)

    async def login(self, request: Request) -> Response:
        self.check_content_type(request)
        data = await self.request_data(request)
        login = self.validate(data)
        self.check_captcha(request, login)
        user = self.guarded_authenticate(login)
        return self.success(request, user, login)


def registrar(kind: str, table: dict[str, type[LoginService]]):
    """The ``@fault(name)`` / ``@variant(name)`` / ``@stack(name)`` decorators: register a subclass under a unique
    name. Registering the same class again is a re-import of its module (pytester's in-process runs drop and re-load
    modules), not a clash."""

    def decorator(name: str):
        def register(cls: type[LoginService]) -> type[LoginService]:
            known = table.get(name)
            if known is not None and (known.__module__, known.__qualname__) != (cls.__module__, cls.__qualname__):
                raise RuntimeError(f"{kind} {name!r} registered twice")
            cls.mutation_name = name
            table[name] = cls
            return cls
        return register
    return decorator
