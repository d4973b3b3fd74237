"""Checks of status codes and response bodies."""

from __future__ import annotations

import json

from ...sending.exchange import Exchange
from ...contract.spec import success_schema, validator
from .core import JWT_SHAPED, Mismatch, short


def status_is(ex: Exchange, expected: int) -> None:
    if ex.status != expected:
        raise Mismatch(f"status {expected}")


def status_in(ex: Exchange, allowed: tuple[int, ...], what: str = "") -> None:
    if ex.status not in allowed:
        raise Mismatch(what or "status in " + ", ".join(map(str, allowed)))


def not_5xx(ex: Exchange) -> None:
    if ex.status is not None and ex.status >= 500:
        raise Mismatch("a status below 500 (no server error)")


def is_4xx(ex: Exchange) -> None:
    if ex.status is None or not 400 <= ex.status < 500:
        raise Mismatch("a 4xx status")


def json_object_body(ex: Exchange) -> None:
    """What the documented client decodes: a JSON object, whatever the Content-Type says."""
    if ex.body_object is None:
        raise Mismatch("a JSON object body", f"body {short(ex.text or '(empty)')!r} is not a JSON object; "
                       f"Content-Type {ex.content_type or '(none)'!r}")


def json_content_type(ex: Exchange) -> None:
    """A JSON media type (application/json or */*+json) in Content-Type."""
    if not ex.is_json_content_type:
        raise Mismatch(
            "a JSON content type (application/json)",
            f"Content-Type {ex.content_type or '(none)'!r}; " + ex.describe_response(200),
        )


def is_json_object(ex: Exchange) -> None:
    """A JSON object served with a JSON content type."""
    json_content_type(ex)
    json_object_body(ex)


def has_error(ex: Exchange) -> None:
    error = ex.error
    if not (isinstance(error, str) and error.strip()):
        raise Mismatch('a JSON object with a non-empty string "error"',
                       f"{error_field_problem(ex)}; " + ex.describe_response(200))


_JSON_KINDS = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number",
               type(None): "null", dict: "an object"}


def body_kind(ex: Exchange) -> str:
    """What a body that is not a JSON object is, in words a framework's team recognises: empty, not JSON (with its
    content type and first bytes), or JSON of another kind."""
    ctype = f"Content-Type {ex.content_type or '(none)'!r}"
    if not ex.body:
        return f"the body is empty ({ctype})"
    try:
        value = json.loads(ex.body)
    except (ValueError, RecursionError):
        return f"the body is not JSON ({ctype}, {len(ex.body)} bytes, starting {ex.body[:40]!r})"
    return f"the body is JSON {_JSON_KINDS.get(type(value), 'value')}, not an object ({ctype})"


def error_field_problem(ex: Exchange) -> str:
    """Why the answer carries no usable `error`: no JSON object at all, no `error` key, or a value of the wrong kind."""
    body = ex.body_object
    if body is None:
        return body_kind(ex)
    if "error" not in body:
        return 'the JSON object has no "error" key (keys: ' + (", ".join(sorted(map(str, body))[:8]) or "none") + ")"
    error = body["error"]
    if isinstance(error, str):
        return f'"error" is an empty string {error!r}'
    return f'"error" is {_JSON_KINDS.get(type(error), "a value")} {short(error)}'


def no_error(ex: Exchange) -> None:
    body = ex.body_object
    if body is not None and body.get("error") is not None:
        raise Mismatch('no "error" (absent or null) on a success', f'"error": {short(body["error"])}')


def no_token(ex: Exchange) -> None:
    if ex.token:
        raise Mismatch("no token", 'a non-empty "token" was issued')
    haystack = ex.text + "\n" + "\n".join(f"{k}: {v}" for k, v in ex.headers.items())
    if JWT_SHAPED.search(haystack):
        raise Mismatch("no token and no JWT-shaped string", "a JWT-shaped string in the response")


def issues_token(ex: Exchange) -> None:
    """A successful login as the documented client sees it: a non-empty string ``token``."""
    if not ex.token:
        raise Mismatch("a successful login (a non-empty token)", "no token; " + ex.describe_response(200))


def answers_unlike(ex: Exchange, other: Exchange, what: str) -> None:
    """The answer differs from *other*'s in status or ``error`` value (*what* names the answer it must not be)."""
    if (ex.status, ex.error) == (other.status, other.error):
        raise Mismatch(f"an answer other than {what}: status {other.status}, error {short(other.error)!r}",
                       "the same answer: " + ex.describe_response(200))


def _success_schema_errors(ex: Exchange) -> list:
    schema = success_schema()
    errors = validator(schema).iter_errors(ex.body_object)
    return sorted((e for e in errors if list(e.path)[:1] != ["error"]),  # RESP-03 judges "error" on its own
                  key=lambda e: list(e.path))


def _null_optional_field(path: list, instance: object) -> bool:
    """A null where the success schema wants a string of an optional field (username, avatar_url, email): the
    documented client decodes null into a Go string as empty, so it breaks nothing."""
    return instance is None and len(path) == 1 and path[0] not in success_schema().get("required", [])


def success_shape(ex: Exchange) -> None:
    """RESP-02: a JSON object; token and user_uuid non-empty strings; the other fields strings (or null)."""
    json_object_body(ex)
    problems = [f"{'/'.join(map(str, e.path)) or '(body)'}: {e.message}" for e in _success_schema_errors(ex)
                if not _null_optional_field(list(e.path), e.instance)]
    if problems:
        raise Mismatch(
            "a success body matching the success schema (token and user_uuid non-empty strings; "
            "username/avatar_url/email strings when present)",
            "; ".join(short(p, 160) for p in problems[:4]),
        )


def no_null_fields(ex: Exchange) -> None:
    """RESP-02's SHOULD clause: the optional fields of a success are strings, not null."""
    if ex.body_object is None:
        return  # success_shape's finding
    nulls = [str(e.path[0]) for e in _success_schema_errors(ex) if _null_optional_field(list(e.path), e.instance)]
    if nulls:
        raise Mismatch("username/avatar_url/email as strings when present (not null)", f"null: {', '.join(nulls)}")


def same_account(ex: Exchange, user_uuid: str) -> None:
    """A successful login (a token) of the account whose ``user_uuid`` is given."""
    if not ex.token:
        raise Mismatch("a successful login (a token)", "no token")
    got = (ex.body_object or {}).get("user_uuid")  # a token comes from a body object
    if got != user_uuid:
        raise Mismatch(f"the same account as the email login (user_uuid {user_uuid!r})", f"user_uuid {got!r}")


def same_account_or_4xx(ex: Exchange, user_uuid: str) -> None:
    """A login of the same account, or a 4xx rejection without a token (INPUT-10)."""
    if ex.status is not None and 400 <= ex.status < 500 and not ex.token:
        return
    if not ex.token:
        raise Mismatch("a login of the same account, or a 4xx rejection", "neither a token nor a 4xx")
    same_account(ex, user_uuid)
