"""Cross-cutting requirements checked on every exchange of the run, whatever test sent it.

A violation is recorded against its own requirement (RESP-05, SEC-02, ...) and makes the test
that observed it fail, while that test's own requirement keeps its own verdict.
"""

from __future__ import annotations

from . import checks
from .checks import Mismatch
from .levels import answer_shape_level
from .verdicts import current, record_failure
from ..sending.exchange import Exchange
from ..sending.secrets import Secret


def _submitted_passwords(ex: Exchange) -> list[str]:
    """Passwords this request submitted that are distinctive enough to look for in a response."""
    found: list[str] = []

    def walk(obj, key=None):
        if isinstance(obj, Secret):
            if obj.value:
                found.append(obj.value)
        elif isinstance(obj, dict):
            for k, v in obj.items():
                walk(v, k)
        elif isinstance(obj, (list, tuple)):
            for v in obj:
                walk(v, key)
        elif key == "password" and isinstance(obj, str) and len(obj.strip()) >= 8:
            found.append(obj)

    req = ex.request
    if req.has_json:
        walk(req.json)
    for pairs in (req.form, req.multipart, req.params):
        for k, v in pairs or ():
            walk({k: v})
    return found


class Observer:
    """Applies every invariant to each exchange, recording failures against the running test.

    A violation already reported in this run for the same kind of response (requirement,
    status, media type, level) is recorded as a repeat: it counts in the report, but does not
    fail one more test with the same message.
    """

    def __init__(self) -> None:
        self._reported: set[tuple] = set()
        self._token_headers: set[str] = set()  # TOKEN-04 scans each distinct JOSE header once (about 3 ms each)

    def __call__(self, ex: Exchange) -> None:
        ctx = current()
        if ctx is not None:
            ctx.exchanges.append(ex)
        if ex.status is None:
            return
        req = ex.request
        media = ex.content_type.split(";")[0].strip().lower()

        def run(requirement: str, check, *args, level: str | None = None) -> None:
            try:
                check(ex, *args)
            except Mismatch as m:
                key = (requirement, ex.status, media, level, m.expected)
                record_failure(requirement, ex, m.expected, m.actual, level=level, repeat=key in self._reported)
                self._reported.add(key)

        owner = req.requirement or (ctx.requirements[0] if ctx is not None and ctx.requirements else None)
        if ex.status >= 500 and owner:
            record_failure(owner, ex, "a status below 500 (no server error)", None)
        if req.method == "POST":
            run("RESP-04", checks.json_object_body, level=answer_shape_level(ex))
            run("RESP-04", checks.json_content_type, level="SHOULD")  # the documented client ignores it
            if not ex.token:
                run("RESP-05", checks.has_error, level=answer_shape_level(ex))
            if req.expect in ("failure", "invalid"):
                run("RESP-06", checks.no_token)
            if req.expect == "invalid":
                run("INPUT-06", _not_2xx)
            run("SEC-02", checks.no_password_echo, _submitted_passwords(ex))
            run("SEC-02", checks.no_secret_keys)
            run("SEC-02", checks.no_hash_strings)
        run("HTTP-02", checks.www_authenticate_on_401)
        run("SEC-04", checks.nosniff)
        run("SEC-08", checks.no_internal_error_details)
        if ex.token and ex.token.split(".")[0] not in self._token_headers:
            self._token_headers.add(ex.token.split(".")[0])
            run("TOKEN-04", checks.hmac_key_not_weak)


def _not_2xx(ex: Exchange) -> None:
    if 200 <= (ex.status or 0) < 300:
        raise Mismatch("a 4xx status for a schema-invalid request", f"status {ex.status}")
