"""Cross-cutting requirements checked on every exchange of the run, whatever test sent it.

A violation is charged to its own requirement (RESP-05, SEC-02, ...), never to the test that happened to send
the request: when the running test checks that requirement itself, it is that test's failure; otherwise it is
held (:meth:`.ledger.Ledger.take_held`) until the requirement's own item (contract_tests/suite/test_invariants.py)
reports it, after every test that sends requests.  What no item took (an item deselected, an xdist worker whose
item ran earlier, a 5xx charged to the requirement whose statement forbids it) still reaches the results at the end of the run.
"""

from __future__ import annotations

from collections import Counter

from . import checks
from .checks import Mismatch
from .levels import answer_shape_level
from .results import Observation
from .failures import CROSS_CUTTING, check_record
from .ledger import Ledger
from ..contract.catalog import load_catalog
from ..inputs.hostile_strings import carries_hostile_string
from ..sending.exchange import Exchange, LoginRequest
from ..sending.secrets import Secret


def submitted_passwords(ex: Exchange) -> list[str]:
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


# The requirements the invariants judge, in the order their items run (the 5xx rule is charged to the requirement
# of the request, so it has no item of its own).
REQUIREMENTS = CROSS_CUTTING
# Requests whose own requirement asks for their status: a 2xx to them is that requirement's, not INPUT-06's.
_OWN_STATUS_RULE = ("INPUT-04", "INPUT-07", "INPUT-08")



def server_error_owner(request: LoginRequest, owner: str) -> str:
    """The requirement a 5xx to *request* is charged to: the one whose statement the 5xx breaks. The request's own
    (*owner*) when its statement forbids a 5xx (the input requirements, injections, forged bearers); else INPUT-09 when
    the request carries a string INPUT-09 names (a NUL near-miss password that crashes a C binding breaks INPUT-09's
    statement, not the near-miss requirement's "never logs in"); else the request's own, the only home a 5xx to an
    ordinary documented request has."""
    own = load_catalog().get(owner)
    if own is not None and "5xx" in f"{own.statement} {own.should_clause or ''}":
        return owner
    carried = [request.json if request.has_json else None, request.form, request.multipart, request.params]
    return "INPUT-09" if carries_hostile_string(carried) else owner

class Observer:
    """Applies every invariant to each exchange and charges a violation to the invariant's requirement.

    A violation already reported in this run for the same kind of response (requirement,
    status, media type, level) is recorded as a repeat: it counts in the report, but does not
    fail one more test with the same message.
    """

    def __init__(self, ledger: Ledger | None = None) -> None:
        self.ledger = ledger if ledger is not None else Ledger()  # the run's: where violations are recorded
        self._reported: set[tuple] = set()
        self._token_headers: set[str] = set()  # TOKEN-04 scans each distinct JOSE header once (about 3 ms each)
        self.applicable: Counter[str] = Counter()  # exchanges each invariant judged
        self._credential_answers: set[tuple] = set()  # (status, error) of the run's credential failures

    def _coerced_login_attempt(self, ex: Exchange) -> bool:
        """A schema-invalid request a coercing validator read as a login attempt: only a number where a string is
        wanted, answered exactly like the run's credential failures. Its status is the credential failure's (a 2xx
        in the vendor's style), not a refusal's: INPUT-06 judges refusals (INPUT-03 the token, RESP-05 the error)."""
        return (not ex.token and (ex.status, repr(ex.error)) in self._credential_answers
                and coercible_login(ex.request.json if ex.request.has_json else None))

    def take(self, requirement: str) -> tuple[list[Observation], int]:
        """The failures held for *requirement* (removed from the store) and how many exchanges it judged."""
        return self.ledger.take_held(requirement), self.applicable[requirement]

    def __call__(self, ex: Exchange) -> None:
        ctx = self.ledger.current
        if ctx is not None:
            ctx.exchanges.append(ex)
        if ex.status is None:
            return
        req = ex.request
        media = ex.content_type.split(";")[0].strip().lower()
        judged: set[str] = set()

        def charge(requirement: str, expected: str, actual: str | None, level: str | None, key: tuple,
                   check: dict | None = None) -> None:
            repeat = key in self._reported
            self._reported.add(key)
            # the running test's own failure when it checks the requirement; else held for the requirement's item
            self.ledger.record_failure(requirement, [ex], expected, actual, level=level, repeat=repeat, hold=True,
                                       check=check)

        def run(requirement: str, check, *args, level: str | None = None) -> None:
            judged.add(requirement)
            try:
                check(ex, *args)
            except Mismatch as m:
                charge(requirement, m.expected, m.actual, level, (requirement, ex.status, media, level, m.expected),
                       check_record(check, args, {}, ex.redactor))

        owner = req.requirement or (ctx.requirements[0] if ctx is not None and ctx.requirements else None)
        # a blip is judged by its shape, at SHOULD, below; a gateway answer whose retry could not be sent is
        # unconfirmed, a lasting 503 was backed off from as a rate limit: not charged as the input's server error
        if ex.status >= 500 and owner and not ex.gateway_blip and not ex.gateway_unconfirmed and ex.backoff is None:
            broken = server_error_owner(req, owner)
            charge(broken, "a status below 500 (no server error)", None, None, (broken, id(ex)),
                   check_record(checks.not_5xx, (), {}, ex.redactor))
        if req.method == "POST":
            run("RESP-04", checks.json_object_body, level=answer_shape_level(ex))
            run("RESP-04", checks.json_content_type, level="SHOULD")  # the documented client ignores it
            if not ex.token:
                run("RESP-05", checks.has_error, level=answer_shape_level(ex))
            if req.expect in ("failure", "invalid"):
                run("RESP-06", checks.no_token)
            if req.expect == "failure" and not ex.token and ex.backoff is None and ex.status < 500:
                self._credential_answers.add((ex.status, repr(ex.error)))  # (an error may be any JSON)
            if (req.expect == "invalid" and ex.backoff is None and owner not in _OWN_STATUS_RULE
                    and not self._coerced_login_attempt(ex)):
                # a token is the "never a token" clause (the cause the request's own requirement may carry already)
                run("INPUT-06", checks.no_token if ex.token else _not_2xx)
            run("SEC-02", checks.no_password_echo, submitted_passwords(ex))
            run("SEC-02", checks.no_secret_keys)
            run("SEC-02", checks.no_hash_strings)
        if ex.status == 401:
            run("HTTP-02", checks.www_authenticate_on_401)
        run("SEC-04", checks.nosniff)
        run("SEC-08", checks.no_internal_error_details)
        if ex.token and ex.token.split(".")[0] not in self._token_headers:
            self._token_headers.add(ex.token.split(".")[0])
            run("TOKEN-04", checks.hmac_key_not_weak)
        self.applicable.update(judged)


def coercible_login(body: object) -> bool:
    """A login whose only fault is a number where the schema wants a string (what coercing validators accept: DRF's
    CharField, ajv's coerceTypes, Pydantic's lax mode for some types)."""
    if not isinstance(body, dict) or not body.keys() <= {"email", "username", "password"} or "password" not in body:
        return False
    values = list(body.values())
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return bool(numbers) and all(isinstance(v, str) or v in numbers for v in values) and (
        "email" in body or "username" in body)


def _not_2xx(ex: Exchange) -> None:
    if 200 <= (ex.status or 0) < 300:
        raise Mismatch("a 4xx status for a schema-invalid request", f"status {ex.status}")
