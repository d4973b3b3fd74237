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

# Body limits real servers ship with, which the size probes straddle and never sit on (a limit is inclusive in some
# stacks and exclusive in others: a probe of exactly the limit's size says nothing about the limit).
REAL_BODY_LIMITS: dict[int, str] = {
    16 * KIB: "nginx `client_max_body_size 16k` as deployments set it; HAProxy's default `tune.bufsize` (what "
              "`option http-buffer-request` holds); AWS WAF's default body inspection size behind CloudFront",
    64 * KIB: "the bundled reference server's limit; WAF body inspection raised to its maximum",
    100 * KIB: "Express / body-parser `json()` default `limit: '100kb'` (NestJS on Express inherits it)",
    MIB: "body-parser `limit: '1mb'`, koa-bodyparser `jsonLimit: '1mb'`, Fastify `bodyLimit`, hapi "
         "`payload.maxBytes`, Go `http.MaxBytesReader(w, r.Body, 1<<20)` (reading exactly n bytes succeeds), nginx's "
         "default `client_max_body_size 1m` (413 only for a Content-Length above it)",
    2 * MIB: "Tomcat `maxSwallowSize`, Spring Boot `server.tomcat.max-http-form-post-size`",
    2_621_440: "Django `DATA_UPLOAD_MAX_MEMORY_SIZE` (2.5 MB; request.body raises RequestDataTooBig, a 400)",
}
# Above every probe: ASP.NET Core Kestrel's `MaxRequestBodySize` (30,000,000 bytes), PHP's `post_max_size` (8 MB), API
# gateways (10 MB and more): a server behind only those parses the oversized probe, which INPUT-08 reports.
OVERSIZED = 3 * MIB  # INPUT-08's body, 3,145,728 bytes: clearly above every limit of REAL_BODY_LIMITS


def client_bound() -> int:
    """The largest body the documented client plausibly sends (clarification documented-client)."""
    return documented_client()["max-body-bytes"]


def size_probes() -> list[int]:
    """Body sizes on both sides of the client's bound: half of it and the bound itself (within: MUST; the bound is
    the documented client's, so it is probed on the dot), then beyond it on both sides of the real limits above
    (never on one): 12 KiB and 20 KiB straddle the 16 KiB caps, 80 KiB lies between the 64 KiB limits and
    body-parser's 100 kB, 120 KiB above that."""
    bound = client_bound()
    return [bound // 2, bound, 12 * KIB, 20 * KIB, 80 * KIB, 120 * KIB]


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
