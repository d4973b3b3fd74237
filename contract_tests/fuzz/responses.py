"""Schemathesis's built-in response checks, applied to exchanges the suite's client made.

``case.validate_response`` runs on an ``httpx.Response`` rebuilt from the recorded
:class:`~contract_tests.sending.exchange.Exchange` (nothing is sent again), and each schemathesis failure is
mapped onto the catalog requirement it violates.

Which built-in checks fit this contract, decided on purpose:

APPLIED
* ``not_a_server_error``           never 5xx: the requirement of the request's kind (INPUT-0x, AUTH-0x).
* ``content_type_conformance``     every documented response (201 and, in the clarified document, the
                                   ``default`` failure response) is application/json: RESP-04; another JSON
                                   media type (application/problem+json, any application/*+json) is JSON too,
                                   as RESP-04's statement says, and not reported.
* ``response_schema_conformance``  with the clarified document a 201 is a success body or a failure body
                                   and any other status a failure body (non-empty ``error``): RESP-02 for a
                                   response carrying a token, RESP-05 for one without, RESP-04 when the
                                   body is not a JSON object at all.

NOT APPLIED
* ``status_code_conformance``      vacuous on the clarified document (its ``default`` response admits
                                   every status); on the vendor document it flags every 4xx, which the
                                   contract allows (failures may be 4xx or 200/201 + ``error``).  The
                                   suite checks "201, 200 or 4xx" itself (RESP-05).
* ``response_headers_conformance`` no response headers are documented: nothing to check.
* ``negative_data_rejection``      schemathesis's negative mode also mutates the ``Authorization`` header
                                   and adds unexpected headers, which the login endpoint legally ignores,
                                   and it would make a 4xx a MUST where INPUT-06 is a SHOULD.  The suite
                                   classifies bodies against the clarified schema and the INPUT-06
                                   invariant judges schema-invalid requests at the right level.
* ``positive_data_acceptance``     a schema-valid login with random credentials is a credential failure
                                   (401, or 201 + ``error``), and a server may reject unknown extra
                                   properties with 400 (INPUT-10): a valid schema does not mean success.
* ``missing_required_header``,     the vendor document puts bearerAuth on the login operation, but login is
  ``ignored_auth``                 how a client obtains a token: a login without Authorization must work.
                                   Both also send requests of their own, outside the suite's client.
* ``unsupported_method``,          send requests of their own (outside pacing, request cap, budget and
  ``use_after_free``,              redaction); other methods are HTTP-01's hand-written test, and the
  ``ensure_resource_availability`` login creates no resource to revisit.
* ``max_response_time``            the client's ``--timeout`` already bounds every request.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import httpx

from ..judging import checks
from ..judging.levels import answer_shape_level
from ..sending.exchange import Exchange
from .strategies import login_operation


# The headers that describe the body as it travelled (its content coding and its framing). An Exchange holds the body
# as the client read it, already decoded: a response rebuilt from that body must not carry them, or it is decoded
# a second time (a gzip'd answer would raise "incorrect header check").
_WIRE_FRAMING = ("content-encoding", "content-length", "transfer-encoding")


def decoded_headers(headers: httpx.Headers) -> httpx.Headers:
    """*headers* as they describe the decoded body an Exchange holds (content coding and framing left out)."""
    return httpx.Headers([(k, v) for k, v in headers.multi_items() if k.lower() not in _WIRE_FRAMING])


def _checks():
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

    return [not_a_server_error, content_type_conformance, response_schema_conformance]


@dataclass(frozen=True)
class Finding:
    requirement: str
    expected: str
    actual: str
    level: str | None = None


def _success_level(ex: Exchange) -> str | None:
    """The level of a schema violation on a success, judged as RESP-02's own checks judge the body: MUST for what the
    documented client cannot use, SHOULD for null user fields (read as empty), none for `"error": null` (the vendor
    types `error` as a string, but the client's *string reads null as no error; RESP-03 judges `error`)."""
    for check, level in ((checks.success_shape, "MUST"), (checks.no_null_fields, "SHOULD")):
        try:
            check(ex)
        except checks.Mismatch:
            return level
    return None


def _actual(failure) -> str:
    lines = [line.strip() for line in (failure.message or "").splitlines() if line.strip()]
    return "; ".join(lines[:4])[:300] or failure.title


def schema_findings(ex: Exchange, owner: str) -> list[Finding]:
    """Run the applicable schemathesis checks on *ex*; *owner* is the requirement a 5xx violates."""
    if ex.status is None:
        return []
    from schemathesis.core.failures import Failure, FailureGroup
    from schemathesis.openapi.checks import JsonSchemaError

    url = ex.base_url.rstrip("/") + ex.request.path
    response = httpx.Response(ex.status, headers=decoded_headers(ex.headers), content=ex.body,
                              request=httpx.Request(ex.request.method, url))
    response.elapsed = datetime.timedelta(seconds=ex.elapsed)
    case = login_operation().Case(media_type="application/json")
    try:
        case.validate_response(response, checks=_checks())
        return []
    except FailureGroup as group:
        failures = list(group.exceptions)
    except Failure as single:
        failures = [single]
    findings: list[Finding] = []
    for failure in failures:
        what = f"a response conforming to the clarified OpenAPI document (schemathesis {failure.code}: {failure.title})"
        name = type(failure).__name__
        if name == "ServerError":
            findings.append(Finding(owner, "a status below 500 (no server error)", f"status {ex.status}"))
        elif name == "UndefinedContentType" and ex.is_json_content_type and ex.body_object is not None:
            continue  # RESP-04 asks for a JSON media type; application/problem+json and other +json types are JSON
        elif isinstance(failure, JsonSchemaError) and ex.body_object is not None:
            if ex.token:
                level = _success_level(ex)
                if level is not None:
                    findings.append(Finding("RESP-02", what, _actual(failure), level))
            else:
                findings.append(Finding("RESP-05", what, _actual(failure), answer_shape_level(ex)))
        else:  # content type missing/undocumented/malformed (SHOULD when the body is a JSON object), body not JSON
            level = "SHOULD" if ex.body_object is not None else answer_shape_level(ex)
            findings.append(Finding("RESP-04", what, _actual(failure), level))
    merged: dict[str, Finding] = {}  # one finding per requirement (a body can break several schema keywords)
    for f in findings:
        if f.requirement in merged:
            first = merged[f.requirement]
            f = Finding(f.requirement, first.expected, f"{first.actual}; {f.actual}"[:500], first.level)
        merged[f.requirement] = f
    return list(merged.values())
