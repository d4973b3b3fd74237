"""Checks of HTTP semantics (RFC 9110)."""

from __future__ import annotations

from ...sending.exchange import Exchange
from .core import Mismatch


def allows_post(ex: Exchange) -> None:
    """405 Method Not Allowed with an ``Allow`` header listing POST (RFC 9110 §15.5.6)."""
    if ex.status != 405:
        raise Mismatch("status 405 Method Not Allowed")
    allow = {m.strip().upper() for m in ex.headers.get("allow", "").split(",") if m.strip()}
    if "POST" not in allow:
        raise Mismatch("an Allow header listing POST", f"Allow: {ex.headers.get('allow', '(absent)')!r}")


def www_authenticate_on_401(ex: Exchange) -> None:
    """A 401 carries ``WWW-Authenticate`` (RFC 9110 §15.5.2)."""
    if ex.status == 401 and not ex.headers.get("www-authenticate", "").strip():
        raise Mismatch("a WWW-Authenticate header on the 401", "no WWW-Authenticate header")
