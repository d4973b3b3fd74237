"""The Validation part of LoginService: a parsed body checked against the login schema (password, email, username)
into a LoginRequest (records.py); the email check itself (is_email_address)."""

from __future__ import annotations

import unicodedata
from typing import Any

from .answers import Reject
from .records import LoginRequest

KNOWN_FIELDS = frozenset({"email", "username", "password"})


def is_email_address(value: str, max_length: int = 254) -> bool:
    """A simple, sane email check: one "@", non-empty local part, dotted domain, no whitespace/control chars."""
    if not value or len(value) > max_length or value.count("@") != 1:
        return False
    if any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        return False
    local, domain = value.split("@")
    if not local or "." not in domain:
        return False
    return all(domain.split("."))


class Validation:
    """A schema-invalid body is refused with validation_failure (Answers); a valid one becomes a LoginRequest."""

    username_max_length = 80
    email_max_length = 254

    def invalid(self, detail: str) -> Reject:
        return Reject(self.validation_failure(detail))

    def validate(self, data: dict[str, Any]) -> LoginRequest:
        self.check_unknown_fields(sorted(set(data) - KNOWN_FIELDS))
        password = self.validate_password(data)
        email = self.validate_email(data["email"]) if "email" in data else None
        username = self.validate_username(data["username"]) if "username" in data else None
        if email is None and username is None:
            raise self.invalid("one of email or username is required")
        return LoginRequest(email=email, username=username, password=password, data=data)

    def check_unknown_fields(self, names: list[str]) -> None:
        """Unknown properties are ignored by the reference."""

    def validate_password(self, data: dict[str, Any]) -> str:
        if "password" not in data:
            raise self.invalid("password is required")
        password = data["password"]
        if not isinstance(password, str):
            raise self.invalid("password must be a string")
        return password

    def validate_email(self, value: Any) -> str:
        if not isinstance(value, str):
            raise self.invalid("email must be a string")
        if not is_email_address(value, self.email_max_length):
            raise self.invalid("email must be a valid email address")
        return value

    def validate_username(self, value: Any) -> str:
        if not isinstance(value, str):
            raise self.invalid("username must be a string")
        if len(value) > self.username_max_length:
            raise self.invalid(f"username must be at most {self.username_max_length} characters")
        return value


__all__ = ["KNOWN_FIELDS", "Validation", "is_email_address"]
