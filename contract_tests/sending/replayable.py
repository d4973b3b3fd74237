"""A request as data a report can keep and ``replay`` can send again (conformance.json, schema 1.2).

Secrets are kept as their labels (``{"secret": "<LOGIN_PASSWORD>"}``) and re-supplied from the environment by
the replay; a request holding any other value the redactor would hide (a value derived from a secret that is
not a :class:`Secret`, an issued token) or a body too large to keep is recorded as unavailable, with the reason.
The data is stored as ASCII JSON text, so no rendering of the report (control characters escaped, secrets
redacted) can change the bytes that will be sent again.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Callable

from .exchange import LoginRequest, Members
from .secrets import Redactor, Secret

MAX_KEPT = 8 * 1024  # characters of request data kept per request
_FLAGS = ("expect", "real_account", "requirement", "allow_captcha_error", "accept_transport_error", "captcha")


class Unavailable(ValueError):
    """The request cannot be kept for a replay; the message says why."""


def _encode(value: Any) -> Any:
    if isinstance(value, Secret):
        return {"secret": value.label}
    if isinstance(value, Members) and value.repeats_a_name:
        raise Unavailable("an object whose member names repeat, which the report's JSON cannot keep")
    if isinstance(value, dict):
        if "secret" in value and len(value) == 1:
            raise Unavailable("a body whose object looks like a secret placeholder")
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise Unavailable(f"a value of type {type(value).__name__}")


def _pairs(pairs) -> list:
    return [[k, _encode(v)] for k, v in pairs]


def to_text(request: LoginRequest, redactor: Redactor) -> str:
    """The request as ASCII JSON text, or ``{"unavailable": why}``."""
    try:
        data: dict[str, Any] = {"method": request.method, "path": request.path, "purpose": request.purpose,
                                "headers": {k: _encode(v) for k, v in request.headers.items()},
                                "params": _pairs(request.params), "content_type": request.content_type}
        data.update({flag: getattr(request, flag) for flag in _FLAGS})
        plain = ""
        if request.raw is not None:
            data["body"] = {"base64": base64.b64encode(request.raw).decode()}
            plain = request.raw.decode("utf-8", "replace")
        elif request.has_json:
            data["body"] = {"json": _encode(request.json)}
        elif request.form is not None:
            data["body"] = {"form": _pairs(request.form)}
        elif request.multipart is not None:
            data["body"] = {"multipart": _pairs(request.multipart)}
        text = json.dumps(data, ensure_ascii=True, allow_nan=False)
    except (Unavailable, ValueError, TypeError) as exc:
        return _unavailable(f"it holds {exc}" if isinstance(exc, Unavailable) else f"not JSON-encodable ({exc})")
    if len(text) > MAX_KEPT:
        return _unavailable(f"{request.size} bytes of body, too large to keep in the report")
    readable = json.dumps(data, ensure_ascii=False, allow_nan=False).encode("utf-8", "surrogatepass").decode(
        "utf-8", "replace")
    if any(redactor(t) != t for t in (text, readable, plain) if t):
        return _unavailable("it holds a value derived from a secret or an issued token, which the report never keeps")
    return text


def _unavailable(why: str) -> str:
    return json.dumps({"unavailable": why}, ensure_ascii=True)


def from_text(text: str, secret: Callable[[str], Secret]) -> LoginRequest:
    """Rebuild a request; *secret* maps a label to its value from the environment (raises Unavailable)."""
    data = json.loads(text)
    if "unavailable" in data:
        raise Unavailable(data["unavailable"])

    def decode(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"secret"}:
                return secret(value["secret"])
            return {k: decode(v) for k, v in value.items()}
        if isinstance(value, list):
            return [decode(v) for v in value]
        return value

    kwargs: dict[str, Any] = {flag: data[flag] for flag in _FLAGS if flag in data}
    body = data.get("body") or {}
    if "base64" in body:
        kwargs["raw"] = base64.b64decode(body["base64"])
    elif "json" in body:
        kwargs["json"] = decode(body["json"])
    elif "form" in body:
        kwargs["form"] = [(k, decode(v)) for k, v in body["form"]]
    elif "multipart" in body:
        kwargs["multipart"] = [(k, decode(v)) for k, v in body["multipart"]]
    return LoginRequest(
        purpose=data.get("purpose", "replayed request"), method=data["method"], path=data["path"],
        headers={k: decode(v) for k, v in data.get("headers", {}).items()},
        params=[(k, decode(v)) for k, v in data.get("params", [])], content_type=data.get("content_type"),
        **kwargs,
    )
