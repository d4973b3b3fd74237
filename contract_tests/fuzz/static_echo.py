"""SEC-02's "password echoed" finding discounted for a generated password that is merely a word the target says
anyway (hand-written cases use distinctive passwords; generated ones need not be)."""

from __future__ import annotations

from ..judging import checks
from ..judging.ledger import TestContext
from ..judging.results import Verdict
from ..sending.exchange import Exchange


def _haystack(ex: Exchange) -> str:
    return ex.text + "\n" + "\n".join(f"{k}: {v}" for k, v in ex.headers.items())


def discount_static_echo(ctx: TestContext, ex: Exchange) -> None:
    """Drop SEC-02's "password echoed" finding when a generated password is merely a word the target says anyway.

    Hand-written cases use distinctive passwords; generated ones can be "INVALID_REQUEST" or "content-ty",
    which every answer of the target contains.  Such a password counts as echoed only if it is absent from
    the answers to this run's other requests (which did not carry it).
    """
    body = ex.request.json if ex.request.has_json else None
    password = body.get("password") if isinstance(body, dict) else None
    if not isinstance(password, str) or len(password.strip()) < 8:
        return
    obs = ctx.seen.get(("SEC-02", id(ex)))
    echo = checks.no_password_echo
    found_by = (obs.check or {}).get("name") if obs is not None else None
    if obs is None or obs.verdict is not Verdict.FAILED or found_by != f"{echo.__module__}:{echo.__qualname__}":
        return  # decided by which check found it (its record), never by the message's wording
    others = [e for e in ctx.exchanges[-40:] if e is not ex and e.status is not None
              and password not in e.request.describe(e.base_url, limit=10**6)]
    if any(password in _haystack(e) for e in others[-10:]):
        ctx.observations.remove(obs)
        del ctx.seen[("SEC-02", id(ex))]


__all__ = ["discount_static_echo"]
