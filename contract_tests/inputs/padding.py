"""Bodies of a chosen size, built from what the shipped OpenAPI document declares (contract/spec.py).

The size probes of RESP-04/RESP-05 pad a documented string property without maxLength (a long password: something
a client can send); INPUT-08 pads a property the document does not declare, so a server that parses the body and
ignores unknown properties answers exactly as it answers the same login without padding.
"""

from __future__ import annotations

import json
from typing import Any

from ..contract.spec import documented_client, request_properties

KIB = 1024
MIB = 1024 * KIB
PAD = "a"  # one byte in UTF-8, one code point


def client_bound() -> int:
    """The largest body the documented client plausibly sends (clarification documented-client)."""
    return documented_client()["max-body-bytes"]


def size_probes() -> list[int]:
    """Body sizes on both sides of the client's bound: half of it and the bound itself (within: MUST), twice it (at
    a common proxy cap of 16 KiB, which lets it through), two and a half times it (just over that cap) and eight
    times it (64 KiB, the bound before issue 12)."""
    bound = client_bound()
    return [bound // 2, bound, 2 * bound, 5 * bound // 2, 8 * bound]


def unbounded_string_property() -> str:
    """A required string property the document gives no maxLength (the password): padding it is a request the
    documented client can send."""
    props = request_properties()
    found = [name for name, schema in props.items()
             if schema.get("type") == "string" and "maxLength" not in schema and "format" not in schema]
    required = [name for name in found if props[name]["required"]]
    if not (required or found):
        raise LookupError("the request schema declares no string property without maxLength and format")
    return (required or found)[0]


def undeclared_property() -> str:
    """A property name the request schema does not declare."""
    declared = set(request_properties())
    return next(name for name in ("padding", "conformance_padding", "x_padding") if name not in declared)


def padded(body: dict[str, Any], field: str, size: int) -> dict[str, Any]:
    """*body* with *field* set to a run of one-byte characters so that its JSON encoding, as the client sends it,
    is exactly *size* bytes."""
    base = {**body, field: ""}
    length = len(json.dumps(base, ensure_ascii=False).encode("utf-8"))
    if size < length:
        raise ValueError(f"a body of {size} bytes cannot hold {sorted(body)} ({length} bytes without padding)")
    return {**body, field: PAD * (size - length)}
