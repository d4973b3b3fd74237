"""Checks of the issued token (a compact JWS, RFC 7515 §7.1)."""

from __future__ import annotations

import binascii
import json
import re
import time

from ...sending.exchange import Exchange
from ...sending.secrets import b64url_decode
from .core import Mismatch

_SEGMENT = re.compile(r"^[A-Za-z0-9_-]*$")


def _decode(token: str) -> tuple[dict, dict]:
    parts = token.split(".")
    if len(parts) != 3 or not all(_SEGMENT.match(p) for p in parts):
        raise Mismatch("a compact JWS: three base64url segments", f"{len(parts)} dot-separated segment(s)")
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Mismatch("a JWS whose header and payload are base64url-encoded JSON", "undecodable segments") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise Mismatch("a JSON object header and claims set", "non-object header or claims")
    return header, claims


def _token(ex: Exchange) -> str:
    if not ex.token:
        raise Mismatch('a non-empty string "token" to inspect', "no token in the response")
    return ex.token


def jws_shape(ex: Exchange) -> None:
    token = _token(ex)
    header, _ = _decode(token)
    alg = header.get("alg")
    if not isinstance(alg, str) or not alg or alg.lower() == "none":
        raise Mismatch('a signed JWS (header "alg" not "none")', f'header "alg": {alg!r}')
    if not token.split(".")[2]:
        raise Mismatch("a non-empty signature segment", "an empty signature")


def exp_valid(ex: Exchange, now: float | None = None) -> None:
    """``exp``, when present, is a number in the future (RFC 7519 §4.1.4)."""
    _, claims = _decode(_token(ex))
    if "exp" not in claims:
        return
    exp = claims["exp"]
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        raise Mismatch('"exp" a NumericDate (a JSON number)', f'"exp": {exp!r}')
    now = time.time() if now is None else now
    if exp <= now:
        raise Mismatch('"exp" in the future', f'"exp" is {now - exp:.0f} s in the past')


def exp_bounded(ex: Exchange, max_lifetime: float, now: float | None = None) -> None:
    """``exp`` present and at most *max_lifetime* seconds ahead."""
    _, claims = _decode(_token(ex))
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        raise Mismatch('an "exp" claim (tokens should expire)', "no numeric exp claim")
    now = time.time() if now is None else now
    if exp - now > max_lifetime + 60:  # a minute of clock skew
        days = (exp - now) / 86400
        raise Mismatch(
            f'"exp" at most {max_lifetime / 86400:g} days ahead', f'"exp" is {days:.1f} days ahead'
        )


def token_free_of(ex: Exchange, *secrets: str) -> None:
    """Neither the JOSE header nor the claims contain any of *secrets*."""
    header, claims = _decode(_token(ex))
    text = json.dumps([header, claims], ensure_ascii=False)
    escaped = json.dumps([header, claims])
    for secret in secrets:
        if secret and (secret in text or secret in escaped or json.dumps(secret)[1:-1] in escaped):
            raise Mismatch("header and claims free of the password", "the password appears in the token")


# Claim names that say "credential material": word parts of the name (camelCase, snake_case, kebab-case).
_SECRET_PARTS = frozenset({"password", "passwd", "pass", "pwd", "pw", "passphrase", "hash", "hashed", "salt", "salted",
                           "secret", "digest"})
# Standard claims whose name says hash but whose value is a hash of a token, not of a credential (OpenID Connect
# Core §3.1.3.6 / §3.3.2.11, FAPI's s_hash); and name parts that make a value metadata, not material.
_HASH_CLAIMS = frozenset({"at_hash", "c_hash", "s_hash", "rt_hash"})
_METADATA_PARTS = frozenset({"at", "date", "time", "changed", "updated", "exp", "expires", "expired", "expiry", "age",
                             "version", "policy", "set", "required", "reset", "alg", "algorithm"})


def _name_parts(name: str) -> list[str]:
    return [p.lower() for p in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", name)]


def secret_named(name: str) -> bool:
    """A claim name like password / hash / salt / secret (not at_hash, not password_changed_at)."""
    if name.lower() in _HASH_CLAIMS:
        return False
    parts = _name_parts(name)
    glued = name.lower()
    named = bool(_SECRET_PARTS.intersection(parts)) or "password" in glued or "passwd" in glued
    return named and not _METADATA_PARTS.intersection(parts)


def _walk(obj, path=""):
    """(path, key, value) of every member of every object nested in a JSON value, and every string."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield f"{path}.{key}" if path else str(key), key, value
            yield from _walk(value, f"{path}.{key}" if path else str(key))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            yield f"{path}[{i}]", None, value
            yield from _walk(value, f"{path}[{i}]")


def no_credential_material(ex: Exchange, passwords: list[str] | tuple[str, ...] = ()) -> None:
    """TOKEN-03: header and claims carry no password (nor its given variants), no password hash, no member named
    like password / hash / salt / secret."""
    from .security import HASH_SHAPED

    header, claims = _decode(_token(ex))
    for part, decoded in (("header", header), ("claims", claims)):
        for path, key, value in _walk(decoded):
            if isinstance(key, str) and secret_named(key) and value not in (None, "", [], {}) \
                    and not isinstance(value, (bool, int, float)):
                raise Mismatch("no member named like password / hash / salt / secret in the token",
                               f"{part} member {path!r}")
            if isinstance(value, str):
                match = HASH_SHAPED.search(value)
                if match:
                    raise Mismatch("no password-hash-shaped value in the token",
                                   f"{part} member {path!r} holds a {match.group(0)!r}... hash")
    text = json.dumps([header, claims], ensure_ascii=False)
    escaped = json.dumps([header, claims])
    for secret in passwords:
        if secret and (secret in text or json.dumps(secret)[1:-1] in escaped):
            raise Mismatch("header and claims free of the password", "the password (or a variant of it) appears "
                                                                     "in the token")


_UNIQUE_CLAIMS = ("jti", "nonce", "sid", "session_id")  # claims that make each login's token unique
_TIME_CLAIMS = frozenset({"iat", "exp", "nbf", "auth_time"})  # RFC 7519 §4.1.4-6, OIDC auth_time


def fresh_token(ex: Exchange, first_token: str) -> None:
    """AUTH-08: a second login yields a different token; when it does not, the failure says why they are equal.

    Two JWTs that differ only in whole-second time claims were told apart by the clock, not by the login: two logins
    within one second get the same token. That is decided from the claims, not left to whether the two logins of
    this run happened to fall in the same second (they do at one concurrency and not at another)."""
    if not ex.token:
        raise Mismatch("a second successful login", "no token")
    if ex.token == first_token:
        raise Mismatch("a different token for each login", "the same token twice: " + _why_identical(ex.token))
    clock_only = _differ_only_by_the_clock(first_token, ex.token)
    if clock_only:
        raise Mismatch("a different token for each login",
                       f"the two tokens differ only in {', '.join(f'`{k}`' for k in clock_only)} (whole seconds) and "
                       "carry no `jti` (or another per-login unique claim): two logins within one second get the "
                       "same token")


def _differ_only_by_the_clock(first: str, second: str) -> list[str]:
    """The time claims two JWTs differ in, when those are all they differ in and every one is in whole seconds
    (header and other claims equal); [] otherwise (opaque tokens, a unique claim, any other difference)."""
    try:
        (h1, c1), (h2, c2) = _decode(first), _decode(second)
    except Mismatch:
        return []
    if h1 != h2 or c1.keys() != c2.keys() or any(k in c1 for k in _UNIQUE_CLAIMS):
        return []
    differing = sorted(k for k in c1 if c1[k] != c2[k])
    whole_seconds = all(isinstance(c[k], int) and not isinstance(c[k], bool) for c in (c1, c2) for k in differing)
    return differing if differing and set(differing) <= _TIME_CLAIMS and whole_seconds else []


def _why_identical(token: str) -> str:
    try:
        header, claims = _decode(token)
    except Mismatch:
        return "an opaque token, returned unchanged for each login"
    why = [f"identical header and claims ({', '.join(f'`{k}`' for k in claims) or 'none'})"]
    iat = claims.get("iat")
    if isinstance(iat, (int, float)) and float(iat).is_integer():
        why.append("`iat` has 1-second resolution, so two logins within one second sign the same claims")
    elif "iat" not in claims:
        why.append("there is no `iat`")
    if not any(k in claims for k in _UNIQUE_CLAIMS):
        why.append("there is no `jti` (or another per-login unique claim) to tell them apart")
    return "; ".join(why)
