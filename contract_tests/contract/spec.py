"""Spec loading: the vendor document, our clarifications overlay, the schemas derived from them.

``spec/login.openapi.json`` is the vendor's document, nothing of ours.  ``spec/clarifications.yaml``
holds the suite's own clarifications as an overlay; :func:`clarified_document` applies it to a deep copy
of the vendor document, and every node it adds carries ``x-clarification: <id>`` (a scalar it adds is named in
its parent's ``x-clarified: {<key>: <id>}``).

Loads are cached; every public function returns a fresh copy, so callers may mutate what they get.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import importlib.resources
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .yaml_loading import load_yaml

if TYPE_CHECKING:
    import jsonschema

__all__ = [
    "LOGIN_PATH",
    "SPEC_DIR",
    "SpecError",
    "captcha_settings",
    "clarifications",
    "clarified_document",
    "documented_client",
    "error_values",
    "failure_schema",
    "FieldRule",
    "request_fields",
    "request_properties",
    "request_schema",
    "spec_digest",
    "success_schema",
    "validator",
    "vendor_document",
]

LOGIN_PATH = "/api/user/login"
# spec/ of the repository, installed as a package: the same files from a checkout, a wheel or an sdist, from any cwd
SPEC_DIR = importlib.resources.files("contract_tests.spec_files")

_VENDOR_FILE = "login.openapi.json"
_CLARIFICATIONS_FILE = "clarifications.yaml"
_REQUIREMENTS_FILE = "requirements.yaml"
# The files whose bytes make up spec_digest(), in this order.
_DIGEST_FILES = (_VENDOR_FILE, _CLARIFICATIONS_FILE, _REQUIREMENTS_FILE)

_MARK = "x-clarification"
_SCALAR_MARK = "x-clarified"  # on a node the overlay added scalar keys to: {key: clarification id}

_OPERATION = ("paths", LOGIN_PATH, "post")
_REQUEST_SCHEMA = (*_OPERATION, "requestBody", "content", "application/json", "schema")
_RESPONSES = (*_OPERATION, "responses")
_SUCCESS_201_SCHEMA = (*_RESPONSES, "201", "content", "application/json", "schema")
_FAILURE_SCHEMA = (*_RESPONSES, "default", "content", "application/json", "schema")


class SpecError(ValueError):
    """The spec files are inconsistent (bad pointer, overlay overwriting a vendor statement, ...)."""


# --------------------------------------------------------------------------------------- loading


@functools.cache
def _vendor() -> dict[str, Any]:
    return json.loads((SPEC_DIR / _VENDOR_FILE).read_text(encoding="utf-8"))


@functools.cache
def _overlay() -> dict[str, Any]:
    data = load_yaml((SPEC_DIR / _CLARIFICATIONS_FILE).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("clarifications"), list):
        raise SpecError(f"{_CLARIFICATIONS_FILE}: expected a mapping with a `clarifications` list")
    seen: set[str] = set()
    for index, item in enumerate(data["clarifications"]):
        where = f"{_CLARIFICATIONS_FILE}: clarifications[{index}]"
        if not isinstance(item, dict):
            raise SpecError(f"{where}: not a mapping")
        missing = [k for k in ("id", "reason", "source", "target", "add") if k not in item]
        if missing:
            raise SpecError(f"{where}: missing {', '.join(missing)}")
        if item["id"] in seen:
            raise SpecError(f"{where}: duplicate id {item['id']!r}")
        seen.add(item["id"])
        if not isinstance(item["add"], dict) or not item["add"]:
            raise SpecError(f"{where} ({item['id']}): `add` must be a non-empty mapping")
    return data


@functools.cache
def _clarified() -> dict[str, Any]:
    doc = copy.deepcopy(_vendor())
    vendor = _vendor()
    for item in _overlay()["clarifications"]:
        cid = item["id"]
        tokens = _parse_pointer(item["target"])
        # The target must be a node of the VENDOR document: an overlay refines vendor statements.
        try:
            _resolve(vendor, tokens)
        except SpecError as exc:
            raise SpecError(f"clarification {cid!r}: target {item['target']!r} not in the vendor document") from exc
        node = _resolve(doc, tokens)
        if not isinstance(node, dict):
            raise SpecError(f"clarification {cid!r}: target {item['target']!r} is not an object")
        for key, value in copy.deepcopy(item["add"]).items():
            if key in node or key == _SCALAR_MARK:
                raise SpecError(f"clarification {cid!r}: {item['target']}/{key} already exists; overlays only add")
            node[key] = _stamp(value, cid, node, key)
    return doc


def _stamp(value: Any, cid: str, parent: dict, key: str) -> Any:
    """Mark an added node (an object, or each object of an added list) with the clarification id; an added scalar
    (``required: true``) cannot carry a key, so its parent records it: ``x-clarified: {<key>: <id>}``."""
    if isinstance(value, dict):
        value.setdefault(_MARK, cid)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for v in value:
            v.setdefault(_MARK, cid)
    elif isinstance(value, (bool, int, float, str)):
        parent.setdefault(_SCALAR_MARK, {})[key] = cid
    else:
        raise SpecError(f"clarification {cid!r}: added values must be objects, lists of objects or scalars")
    return value


def _parse_pointer(pointer: str) -> tuple[str, ...]:
    if pointer.startswith("#"):
        pointer = pointer[1:]
    if pointer == "":
        return ()
    if not pointer.startswith("/"):
        raise SpecError(f"not a JSON pointer: {pointer!r}")
    return tuple(t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/"))


def _resolve(doc: Any, tokens: tuple[str, ...]) -> Any:
    node = doc
    for token in tokens:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise SpecError(f"unresolvable pointer /{'/'.join(tokens)} (at {token!r})")
    return node


def _success_branch() -> dict[str, Any]:
    for branch in _resolve(_clarified(), _SUCCESS_201_SCHEMA).get("anyOf", []):
        if branch.get("title") == "success":
            return branch
    raise SpecError("clarified document has no success branch in the 201 schema")


def _operation_extension(name: str) -> Any:
    try:
        return _resolve(_clarified(), (*_OPERATION, name))
    except SpecError as exc:
        raise SpecError(f"clarified document lacks {name}") from exc


# ---------------------------------------------------------------------------------------- public


def vendor_document() -> dict[str, Any]:
    """The vendor's OpenAPI 3.0 document, exactly as documented (a fresh copy)."""
    return copy.deepcopy(_vendor())


def clarifications() -> list[dict[str, Any]]:
    """The suite's clarifications (id, title, statement, reason, source, target, add), in file order."""
    return copy.deepcopy(_overlay()["clarifications"])


def clarified_document() -> dict[str, Any]:
    """Deep copy of the vendor document with our overlay applied.

    OURS, not the vendor's: the request schema gains ``anyOf`` (email or username), the 201 schema gains
    ``anyOf`` (success body | failure body), the operation gains a ``default`` response (failure body,
    so schema-driven tools accept 4xx failures) and the extensions ``x-failure-signalling``,
    ``x-error-values`` and ``x-captcha``.  Every added node carries ``x-clarification``.
    """
    return copy.deepcopy(_clarified())


def request_schema() -> dict[str, Any]:
    """The clarified request-body schema (vendor schema + one of email/username required)."""
    return copy.deepcopy(_resolve(_clarified(), _REQUEST_SCHEMA))


@dataclass(frozen=True)
class FieldRule:
    """What the clarified request schema says about one body property (the boundaries the tests probe)."""

    name: str
    type: str | None
    max_length: int | None
    format: str | None
    required: bool
    deprecated: bool
    length_unit: str | None  # clarification length-in-code-points: what maxLength counts


def request_fields() -> dict[str, FieldRule]:
    """The request body's properties as the shipped document (vendor + clarifications) states them."""
    schema = _resolve(_clarified(), _REQUEST_SCHEMA)
    required = set(schema.get("required", []))
    return {
        name: FieldRule(name, prop.get("type"), prop.get("maxLength"), prop.get("format"), name in required,
                        bool(prop.get("deprecated")), (prop.get("x-length") or {}).get("unit"))
        for name, prop in schema.get("properties", {}).items()
    }


def success_schema() -> dict[str, Any]:
    """Schema of a successful login body (token and user_uuid non-empty strings, no error)."""
    return copy.deepcopy(_success_branch())


def failure_schema() -> dict[str, Any]:
    """Schema of a failure body: a JSON object with a non-empty string ``error``."""
    return copy.deepcopy(_resolve(_clarified(), _FAILURE_SCHEMA))


def error_values() -> list[str]:
    """Error values observed in the vendor's web client (informative: other non-empty strings are legal)."""
    return list(_operation_extension("x-error-values")["values"])


def captcha_settings() -> dict[str, str]:
    """``{"header": <captcha token request header>, "error_regex": <regex matching a captcha-required error>}``."""
    ext = _operation_extension("x-captcha")
    regex = ext["error-pattern"]
    re.compile(regex)
    return {"header": ext["header"], "error_regex": regex}


def documented_client() -> dict[str, Any]:
    """What the documented client sends (clarification documented-client): ``{"content-type", "body",
    "max-body-bytes"}``; requests within these bounds are the MUST scope of RESP-04/RESP-05."""
    ext = copy.deepcopy(_operation_extension("x-documented-client"))
    if not isinstance(ext.get("max-body-bytes"), int) or ext["max-body-bytes"] <= 0:
        raise SpecError("x-documented-client: max-body-bytes must be a positive integer")
    return ext


def request_properties() -> dict[str, dict[str, Any]]:
    """The request body's properties as the clarified document declares them: ``{name: schema}``, each schema with
    ``required: bool`` added (maxLength, format and type as documented)."""
    schema = _resolve(_clarified(), _REQUEST_SCHEMA)
    required = set(schema.get("required", []))
    return {name: {**copy.deepcopy(prop), "required": name in required}
            for name, prop in schema.get("properties", {}).items()}


def spec_digest() -> str:
    """``sha256:<hex>`` over the bytes of the vendor document, the clarifications and the requirement catalog."""
    return "sha256:" + _digest_files(_DIGEST_FILES)


def _digest_files(names: tuple[str, ...]) -> str:
    h = hashlib.sha256()
    for name in names:
        data = (SPEC_DIR / name).read_bytes()
        h.update(f"{name}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


# ----------------------------------------------------------------------------------- validation

_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f.]+(\.[^@\s\x00-\x1f\x7f.]+)*$")


def _format_checker() -> jsonschema.FormatChecker:
    import jsonschema  # imported when the first response is judged, not at start-up

    checker = jsonschema.FormatChecker()

    # The stock check is only `"@" in value`; require one @ between a non-empty local part and a
    # non-empty domain of non-empty dot-separated labels, no whitespace or control characters.
    @checker.checks("email")
    def _is_email(value: object) -> bool:
        if not isinstance(value, str):
            return True
        return bool(_EMAIL.match(value)) and len(value) <= 320

    return checker


def validator(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    """A Draft 2020-12 validator for ``schema`` that really checks ``format`` (email included)."""
    import jsonschema

    cls = jsonschema.Draft202012Validator
    cls.check_schema(schema)
    return cls(schema, format_checker=_format_checker())
