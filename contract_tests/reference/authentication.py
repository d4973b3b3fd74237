"""The Authentication part of LoginService: the account a login names and its password checked against the stored
argon2 hash (an unknown account against a dummy hash, so both failures cost the same)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError

from .answers import Reject
from .records import LoginRequest, User


class Authentication:
    """Password hashing and checking (self.find_user: UserStore; self.credential_failure: Answers)."""

    # argon2 cost: deliberately cheap so the suite is fast (the `slow` variant and the timing-leak fault use a
    # realistic one).
    hash_time_cost = 1
    hash_memory_cost = 1024  # KiB

    def make_hasher(self) -> PasswordHasher:
        return PasswordHasher(time_cost=self.hash_time_cost, memory_cost=self.hash_memory_cost, parallelism=1)

    def account_key(self, login: LoginRequest) -> str | None:
        """`email` decides the account; the deprecated `username` carries the email otherwise."""
        key = login.email if login.email is not None else login.username
        try:
            key.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: cannot be a stored email
            return None
        return key

    def prepare_password(self, password: str) -> bytes:
        return password.encode("utf-8", "surrogatepass")

    def hash_password(self, password: str) -> str:
        return self.hasher.hash(self.prepare_password(password))

    def verify_password(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, self.prepare_password(password))
        except VerificationError:
            return False

    def authenticate(self, login: LoginRequest) -> User:
        key = self.account_key(login)
        user = self.find_user(key) if key is not None else None
        # Unknown accounts are verified against a dummy hash so both failures cost the same.
        ok = self.verify_password(user.password_hash if user else self.dummy_hash, login.password)
        if user is None or not ok:
            raise Reject(self.credential_failure(login, user))
        return user


__all__ = ["Authentication"]
