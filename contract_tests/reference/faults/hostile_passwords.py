"""Hostile passwords for an existing account (faults.yaml, section "hostile passwords for an existing account").
Both refuse an unknown account before any hashing ("why hash for an account that does not exist?"): the password
reaches the hasher only for an existing account."""

from __future__ import annotations

from argon2.exceptions import VerificationError

from ..service import LoginRequest, LoginService, Reject, User
from .registration import fault


@fault("surrogate-crash-known-account")
class SurrogateCrashKnownAccount(LoginService):
    def authenticate(self, login: LoginRequest) -> User:
        key = self.account_key(login)
        user = self.find_user(key) if key is not None else None
        if user is None:
            raise Reject(self.credential_failure(login, None))
        try:  # the str as it came, as argon2-cffi's documentation shows: verify() encodes it as strict UTF-8
            ok = self.hasher.verify(user.password_hash, login.password)
        except VerificationError:
            ok = False
        if not ok:
            raise Reject(self.credential_failure(login, user))
        return user


@fault("bcrypt-72-bytes-known-account")
class Bcrypt72BytesKnownAccount(LoginService):
    max_password_characters = 64  # the sign-up policy: no stored password is longer

    def authenticate(self, login: LoginRequest) -> User:
        key = self.account_key(login)
        user = self.find_user(key) if key is not None else None
        if user is None:
            raise Reject(self.credential_failure(login, None))
        if len(login.password) > self.max_password_characters:  # cannot be the password: refused before hashing
            raise self.invalid(f"password must be at most {self.max_password_characters} characters")
        if len(self.prepare_password(login.password)) > 72:  # bcrypt >= 5's checkpw raises where it used to truncate
            raise ValueError("password cannot be longer than 72 bytes, truncate manually if necessary")
        if not self.verify_password(user.password_hash, login.password):
            raise Reject(self.credential_failure(login, user))
        return user
