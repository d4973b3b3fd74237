"""Checks of security hygiene (OWASP ASVS / WSTG)."""

from __future__ import annotations

import re

from ...sending.exchange import Exchange
from .core import Mismatch, walk_keys
from .error_details import FAMILIES

_SECRET_KEY = re.compile(r"pass(word|wd)|hash|salt", re.I)
# bcrypt, argon2, pbkdf2 (also Django's pbkdf2_sha256$ and Werkzeug's pbkdf2:sha256:N$), scrypt ($scrypt$, $7$,
# Werkzeug's scrypt:N:r:p$), crypt(3) MD5/SHA-256/SHA-512
HASH_SHAPED = re.compile(r"\$2[abxy]?\$\d\d\$|\$argon2(?:id|i|d)\$|pbkdf2|\$scrypt\$|\$7\$[./A-Za-z0-9]{11,}|"
                         r"\bscrypt:\d+:\d+:\d+\$|\$[156]\$[./A-Za-z0-9]{2,}\$")
# Headers that differ between any two responses and say nothing about the account.
VOLATILE_HEADERS = frozenset(
    {
        "date", "content-length", "age", "etag", "last-modified", "expires", "server-timing",
        "x-request-id", "request-id", "x-correlation-id", "x-amzn-requestid", "x-amz-cf-id",
        "cf-ray", "x-runtime", "x-response-time", "set-cookie", "traceparent", "x-trace-id",
        "x-ratelimit-remaining", "x-ratelimit-reset", "ratelimit-remaining", "ratelimit-reset",
        "report-to", "nel", "alt-svc", "via", "x-cache", "vary",
    }
)


def _haystack(ex: Exchange) -> str:
    return ex.text + "\n" + "\n".join(f"{k}: {v}" for k, v in ex.headers.items())


def no_password_echo(ex: Exchange, passwords: list[str]) -> None:
    """The response does not contain any password the request submitted."""
    haystack = _haystack(ex)
    for pw in passwords:
        if pw and pw in haystack:
            raise Mismatch("a response that does not contain the submitted password",
                           "the submitted password appears in the response")


def no_secret_keys(ex: Exchange) -> None:
    keys = [k for k in walk_keys(ex.json) if isinstance(k, str) and _SECRET_KEY.search(k)]
    if keys:
        raise Mismatch("no key named like password/hash/salt", f"key(s) {keys[:5]}")


def no_hash_strings(ex: Exchange) -> None:
    match = HASH_SHAPED.search(_haystack(ex))
    if match:
        raise Mismatch("no password-hash-looking string ($2b$, $argon2, pbkdf2)", f"found {match.group(0)!r}")


def no_db_error_text(ex: Exchange) -> None:
    """No SQL/ORM error text and no stack trace: evidence that injected text reached the database (AUTH-04)."""
    haystack = _haystack(ex)
    for family in ("SQL or ORM error text", "a stack trace"):
        match = FAMILIES[family].search(haystack)
        if match:
            raise Mismatch("no database error or stack trace text", f"found {match.group(0)!r}")


def cache_no_store(ex: Exchange) -> None:
    directives = {d.strip().lower() for d in ex.headers.get("cache-control", "").split(",")}
    if "no-store" not in directives:
        raise Mismatch("Cache-Control: no-store on a response carrying a token",
                       f"Cache-Control: {ex.headers.get('cache-control', '(absent)')!r}")


def nosniff(ex: Exchange) -> None:
    if ex.headers.get("x-content-type-options", "").strip().lower() != "nosniff":
        raise Mismatch("X-Content-Type-Options: nosniff",
                       f"X-Content-Type-Options: {ex.headers.get('x-content-type-options', '(absent)')!r}")


def hsts(ex: Exchange, min_age: int = 31536000) -> None:
    value = ex.headers.get("strict-transport-security", "")
    match = re.search(r"max-age\s*=\s*\"?(\d+)", value, re.I)
    if not match or int(match.group(1)) < min_age:
        raise Mismatch(f"Strict-Transport-Security with max-age >= {min_age}",
                       f"Strict-Transport-Security: {value or '(absent)'!r}")


def cors_safe(ex: Exchange, origin: str) -> None:
    """Never a foreign origin (or *) allowed together with credentials."""
    acao = ex.headers.get("access-control-allow-origin", "").strip()
    creds = ex.headers.get("access-control-allow-credentials", "").strip().lower() == "true"
    if creds and acao in (origin, "*"):
        raise Mismatch(
            f"no Access-Control-Allow-Origin {origin!r} (or *) with Access-Control-Allow-Credentials: true",
            f"Access-Control-Allow-Origin: {acao!r}, Access-Control-Allow-Credentials: true",
        )


def failure_fingerprint(ex: Exchange) -> dict:
    """What an attacker can compare between two failed logins."""
    body = ex.body_object
    return {
        "status": ex.status,
        "error": None if body is None else body.get("error"),
        "body keys": sorted(body) if body is not None else f"<non-object body: {ex.content_type}>",
        "header names": sorted(k.lower() for k in ex.headers if k.lower() not in VOLATILE_HEADERS),
    }
