"""The catalog's level principle (spec/requirements.yaml, `level_principle`) applied to one exchange: at which level
a clause about the answer's shape is judged.

MUST is for what breaks the documented client on a request it sends; answers to requests it cannot send, and
answers that infrastructure in front of the API produces itself, are judged at SHOULD.
"""

from __future__ import annotations

from ..sending.exchange import Exchange

# Statuses a reverse proxy, load balancer or CDN answers with itself (body cap, rate limit, upstream down or slow).
INFRASTRUCTURE_STATUSES = frozenset({413, 429, 502, 503, 504})


def answer_shape_level(ex: Exchange) -> str:
    """RESP-04 / RESP-05: MUST for a request the documented client can send (clarification documented-client),
    answered by the API; SHOULD for any other request and for infrastructure answers."""
    if ex.request.sendable_by_documented_client and ex.status not in INFRASTRUCTURE_STATUSES:
        return "MUST"
    return "SHOULD"


def refusal_shape_level(ex: Exchange) -> str:
    """INPUT-04's JSON `error`: MUST for unparseable bodies, SHOULD for bodies that are not valid UTF-8 (no
    documented client can send those; their no-token / no-5xx clauses stay MUST)."""
    return "MUST" if ex.request.body_is_utf8 else "SHOULD"
