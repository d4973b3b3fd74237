"""What a run is: the suite's version and the digests of the contract it checks (``--version``, report header)."""

from __future__ import annotations

from . import __version__


def version_line() -> str:
    from .contract.catalog import catalog_digest
    from .contract.spec import spec_digest

    return f"hyper3d-login-conformance {__version__} (catalog {catalog_digest()}, spec {spec_digest()})"
