"""Secret values and the redactor that keeps them out of every output.

A :class:`Secret` is a value the suite sends but must never print: the login password, a
near-miss password derived from it, a bearer or captcha token.  Each carries a *label* shown
in place of its value and a *shell* expression that recreates it in a reproduction
(``"$LOGIN_PASSWORD"``, ``"${LOGIN_PASSWORD}x"``).  The :class:`Redactor` knows every secret
seen in the run (including tokens the server issued) and scrubs any text before it leaves the
suite.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import urllib.parse
from dataclasses import dataclass, field

_JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*)?")


@dataclass(frozen=True, eq=False)
class Secret:
    """A value to send but never show."""

    value: str = field(repr=False)
    label: str
    shell: str

    def __repr__(self) -> str:
        return self.label

    __str__ = __repr__


def password_secret(value: str) -> Secret:
    return Secret(value, "<LOGIN_PASSWORD>", '"$LOGIN_PASSWORD"')


def derived(base: Secret, value: str, label: str, shell: str) -> Secret:
    """A secret computed from *base*; it is registered with the redactor as soon as it is sent."""
    return Secret(value, f"<{label}>", shell)


def b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def secret_forms(value: str) -> set[str]:
    """Forms a secret can take in an output: raw, JSON-escaped, URL-encoded (also what SEC-02 looks for)."""
    forms = {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    forms.add(urllib.parse.quote(value, safe=""))
    forms.add(urllib.parse.quote_plus(value, safe=""))
    return {f for f in forms if f}


class Redactor:
    """Replaces every known secret in a text by its label; JWTs keep header and claims only."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._labels: dict[str, str] = {}
        self._pattern: re.Pattern[str] | None = None

    def add(self, value: str | Secret, label: str | None = None) -> None:
        if isinstance(value, Secret):
            value, label = value.value, value.label
        if not value:
            return
        with self._lock:
            new = [form for form in secret_forms(value) if form not in self._labels]
            for form in new:
                self._labels[form] = label or "<secret>"
            if new:  # the client re-registers the same secrets on every request: recompile only when one is new
                self._pattern = None

    def add_token(self, token: str) -> None:
        if _JWT_RE.fullmatch(token):
            # __call__'s JWT fallback already gives it exactly this label (its forms are all the same text):
            # growing the alternation by every issued token made each redaction recompile a larger pattern
            return
        self.add(token, self.describe_token(token))

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(self._labels)

    def _compiled(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._pattern is None and self._labels:
                ordered = sorted(self._labels, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(s) for s in ordered))
            return self._pattern

    def __call__(self, text: str) -> str:
        if not text:
            return text
        pattern = self._compiled()
        if pattern is not None:
            text = pattern.sub(lambda m: self._labels[m.group(0)], text)
        # Any JWT-shaped string left (one we were never told about) loses its signature.
        return _JWT_RE.sub(lambda m: self.describe_token(m.group(0)), text)

    def describe_token(self, token: str) -> str:
        """``<JWT header=... claims=... signature removed>`` with secrets scrubbed from the claims."""
        parts = token.split(".")
        try:
            header = json.loads(b64url_decode(parts[0]))
            claims = json.loads(b64url_decode(parts[1])) if len(parts) > 1 else None
        except (ValueError, binascii.Error, UnicodeDecodeError, IndexError, RecursionError):
            return "<token redacted>"
        shown = json.dumps({"header": header, "claims": claims}, sort_keys=True, ensure_ascii=False)
        pattern = self._compiled()
        if pattern is not None:
            shown = pattern.sub(lambda m: self._labels[m.group(0)], shown)
        return f"<JWT {shown} signature removed>"

    def scrub(self, obj):
        """Redact every string inside a JSON-like structure."""
        if isinstance(obj, str):
            return self(obj)
        if isinstance(obj, dict):
            return {self(str(k)): self.scrub(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [self.scrub(v) for v in obj]
        return obj
