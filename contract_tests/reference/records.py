"""The reference server's plain records: the seeded accounts (SeedUser, SEED_USERS), a stored user (User, its
USER_COLUMNS) and a schema-valid login request (LoginRequest)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .accounts import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
    DEMO_USER_UUID,
    DEMO_USERNAME,
    OTHER_EMAIL,
    OTHER_PASSWORD,
    OTHER_USER_UUID,
    OTHER_USERNAME,
)


@dataclass(frozen=True)
class SeedUser:
    uuid: str
    email: str
    username: str
    password: str
    avatar_url: str
    created_at: str


SEED_USERS: tuple[SeedUser, ...] = (
    SeedUser(DEMO_USER_UUID, DEMO_EMAIL, DEMO_USERNAME, DEMO_PASSWORD,
             "https://avatars.hyper3d.test/demo.png", "2024-03-01T09:00:00Z"),
    SeedUser(OTHER_USER_UUID, OTHER_EMAIL, OTHER_USERNAME, OTHER_PASSWORD,
             "https://avatars.hyper3d.test/other.png", "2024-06-15T17:30:00Z"),
)


@dataclass(frozen=True)
class User:
    uuid: str
    email: str
    username: str
    avatar_url: str
    password_hash: str
    created_at: str


USER_COLUMNS = "uuid, email, username, avatar_url, password_hash, created_at"


@dataclass(frozen=True)
class LoginRequest:
    """A schema-valid login request."""

    email: str | None
    username: str | None
    password: str
    data: dict[str, Any]


__all__ = ["SEED_USERS", "USER_COLUMNS", "LoginRequest", "SeedUser", "User"]
