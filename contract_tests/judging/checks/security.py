"""Checks of security hygiene (OWASP ASVS / WSTG)."""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import json
import re
from typing import Any

from ...sending.exchange import Exchange
from ...sending.secrets import secret_forms
from .core import JWT_SHAPED, Mismatch
from .error_details import FAMILIES

_SECRET_KEY = re.compile(r"pass(word|wd)|hash|salt", re.I)
# bcrypt, argon2, pbkdf2 (also Django's pbkdf2_sha256$ and Werkzeug's pbkdf2:sha256:N$), scrypt ($scrypt$, $7$,
# Werkzeug's scrypt:N:r:p$), crypt(3) MD5/SHA-256/SHA-512
HASH_SHAPED = re.compile(r"\$2[abxy]?\$\d\d\$|\$argon2(?:id|i|d)\$|pbkdf2|\$scrypt\$|\$7\$[./A-Za-z0-9]{11,}|"
                         r"\bscrypt:\d+:\d+:\d+\$|\$[156]\$(rounds=\d+\$)?[./A-Za-z0-9]{2,}\$")
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


# ------------------------------------------------------------------------------------------------- disclosure (SEC-02)
# SEC-02 is about disclosure: the submitted password (in any form the suite's own redactor knows, plus the encodings
# a server may wrap it in), or a password hash, anywhere in the answer -- body and headers. Key names matter only
# where the value under them could be a secret (``no_secret_keys``).
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{12,}={0,2}")
_DIGESTS = ("md5", "sha1", "sha256", "sha512")


_REDACTOR_FORMS = ("as it was sent", "escaped or URL-encoded")


@functools.lru_cache(maxsize=512)
def password_forms(password: str) -> dict[str, str]:
    """Each form a disclosed *password* can take in an answer -> how to name it (never the value): the forms the
    redactor knows (raw, JSON-escaped, URL-encoded), HTML-escaped, base64 (standard and URL-safe alphabets) and the
    hex and base64 digests of an unsalted hash (as good as the password against a dictionary)."""
    try:
        known = secret_forms(password)
    except UnicodeEncodeError:  # a lone surrogate (hostile-string probes) has no URL-encoded form
        known = {password, json.dumps(password)[1:-1]}
    forms = {form: _REDACTOR_FORMS[form != password] for form in known}
    forms.setdefault(html.escape(password), "HTML-escaped")
    raw = password.encode("utf-8", "surrogatepass")  # a lone surrogate is sent as such by hostile-string probes
    if len(raw) >= 6:  # shorter ones have base64 forms that are everyday substrings
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(raw).decode()
            forms.setdefault(text, "base64-encoded")
            forms.setdefault(text.rstrip("="), "base64-encoded")
    for name in _DIGESTS:
        digest = hashlib.new(name, raw).digest()
        forms.setdefault(digest.hex(), f"as its unsalted {name} digest (hex)")
        forms.setdefault(base64.b64encode(digest).decode(), f"as its unsalted {name} digest (base64)")
    return {form: how for form, how in forms.items() if form}


def _base64_decoded(text: str) -> list[tuple[str, str]]:
    """(run, decoded text) for each base64-looking run of *text* that decodes to text."""
    found = []
    for match in _BASE64_RUN.finditer(text):
        run = match.group(0)
        body = run.rstrip("=")
        try:
            decoded = base64.b64decode(body + "=" * (-len(body) % 4), altchars=b"-_" if "-" in body or "_" in body
                                       else None, validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            continue
        found.append((run, decoded))
    return found


def disclosed_form(ex: Exchange, password: str) -> str | None:
    """How *password* appears in the answer (body or headers), or None. The form found (or the base64 run holding
    it) is made known to the exchange's redactor, so no output shows it."""
    haystack = JWT_SHAPED.sub(" ", _haystack(ex))  # what a token carries is TOKEN-03's
    forms = password_forms(password)
    for form in sorted(forms, key=len, reverse=True):
        if form in haystack:
            if forms[form] not in _REDACTOR_FORMS:  # the redactor derives those itself (from the secrets it knows)
                ex.redactor.add(form, "<the submitted password, " + forms[form] + ">")  # no output shows it either
            return forms[form]
    for run, decoded in _base64_decoded(haystack):
        for form, how in forms.items():
            if form in decoded:
                ex.redactor.add(run, "<base64 holding the submitted password>")
                return f"inside a base64-encoded value ({how} there)"
    return None


def no_password_echo(ex: Exchange, passwords: list[str]) -> None:
    """The response does not contain any password the request submitted, in any form (SEC-02)."""
    for pw in passwords:
        how = disclosed_form(ex, pw) if pw else None
        if how:
            raise Mismatch("a response that does not contain the submitted password (in any form)",
                           f"the submitted password appears in the response, {how}")


# Validation vocabulary a field-keyed error map carries as its message (zod's "Required", Rails' error details
# "blank", codes such as TOO_SHORT or i18n keys such as validation.required): words, not secrets.
_MESSAGE_WORD = re.compile(
    r"(?i:required|blank|missing|empty|invalid|too[_ -]?(short|long|weak|common)|mismatch|incorrect|wrong|"
    r"not[_ -]?allowed|taken|format|length|min(imum)?|max(imum)?|present|absent|null|forbidden|unknown)"
    r"|[A-Z][A-Z0-9]*(_[A-Z0-9]+)*|[a-z]+([._][a-z]+)+")
_DATE_LIKE = re.compile(r"\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?")
_USER_KEY = re.compile(r"user|account|profile|member|customer|principal|identity", re.I)
_USER_FIELDS = frozenset({"user_uuid", "user_id", "uuid", "userid", "userId", "userUuid"})


def human_message(value: str) -> bool:
    """A message or an error code for a person or a program to read, not a value that could be a secret."""
    text = value.strip()
    return bool(re.search(r"\s", text)) or bool(_MESSAGE_WORD.fullmatch(text))


def _could_be_secret(value: Any, strict: bool) -> bool:
    """A value that could hold a secret: a non-empty string that is not a date -- nor, unless *strict*, a human
    message -- or a container holding one. Booleans, numbers and null say whether, never what."""
    if isinstance(value, str):
        text = value.strip()
        return bool(text) and not _DATE_LIKE.fullmatch(text) and (strict or not human_message(text))
    if isinstance(value, dict):
        return any(_could_be_secret(v, strict) for v in value.values())
    if isinstance(value, list):
        return any(_could_be_secret(v, strict) for v in value)
    return False


def _secret_keys(obj: Any, strict: bool, found: list[str]) -> None:
    if isinstance(obj, list):
        for item in obj:
            _secret_keys(item, strict, found)
        return
    if not isinstance(obj, dict):
        return
    strict = strict or bool(_USER_FIELDS & set(obj))  # a user object: what it holds is the account's
    for key, value in obj.items():
        if isinstance(key, str) and _SECRET_KEY.search(key) and _could_be_secret(value, strict):
            found.append(key)
        _secret_keys(value, strict or (isinstance(key, str) and bool(_USER_KEY.search(key))), found)


def no_secret_keys(ex: Exchange) -> None:
    """No key named like password/hash/salt whose value could be a secret: anywhere in a success body or a user
    object, and elsewhere unless the value is a human message (a field-keyed validation error such as DRF's
    ``{"password": ["This field may not be blank."]}`` names the field, it discloses nothing)."""
    keys: list[str] = []
    _secret_keys(ex.json, strict=ex.token is not None, found=keys)
    if keys:
        raise Mismatch("no key named like password/hash/salt holding a value that could be a secret",
                       f"key(s) {keys[:5]} with a value that is not a message")


def no_hash_strings(ex: Exchange) -> None:
    match = HASH_SHAPED.search(JWT_SHAPED.sub(" ", _haystack(ex)))
    if not match:
        match = next((HASH_SHAPED.search(decoded) for _, decoded in _base64_decoded(JWT_SHAPED.sub(" ", _haystack(ex)))
                      if HASH_SHAPED.search(decoded)), None)
    if match:
        raise Mismatch("no password-hash-looking string ($2b$, $argon2, pbkdf2, scrypt, crypt)",
                       f"found {match.group(0)!r}")


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
