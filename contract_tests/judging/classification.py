"""Telling a validation failure from a credential failure, whatever error vocabulary the target uses (DEPR-03,
INPUT-05, and the fuzzer's cases of both).

The rule. The suite learns how the target answers a credential failure: a login to an unknown
account by `email` (twice, with different addresses and passwords, so that what changes from one request to the next
-- a request id, a timestamp, an echoed address -- is not taken for a difference), one by the deprecated `username`,
and the wrong password of the configured account when credentials are given (SEC-01 asks only at SHOULD that it looks
like the unknown account's, so both are learned). Then:

* an answer that issues no token, is a refusal of the request itself (not a server error, a rate limit, a lockout,
  a captcha demand or a proxy's size or routing answer) and differs from every learned credential answer for the
  same identifier field -- in its status, its `error` value or its body shape -- is a **validation** failure;
* an answer like a learned credential answer is a **credential** failure, but only when the target was seen to
  answer validation failures of the fields differently: one of its unmistakably invalid probes of a JSON object
  (missing password, numeric password; a non-object body is the body parser's refusal, not the field validation's),
  or any schema-invalid object of the run judged so far (DEPR-03's usernames over the limit, INPUT-05's malformed
  emails), answered unlike a credential failure. A probe a framework legitimately
  accepts (a number coerced to a string is a login attempt) drops out of that evidence; the two cannot be told
  apart -- the answer is **unknown** -- only when every refusal seen was answered like a credential failure.

So the vendor's 201 + `{"error": "NO_SUCH_USER"}` against 201 + `{"error": "INVALID_EMAIL"}`, NestJS's 400 message
arrays against a 201 (or a 400 whose `message` is a string), FastAPI's 422 `detail` against 401, and per-field codes
such as 400 `USERNAME_TOO_LONG` are all decided; a server that answers validation exactly like credentials is not.

Each condition below is a tiny function of one or two answers, unit-tested on a good and a bad input
(tests/test_classification.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from ..sending.exchange import Exchange

Kind = Literal["success", "validation", "credential", "unknown"]
FEATURES = ("status", "error", "body shape")
IDENTIFIERS = ("email", "username")

# Answers that say something about the client or the deployment, not about the request's content.
_POLICY_STATUSES = {405, 408, 413, 414, 423, 429, 431}
# (a lock speaks many vocabularies: ACCOUNT_LOCKED, TOO_MANY_ATTEMPTS, USER_FORBIDDEN, USER_DISABLED ...)
_POLICY_ERROR = re.compile(r"lock|suspend|too.?many|throttl|rate.?limit|blocked|captcha|turnstile|forbidden|"
                           r"disabled|deactivated", re.I)
# Per-request parts of an `error` value: UUIDs, ISO-8601 timestamps, long hex or digit runs (ids, epoch times).
_VOLATILE = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"|\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?"
    r"|\b(?=[0-9a-f]*\d)[0-9a-f]{12,}\b|\d{6,}",
    re.I,
)


# ---------------------------------------------------------------------------------------------- conditions


def issues_token(ex: Exchange) -> bool:
    """The answer logs in (the documented client returns its `token`)."""
    return ex.token is not None


def is_policy_answer(ex: Exchange) -> bool:
    """No answer, a server error, or an answer about throttling, locking, captchas, size or routing: none of these
    judges the request's fields, so none is a validation or a credential failure."""
    if ex.transport_error or ex.status is None or ex.status >= 500 or ex.status in _POLICY_STATUSES:
        return True
    error = ex.error
    return isinstance(error, str) and bool(_POLICY_ERROR.search(error))


def error_value(ex: Exchange) -> str | None:
    """The `error` value with its per-request parts masked; a non-string `error` by its JSON type."""
    error = ex.error
    if error is None:
        return None
    if isinstance(error, str):
        return _VOLATILE.sub("#", error)
    return f"<{_json_type(error)}>"


def body_shape(ex: Exchange) -> str:
    """The top-level keys of a JSON object with the JSON type of each value (never the values: they may change
    from one request to the next); other bodies by their kind."""
    body = ex.body_object
    if body is not None:
        return "{" + ", ".join(f"{k}: {_json_type(v)}" for k, v in sorted(body.items())) + "}"
    if not ex.body:
        return "(empty body)"
    media = ex.content_type.split(";")[0].strip().lower() or "no content type"
    return f"<{_json_type(ex.json)} body, {media}>" if ex.is_json_content_type else f"<non-JSON body, {media}>"


def features(ex: Exchange) -> dict[str, Any]:
    """What an answer is compared by."""
    return {"status": ex.status, "error": error_value(ex), "body shape": body_shape(ex)}


def differences(a: Exchange, b: Exchange, ignore: frozenset[str] = frozenset()) -> list[str]:
    """The features in which two answers differ (leaving out those known to change from request to request)."""
    fa, fb = features(a), features(b)
    return [name for name in FEATURES if name not in ignore and fa[name] != fb[name]]


def identifier_field(ex: Exchange) -> str:
    """Which field names the account in the request: `email` decides when present (DEPR-02)."""
    body = ex.request.json if ex.request.has_json else None
    if isinstance(body, dict) and "email" not in body and "username" in body:
        return "username"
    return "email"


def _usable(ex: Exchange) -> bool:
    return not issues_token(ex) and not is_policy_answer(ex)


_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number",
               type(None): "null"}


def _json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value), "not JSON")


# ----------------------------------------------------------------------------------------------- learning


@dataclass
class Signatures:
    """How the target answers a credential failure, and whether it answers validation failures differently.

    ``validation_probes``: unmistakably invalid requests. ``credential_probes``: credential failures -- an unknown
    account by `email`, one by `username`, the wrong password of the configured account when there is one.
    ``repeated``: a second answer to the first credential probe's kind of request (another unknown account by
    `email`, another password): what differs between the two changes per request and is left out of comparisons.
    """

    validation_probes: list[Exchange]
    credential_probes: list[Exchange]
    repeated: Exchange | None = None
    volatile: frozenset[str] = field(init=False)
    credential: dict[str, list[Exchange]] = field(init=False)
    # schema-invalid requests of the run, judged by classify(), answered unlike a credential failure: evidence that
    # the target tells validation from credential failures, whichever probe it happens to accept
    evidence: list[Exchange] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        probes = [*self.credential_probes, *([self.repeated] if self.repeated is not None else [])]
        usable = [ex for ex in probes if _usable(ex)]
        first = self.credential_probes[0] if self.credential_probes else None
        repeated = self.repeated
        if first is not None and repeated is not None and _usable(first) and _usable(repeated):
            self.volatile = frozenset(differences(first, repeated))
        else:
            self.volatile = frozenset()
        self.credential = {name: [ex for ex in usable if identifier_field(ex) == name] for name in IDENTIFIERS}

    @property
    def refusals(self) -> list[Exchange]:
        """The validation probes that were refused as such (no token, not a policy answer)."""
        return [ex for ex in self.validation_probes if _usable(ex)]

    def _unlike_credential(self, ex: Exchange) -> bool:
        """A refusal of a request's *fields* (its body a JSON object: what DEPR-03 and INPUT-05 judge) that differs
        from every learned credential answer for its own identifier field. A body parser's refusal of a body that is
        not an object says nothing of how the field validation answers."""
        body = ex.request.json if ex.request.has_json else None
        return isinstance(body, dict) and bool(self.credential[identifier_field(ex)]) and not self.like_credential(ex)

    def like_credential(self, ex: Exchange, field_name: str | None = None) -> bool:
        """The answer does not differ from some learned credential answer for the request's identifier field."""
        refs = self.credential[field_name or identifier_field(ex)]
        return any(not differences(ex, ref, self.volatile) for ref in refs)

    def distinguishable_for(self, field_name: str) -> bool:
        """Validation failures were seen answered unlike credential failures: by one probe at least, or by a
        schema-invalid request of the run (a probe answered like a credential failure was accepted as a login
        attempt, which says nothing of how refusals look)."""
        return bool(self.credential[field_name]) and any(
            self._unlike_credential(ex) for ex in (*self.refusals, *self.evidence))

    @property
    def distinguishable(self) -> bool:
        return self.distinguishable_for("email")

    def classify(self, ex: Exchange) -> Kind:
        """``success``, ``validation``, ``credential`` or ``unknown``."""
        if issues_token(ex):
            return "success"
        name = identifier_field(ex)
        if is_policy_answer(ex) or not self.credential[name]:
            return "unknown"
        if not self.like_credential(ex, name):
            if ex.request.expect == "invalid" and all(ex is not seen for seen in self.evidence):
                self.evidence.append(ex)  # the run's own evidence for the answers judged after it
            return "validation"
        return "credential" if self.distinguishable_for(name) else "unknown"

    def why_unknown(self, ex: Exchange) -> str:
        """Why :meth:`classify` could not decide *ex* (the first words of an inconclusive verdict)."""
        name = identifier_field(ex)
        if is_policy_answer(ex):
            return f"the answer ({self._fmt(ex)}) is a server error or a policy answer, not a judgment of the fields"
        if not self.credential[name]:
            return f"no credential failure for a login by {name} was observed to compare with"
        alike = [probe for probe in (*self.refusals, *self.evidence) if self.like_credential(probe)]
        if alike and not self.distinguishable_for(name):
            return ("every validation failure seen was answered like a credential failure: "
                    + "; ".join(f"{probe.request.purpose} got {self._fmt(probe)}" for probe in alike))
        return "no unmistakably invalid probe was refused as such, so a credential-like answer proves nothing"

    def _fmt(self, ex: Exchange) -> str:
        f = features(ex)
        shown = [str(f["status"])] + [f"error {f['error']!r}" if f["error"] is not None else "no error"]
        if "body shape" not in self.volatile:
            shown.append(f["body shape"])
        return " ".join(shown)

    def describe(self) -> str:
        """The learned answers, for a failure or an inconclusive verdict."""
        fmt = self._fmt
        parts = []
        for name in IDENTIFIERS:
            seen = sorted({fmt(ex) for ex in self.credential[name]})
            parts.append(f"credential failure by {name} = " + (" | ".join(seen) if seen else "not observed"))
        seen = sorted({fmt(ex) for ex in self.refusals})
        parts.append("validation probes = " + (" | ".join(seen) if seen else "none refused as such"))
        if self.evidence:
            parts.append(f"{len(self.evidence)} schema-invalid request(s) of the run answered unlike a credential "
                         f"failure (first: {self.evidence[0].request.purpose} got {fmt(self.evidence[0])})")
        if self.volatile:
            parts.append("changing per request: " + ", ".join(sorted(self.volatile)))
        return "; ".join(parts)
