"""Offline check of a JWS's HMAC key against well-known weak keys (TOKEN-04, RFC 8725 §3.5).

The candidate keys are public values (jwt.io's example key, library and framework samples, common passwords:
see the provenance in ``data/weak_hmac_keys.yaml``). Recomputing an HMAC per candidate over the token's signing
input costs about a microsecond each, so a whole token is checked in about a millisecond and no request is sent.
"""

from __future__ import annotations

import binascii
import hmac
import json
from functools import cache
from pathlib import Path

from ...contract.yaml_loading import load_yaml
from ...sending.exchange import Exchange
from ...sending.secrets import b64url_decode
from .core import Mismatch

KEY_FILE = Path(__file__).with_name("data") / "weak_hmac_keys.yaml"
HMAC_DIGESTS = {"HS256": "sha256", "HS384": "sha384", "HS512": "sha512"}


@cache
def weak_keys() -> tuple[bytes, ...]:
    keys = load_yaml(KEY_FILE.read_text(encoding="utf-8"))["keys"]
    return tuple(str(k).encode("utf-8") for k in keys)


def weak_key_of(token: str) -> str | None:
    """The well-known key an HS256/384/512 compact JWS verifies with, or None (also for other algorithms)."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[2]:
        return None
    try:
        header = json.loads(b64url_decode(parts[0]))
        signature = b64url_decode(parts[2])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    alg = header.get("alg") if isinstance(header, dict) else None
    digest = HMAC_DIGESTS.get(alg) if isinstance(alg, str) else None  # a list or an object as alg is no HMAC
    if digest is None:
        return None
    signing_input = f"{parts[0]}.{parts[1]}".encode("ascii", "replace")
    for key in weak_keys():
        if hmac.compare_digest(hmac.digest(key, signing_input, digest), signature):
            return key.decode("utf-8")
    return None


def hmac_key_not_weak(ex: Exchange) -> None:
    """The issued token is not signed with a well-known weak HMAC key (tokens of other algorithms pass)."""
    if not ex.token:
        raise Mismatch('a non-empty string "token" to inspect', "no token in the response")
    key = weak_key_of(ex.token)
    if key is not None:
        shown = repr(key) if key else "the empty key ''"
        raise Mismatch(
            "a token not signed with a well-known weak HMAC key",
            f"well-known key {shown} verifies it (one of the suite's {len(weak_keys())}; anyone can forge a token "
            "for any account)",
        )
