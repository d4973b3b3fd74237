"""Starlette application factory of the reference server."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Mount, request_response

from .registry import service_class


def create_app(*, fault: str | None = None, variant: str | None = None) -> Starlette:
    """A fresh app with its own isolated state (user store, JWT secret). ValueError on unknown names."""
    service = service_class(fault, variant)()
    # One catch-all route: the service answers every path and method itself (JSON 404/405/500 included).
    app = Starlette(routes=[Mount("/", app=request_response(service.handle))])
    app.state.service = service
    app.state.fault = fault
    app.state.variant = variant
    return app
