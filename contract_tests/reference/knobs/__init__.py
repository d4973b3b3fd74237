"""The reference server's benign behaviours as independent knobs: what real servers legitimately do differently from
the reference (error envelopes of common frameworks, content codings, framing, body limits, lax validators, lockout
and rate-limit policies, proxy pages, slow answers). A set of knobs is applied to one server start:
``start_reference_server(knobs=["gzip", "drf-field-errors"])``.

Code (``shapes.py``, ``wire.py``, ``policies.py``, and reused variants / stacks) says how each knob behaves and names
its real-world source; ``knobs.yaml`` says which axis it belongs to (at most one knob per axis in a set), what a
correct suite reports on a server with it (``accepts``) and which requirements it legitimately hides a fault of
(``masks``). The two sides are checked against each other at import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import yaml
from starlette.middleware import Middleware

from ..service import LoginService
from ..stacks import STACK_CLASSES
from ..variants import VARIANT_CLASSES
from . import policies, wire
from .shapes import ERROR_SHAPES

_HERE = Path(__file__).resolve().parent
_VERDICT = re.compile(r"^(passed|skipped|failed\(SHOULD\)|inconclusive|blocked)$")
_REQUIREMENT_ID = re.compile(r"^([A-Z]+-\d{2}|\*)$")  # "*": every requirement (undecided verdicts only)

# Axes in the order their middleware wraps the service, outermost first; service-only axes anywhere.
AXES = ("framing", "compression", "body-limit", "address-policy", "proxy-page", "request-id", "framework-headers",
        "ratelimit-headers", "session-cookie", "slow-answers",
        "error-shape", "unknown-fields", "failure-status", "coercion", "identifier-trim", "success-extras", "account-policy",
        "hash-cost")


def _reused(cls: type[LoginService], source: str) -> type[LoginService]:
    """A conforming variant or a stack variant reused as a knob, with its real-world source."""
    return type(cls.__name__ + "Knob", (cls,), {"source": source, "__module__": __name__})


IMPLEMENTATIONS: dict[str, type] = {
    **ERROR_SHAPES,
    "error-in-201": _reused(VARIANT_CLASSES["error-in-201"],
                            "the vendor's own style (its web client reads only `error`): credential failures "
                            "201 {\"error\": ...}"),
    "error-in-200": policies.ErrorIn200,
    "validation-422": policies.Validation422,
    "gzip": wire.GzipAnswers,
    "deflate": wire.DeflateAnswers,
    "br": wire.BrotliAnswers,
    "chunked": wire.ChunkedAnswers,
    "connection-close": wire.ConnectionClose,
    "http10": wire.HTTP10Answers,
    "limit-100kb-413-json": policies.BodyParser100kb,
    "limit-1mib-413-html": policies.NginxBodyLimit1m,
    "limit-1mib-400-text": policies.GoMaxBytesReader,
    "limit-10mb-413-json": policies.ApiGateway10MB,
    "limit-early-close": policies.EarlyClose413,
    "reject-unknown-fields": _reused(VARIANT_CLASSES["reject-unknown-fields"],
                                     "strict schemas: pydantic extra='forbid', class-validator forbidNonWhitelisted, "
                                     "ajv additionalProperties: false -- unknown request properties are a 400"),
    "coerce-numbers": policies.CoerceNumbers,
    "trim-identifiers": policies.TrimIdentifiers,
    "extra-fields": _reused(VARIANT_CLASSES["extra-fields"],
                            "Auth0 / Firebase-style profile members next to the token (plan, created_at, roles)"),
    "oauth-extras": policies.OAuthExtras,
    "request-id": wire.RequestIdHeader,
    "framework-headers": wire.FrameworkHeaders,
    "ratelimit-headers": wire.RateLimitHeaders,
    "session-cookie": wire.SessionCookie,
    "lockout-account-423": _reused(STACK_CLASSES["lockout"],
                                   "django-axes defaults (AXES_RESET_ON_SUCCESS=False) answering 423 Locked "
                                   "ACCOUNT_LOCKED with Retry-After: 5 failures in 5 minutes lock the identifier"),
    "lockout-identifier-403": policies.IdentifierLockout,
    "lockout-429-reset-on-success": policies.Lockout429ResetOnSuccess,
    "rate-limit-account-429": _reused(VARIANT_CLASSES["rate-limit-429"],
                                      "express-brute / Rack::Attack throttle per account: more than 5 failures "
                                      "within 60 s give 429 RATE_LIMITED with Retry-After, a success resets"),
    "address-429-json": policies.AddressRateLimitJSON,
    "address-429-nginx": policies.AddressRateLimitNginx,
    "proxy-502-nginx": policies.Nginx502,
    "proxy-503-haproxy": policies.HAProxy503,
    "proxy-504-envoy": policies.Envoy504,
    "slow-hash": _reused(VARIANT_CLASSES["slow"],
                         "argon2id with 64 MiB and 2 passes (argon2-cffi's default profile, RFC 9106's low-memory "
                         "option, has 64 MiB and 3 passes; OWASP's minimum is 19 MiB): 100-300 ms per verification, "
                         "on the server's one event loop, so concurrent logins queue as on a single-worker "
                         "deployment"),
    "slow-answers": wire.SlowAnswers,
}


class KnobError(RuntimeError):
    """knobs.yaml and the implementations disagree, or a knob set cannot be composed."""


@dataclass(frozen=True)
class Knob:
    name: str
    axis: str
    description: str
    implementation: type = field(repr=False)
    accepts: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False)  # requirement -> verdicts
    why: str = ""
    masks: tuple[str, ...] = ()  # requirements whose fault this knob legitimately hides
    excludes: tuple[str, ...] = ()  # knobs it cannot be combined with (and why: knobs.yaml)

    @property
    def source(self) -> str:
        return self.implementation.source

    @property
    def service(self) -> bool:
        return isinstance(self.implementation, type) and issubclass(self.implementation, LoginService)

    def overrides(self) -> set[str]:
        """LoginService attributes a service knob changes."""
        if not self.service:
            return set()
        names: set[str] = set()
        for klass in self.implementation.__mro__:
            if klass is LoginService:
                break
            names |= {k for k in vars(klass) if not k.startswith("__") and k not in ("source", "mutation_name")}
        return names


def _load() -> dict[str, Knob]:
    document = yaml.safe_load((_HERE / "knobs.yaml").read_text(encoding="utf-8")) or {}
    knobs: dict[str, Knob] = {}
    for entry in document.get("knobs") or []:
        keys = set(entry)
        if not {"name", "axis", "description"} <= keys <= {"name", "axis", "description", "accepts", "why",
                                                            "masks", "excludes"}:
            raise KnobError(f"knobs.yaml: bad keys in {entry!r}")
        name, axis = entry["name"], entry["axis"]
        if name in knobs or name not in IMPLEMENTATIONS:
            raise KnobError(f"knobs.yaml: {name!r} is a duplicate or has no implementation")
        if axis not in AXES:
            raise KnobError(f"knobs.yaml: {name}: unknown axis {axis!r}")
        accepts = {rid: tuple(v) for rid, v in (entry.get("accepts") or {}).items()}
        for rid, verdicts in accepts.items():
            if not _REQUIREMENT_ID.match(rid) or not verdicts or not all(_VERDICT.match(v) for v in verdicts):
                raise KnobError(f"knobs.yaml: {name}: accepts {rid}: {verdicts!r} (never failed at MUST)")
            if rid == "*" and not set(verdicts) <= {"inconclusive", "blocked"}:
                raise KnobError(f"knobs.yaml: {name}: accepts '*' only inconclusive / blocked, got {verdicts!r}")
        if accepts and not str(entry.get("why", "")).strip():
            raise KnobError(f"knobs.yaml: {name}: accepts needs a why")
        implementation = IMPLEMENTATIONS[name]
        if not str(getattr(implementation, "source", "")).strip():
            raise KnobError(f"{name}: its implementation names no real-world source")
        knobs[name] = Knob(name, axis, " ".join(entry["description"].split()), implementation, accepts,
                           " ".join(str(entry.get("why", "")).split()), tuple(entry.get("masks") or ()),
                           tuple(entry.get("excludes") or ()))
    missing = sorted(set(IMPLEMENTATIONS) - set(knobs))
    if missing:
        raise KnobError(f"knobs missing from knobs.yaml: {', '.join(missing)}")
    for knob in knobs.values():
        unknown = sorted(set(knob.excludes) - set(knobs))
        if unknown:
            raise KnobError(f"knobs.yaml: {knob.name} excludes unknown knobs {unknown}")
    _check_axes(knobs)
    return knobs


def _check_axes(knobs: dict[str, Knob]) -> None:
    """Service knobs of different axes change different methods, so any one-per-axis set composes."""
    owners: dict[str, str] = {}
    for knob in knobs.values():
        for method in knob.overrides():
            axis = owners.setdefault(method, knob.axis)
            if axis != knob.axis:
                raise KnobError(f"axes {axis!r} and {knob.axis!r} both change LoginService.{method}")


KNOBS: dict[str, Knob] = _load()


def check_set(names: Iterable[str], base: type[LoginService] = LoginService) -> list[Knob]:
    """The knobs named, validated: known, one per axis, no excluded pair, none changing what *base* (a fault or a
    variant) changes. ValueError otherwise."""
    chosen: list[Knob] = []
    for name in names:
        if name not in KNOBS:
            raise ValueError(f"unknown knob {name!r}; valid knobs: {', '.join(KNOBS)}")
        chosen.append(KNOBS[name])
    axes: dict[str, str] = {}
    for knob in chosen:
        if knob.axis in axes:
            raise ValueError(f"knobs {axes[knob.axis]!r} and {knob.name!r} are both on axis {knob.axis!r}")
        axes[knob.axis] = knob.name
    names_set = {k.name for k in chosen}
    for knob in chosen:
        clash = names_set & set(knob.excludes)
        if clash:
            raise ValueError(f"knob {knob.name!r} cannot be combined with {', '.join(sorted(clash))} (knobs.yaml)")
    if base is not LoginService:
        from ..registry import _overrides

        changed = _overrides(base)
        for knob in chosen:
            common = changed & knob.overrides()
            if common:
                raise ValueError(f"knob {knob.name!r} and {base.__name__} both change {', '.join(sorted(common))}")
    return chosen


def compose(names: Iterable[str], base: type[LoginService] = LoginService) -> type[LoginService]:
    """*base* (the reference, or a fault / variant) with the knobs' changes: service knobs as mixins in front of it,
    middleware knobs wrapped around the service's own middleware, outermost axis first."""
    chosen = check_set(names, base)
    if not chosen:
        return base
    mixins = tuple(k.implementation for k in chosen if k.service)
    layers = sorted((k for k in chosen if not k.service), key=lambda k: AXES.index(k.axis))
    knob_names = tuple(k.name for k in chosen)

    def middleware(self) -> list:
        return [*(Middleware(k.implementation) for k in layers), *base.middleware(self)]

    namespace = {"middleware": middleware, "knobs": knob_names, "http10": "http10" in knob_names,
                 "__module__": __name__}
    return type("Knobbed" + base.__name__, (*mixins, base), namespace)
