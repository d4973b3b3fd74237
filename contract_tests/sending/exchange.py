"""What the suite sends (LoginRequest) and what came back (Exchange); their human and curl forms are reproduction.py's."""

from __future__ import annotations

import copy
import functools
import itertools
import json
import re
import urllib.parse
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import httpx

from ..contract.spec import documented_client
from . import reproduction
from .reproduction import SENTINEL, clip
from .secrets import Redactor, Secret
from .transport import TransportFailure

LOGIN_PATH = "/api/user/login"
Expect = Literal["success", "failure", "invalid", "any"]
_MISSING = object()


_INVISIBLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """Control characters (NUL, ESC, bidi overrides, ...) as visible escapes: no rendering may carry them raw."""
    return _INVISIBLE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                          else f"\\u{ord(m.group()):04x}", text)


class NotJSON:
    """Marker for a response body that is not JSON."""

    def __repr__(self) -> str:
        return "<not JSON>"


NOT_JSON = NotJSON()


class Members(dict):
    """A JSON object given as its members in order, where a name may repeat: ``Members([("email", a), ("email",
    b)])`` goes on the wire as ``{"email": a, "email": b}`` (json.dumps, C encoder or not, takes a dict subclass's
    ``items()``). As a dict it holds the last value of each name, as Python's json reads it back. RFC 8259 section 4
    leaves what a receiver does with repeated names "unpredictable"; the documented client cannot send one (a Go map
    holds a name once)."""

    def __init__(self, members) -> None:
        members = list(members)
        super().__init__(members)
        self._members = members

    def items(self):  # every member, repeated names included
        return list(self._members)

    @property
    def repeats_a_name(self) -> bool:
        return len(self._members) != len(self)


@dataclass(eq=False)
class LoginRequest:
    """One request of the suite, with the intent the invariants judge it by.

    ``expect``: ``success`` (right credentials), ``failure`` (well-formed, wrong credentials),
    ``invalid`` (schema-invalid), ``any`` (outcome judged by the test only).
    ``real_account``: the body names the configured account, so a failure spends the budget.
    """

    purpose: str
    expect: Expect
    json: Any = _MISSING
    raw: bytes | None = None
    form: list[tuple[str, Any]] | None = None
    multipart: list[tuple[str, Any]] | None = None
    content_type: str | None = None
    method: str = "POST"
    path: str = LOGIN_PATH
    headers: dict[str, Any] = field(default_factory=dict)
    params: list[tuple[str, Any]] = field(default_factory=list)
    real_account: bool = False
    allow_captcha_error: bool = False
    requirement: str | None = None  # the requirement a 5xx on this request violates (default: the test's)
    accept_transport_error: bool = False  # the test judges a timeout itself (INPUT-08)
    raw_rate_limit: bool = False  # hand 429s and lockouts to the test instead of backing off (throttling probe)
    captcha: bool = True  # add LOGIN_CAPTCHA_TOKEN to this POST; False: the test controls the header (captcha probe)

    @property
    def spends_budget(self) -> bool:
        """It names the configured account and may be a failed login (the failed-login budget counts it)."""
        return self.real_account and self.expect != "success"

    # -- wire form --------------------------------------------------------------------------
    @property
    def has_json(self) -> bool:
        return self.json is not _MISSING

    @property
    def effective_content_type(self) -> str | None:
        if self.content_type is not None:
            return self.content_type or None
        if self.has_json:
            return "application/json"
        if self.form is not None:
            return "application/x-www-form-urlencoded"
        return None  # multipart: httpx sets it with the boundary

    def json_text(self, secrets: Literal["value", "label"] = "value") -> str:
        """The JSON body as sent (*secrets* "value") or as shown ("label": each secret as its label)."""
        return self.json_text_and_secrets(secrets)[0]

    def json_text_and_secrets(self, secrets: Literal["value", "label", "sentinel"] = "sentinel",
                              ) -> tuple[str, list[Secret]]:
        """The JSON body and the secrets in it, in order; "sentinel": each secret as a placeholder a reproduction
        replaces with its shell expression (reproduction.py)."""
        sentinels: list[Secret] = []

        def walk(obj):
            if isinstance(obj, Secret):
                if secrets == "value":
                    return obj.value
                if secrets == "label":
                    return obj.label
                sentinels.append(obj)
                return SENTINEL.format(len(sentinels) - 1)
            if isinstance(obj, Members):
                return Members((walk(k), walk(v)) for k, v in obj.items())
            if isinstance(obj, dict):
                return {walk(k): walk(v) for k, v in obj.items()}
            if isinstance(obj, (list, tuple)):
                return [walk(v) for v in obj]
            return obj

        plain = walk(self.json)
        try:
            text = json.dumps(plain, ensure_ascii=False)
            text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates only travel as \u escapes
            text = json.dumps(plain)
        return text, sentinels

    def body_bytes(self) -> bytes | None:
        if self.raw is not None:
            return self.raw
        if self.has_json:
            return self.json_text("value").encode("utf-8", "surrogatepass")
        if self.form is not None:
            return urllib.parse.urlencode([(k, _value(v)) for k, v in self.form]).encode()
        return None

    def httpx_kwargs(self) -> dict[str, Any]:
        headers = {k: _value(v) for k, v in self.headers.items()}
        ctype = self.effective_content_type
        kwargs: dict[str, Any] = {"method": self.method, "url": self.path}
        if self.multipart is not None:
            kwargs["files"] = {k: (None, _value(v)) for k, v in self.multipart}
        else:
            body = self.body_bytes()
            if body is not None:
                kwargs["content"] = body
            if ctype:
                headers["Content-Type"] = ctype
        if self.params:
            kwargs["params"] = [(k, _value(v)) for k, v in self.params]
        kwargs["headers"] = headers
        return kwargs

    @property
    def size(self) -> int:
        body = self.body_bytes()
        return len(body) if body is not None else 0

    @property
    def body_is_utf8(self) -> bool:
        """The body is valid UTF-8 (no body at all counts as valid); encoded surrogates are not UTF-8."""
        try:
            (self.body_bytes() or b"").decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True

    @property
    def sendable_by_documented_client(self) -> bool:
        """Whether the vendor's Go client could send this request (clarification documented-client): a POST of a
        JSON object of string values, valid UTF-8 without lone surrogates, as application/json, within its bound."""
        client = _documented_client()
        ctype = (self.effective_content_type or "").split(";")[0].strip().lower()
        if self.method != "POST" or ctype != client["content-type"] or self.multipart is not None:
            return False
        body = self.body_bytes()
        if body is None or len(body) > client["max-body-bytes"]:
            return False
        try:
            data = json.loads(body.decode("utf-8"), object_pairs_hook=_unless_a_name_repeats)
        except (ValueError, RecursionError):  # UnicodeDecodeError included; a repeated name (a Go map holds a name
            return False  # once); nesting deeper than Python's recursion limit (RecursionError is no ValueError)
        return isinstance(data, dict) and all(
            isinstance(v, str) and _utf8_encodable(k) and _utf8_encodable(v) for k, v in data.items())

    # -- human form (reproduction.py) --------------------------------------------------------
    def describe(self, base_url: str, limit: int = 400) -> str:
        """One line: method, URL, headers and the body, secrets as their labels, long runs of a character counted."""
        return reproduction.describe(self, base_url, limit)

    def curl(self, base_url: str) -> str:
        """A copy-pasteable command; secrets appear as shell expressions, never as values."""
        return reproduction.curl(self, base_url)


@functools.cache
def _documented_client() -> dict[str, Any]:
    return documented_client()


def _unless_a_name_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) != len(pairs):
        raise ValueError("a repeated member name")
    return data


def _utf8_encodable(text: str) -> bool:
    """False for a string holding a lone surrogate (only a \\ud800-style escape can carry one)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _value(v: Any) -> Any:
    return v.value if isinstance(v, Secret) else v


_SEQUENCE = itertools.count(1)


@dataclass(eq=False)
class Exchange:
    """A request, the response (or the transport error) and how long it took."""

    request: LoginRequest
    base_url: str
    redactor: Redactor
    status: int | None = None
    headers: httpx.Headers = field(default_factory=httpx.Headers)
    body: bytes = b""
    elapsed: float = 0.0
    failure: TransportFailure | None = None  # no complete answer: what happened on the wire (transport.py)
    attempts: int = 1
    truncated: bool = False  # the body was longer than the client keeps (ClientLimits.max_body); the rest was discarded
    backoff: str | None = None  # the client met a rate limit or a lockout here and backed off ("rate limit" / "lockout")
    backoff_note: str | None = None  # how the back-off read the answer (an unreadable Retry-After)
    retried: list["Exchange"] = field(default_factory=list)  # the answers the client backed off from or retried
    # a gateway answer (502/503/504) whose identical retry was answered without a server error: a proxy's page on a
    # passing upstream blip, kept in the retry's ``retried`` as evidence
    gateway_blip: bool = False
    gateway_unconfirmed: bool = False  # a gateway answer whose identical retry was not sent, or met with a control
    # request that got a gateway answer too (the upstream unavailable)
    sent_ahead: bool = False  # sent before its test ran (--in-flight), judged when it ran
    before: list["Exchange"] = field(default_factory=list)  # an interleaved login the client sent first, on its behalf
    counted: bool = False  # a failed login on the account, counted in the failed-login budget
    # the order the process made its exchanges in: what the judging side keys an exchange by (never reused)
    seq: int = field(default_factory=lambda: next(_SEQUENCE), compare=False)
    # the run's judging ledger (contract_tests/judging/ledger.py) this exchange is judged in; opaque here: the client
    # stamps the one the run gave it
    ledger: Any = field(default=None, compare=False, repr=False)

    @property
    def transport_error(self) -> str | None:
        """The one line saying why no complete answer came (None: it came); checks branch on ``failure.kind``."""
        return None if self.failure is None else self.failure.message

    @cached_property
    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError, RecursionError):  # a body echoing deep nesting is not JSON to us
            return NOT_JSON

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def is_json_content_type(self) -> bool:
        media = self.content_type.split(";")[0].strip().lower()
        return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))

    @property
    def body_object(self) -> dict | None:
        return self.json if isinstance(self.json, dict) else None

    @property
    def error(self) -> Any:
        body = self.body_object
        return None if body is None else body.get("error")

    @property
    def token(self) -> str | None:
        body = self.body_object
        token = None if body is None else body.get("token")
        return token if isinstance(token, str) and token else None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def describe_request(self) -> str:
        return visible(self.redactor(self.request.describe(self.base_url)))

    def describe_response(self, limit: int = 600) -> str:
        if self.transport_error:
            return f"no response: {self.transport_error}"
        interesting = [
            f"{k}: {v}"
            for k, v in self.headers.items()
            if k.lower() not in {"date", "content-length", "server"}
        ]
        body = clip(self.text, limit) if self.body else "(empty body)"
        if self.truncated:
            body += f" (body cut at {len(self.body)} bytes: the rest was not read)"
        if self.backoff_note:
            body += f" ({self.backoff_note})"
        blips = self.blips_note()
        if blips:
            body += f" ({blips})"
        return visible(self.redactor(f"status {self.status}  [{'; '.join(interesting)}]  {body}"))

    def blips_note(self) -> str | None:
        """What the answers this one retried after a gateway blip said (None: none)."""
        blips = [ex for ex in self.retried if ex.gateway_blip]
        if not blips:
            return None
        said = "; ".join(f"status {ex.status} {ex.content_type.split(';')[0].strip() or '(no Content-Type)'} "
                         f"{clip(ex.text, 80)!r}" for ex in blips)
        return ("this is the identical retry of a gateway answer on a passing blip, not charged as a server error: "
                + said)

    def curl(self) -> str:
        return self.redactor(self.request.curl(self.base_url))

    def evidence(self, limit: int = 2000) -> dict:
        """A JSON-ready, redacted record for reports (built once per exchange: many observations cite one)."""
        cache = self.__dict__.setdefault("_evidence_cache", {})
        if limit not in cache:
            cache[limit] = self._evidence(limit)
        return copy.deepcopy(cache[limit])

    def _evidence(self, limit: int) -> dict:
        return {
            "request": self.describe_request(),
            "response": {
                "status": self.status,
                "headers": {visible(k): visible(self.redactor(v)) for k, v in self.headers.items()},
                "body": visible(self.redactor(clip(self.text, limit))),
                "transport_error": self.transport_error,
                "transport_failure": None if self.failure is None else self.failure.kind.value,
                "truncated": self.truncated,
                "retried_after_gateway_blip": self.blips_note(),
            },
            "elapsed_ms": round(self.elapsed * 1000, 1),
            "reproduce": self.curl(),
        }
