"""The UserStore part of LoginService: the users table of the service's own SQLite database (schema, registration
of a seeded account, lookup by email)."""

from __future__ import annotations

from .records import USER_COLUMNS, SeedUser, User


class UserStore:
    """LoginService's users table (self.db: the service's SQLite connection; self.hash_password: Authentication)."""

    def create_schema(self) -> None:
        self.db.execute(
            "CREATE TABLE users ("
            " id INTEGER PRIMARY KEY,"
            " uuid TEXT NOT NULL UNIQUE,"
            " email TEXT NOT NULL UNIQUE COLLATE NOCASE,"
            " username TEXT NOT NULL,"
            " avatar_url TEXT NOT NULL,"
            " password_hash TEXT NOT NULL,"
            " created_at TEXT NOT NULL)"
        )

    def register(self, seed: SeedUser) -> None:
        self.db.execute(
            "INSERT INTO users (uuid, email, username, avatar_url, password_hash, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (seed.uuid, seed.email, seed.username, seed.avatar_url, self.hash_password(seed.password),
             seed.created_at),
        )

    def find_user(self, key: str) -> User | None:
        row = self.db.execute(f"SELECT {USER_COLUMNS} FROM users WHERE email = ?", (key,)).fetchone()
        return User(*row) if row else None


__all__ = ["UserStore"]
