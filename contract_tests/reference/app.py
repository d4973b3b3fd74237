"""Starlette application factory of the reference server."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Mount, request_response

from .registry import service_class


def create_app(*, fault: str | None = None, variant: str | None = None, demo_password: str | None = None,
               service=None, knobs=()) -> Starlette:
    """A fresh app with its own isolated state (user store, JWT secret). ValueError on unknown names.

    `demo_password` replaces the demo account's password; `service` serves a ready LoginService instance
    (e.g. a test's own combination of faults) instead of one built from `fault` / `variant`; `knobs`: benign
    behaviours switched on (knobs/), on top of the fault or variant.
    """
    if service is None:
        cls = service_class(fault, variant)
        if knobs:
            from .knobs import compose

            cls = compose(knobs, cls)
        service = cls(demo_password=demo_password)
    # One catch-all route: the service answers every path and method itself (JSON 404/405/500 included).
    app = Starlette(routes=[Mount("/", app=request_response(service.handle))], middleware=service.middleware())
    app.state.service = service
    app.state.fault = fault
    app.state.variant = variant
    return app
