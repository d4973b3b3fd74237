"""The Headers part of LoginService: OPTIONS and CORS, and the headers every answer carries (finalize)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response


class Headers:
    """OPTIONS, CORS headers for the allowed origins (none in the reference), common security headers."""

    allowed_methods = ("POST", "OPTIONS")
    # Origins allowed to call the API from a browser. The reference allows none.
    allowed_origins: frozenset[str] = frozenset()

    def options(self, request: Request) -> Response:
        allow = {"Allow": ", ".join(self.allowed_methods)}
        if "origin" in request.headers and "Access-Control-Allow-Origin" not in self.cors_headers(request):
            return self.error_response(403, "CORS_ORIGIN_NOT_ALLOWED", headers=allow)  # preflight refused
        return self.json(200, {"allow": list(self.allowed_methods)}, allow)

    def cors_headers(self, request: Request) -> dict[str, str]:
        origin = request.headers.get("origin")
        if origin is None or origin not in self.allowed_origins:
            return {}
        headers = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
        if request.method == "OPTIONS":
            headers["Access-Control-Allow-Methods"] = ", ".join(self.allowed_methods)
            headers["Access-Control-Allow-Headers"] = "Content-Type"
        return headers

    def base_headers(self) -> dict[str, str]:
        return {"X-Content-Type-Options": "nosniff",
                "Strict-Transport-Security": "max-age=31536000; includeSubDomains"}

    def middleware(self) -> list:
        """ASGI middleware (starlette.middleware.Middleware) in front of the service: a proxy, say. None here."""
        return []

    def finalize(self, request: Request, response: Response) -> Response:
        for name, value in {**self.base_headers(), **self.cors_headers(request)}.items():
            response.headers[name] = value
        return response


__all__ = ["Headers"]
