"""Tiny single-purpose checks.

Each check takes an :class:`~contract_tests.sending.exchange.Exchange` (plus parameters), knows nothing
about requirement IDs, and raises :class:`Mismatch` when its property does not hold.  The
requirement tag sits at the call site: ``expect("RESP-01", ex, status_is, 201)``.
"""

from .core import Mismatch
from .http import allows_post, www_authenticate_on_401
from .response import (
    answers_unlike,
    has_error,
    is_4xx,
    issues_token,
    is_json_object,
    json_content_type,
    json_object_body,
    no_null_fields,
    no_error,
    no_token,
    not_5xx,
    same_account,
    same_account_or_4xx,
    status_in,
    status_is,
    success_shape,
)
from .security import (
    cache_no_store,
    cors_safe,
    failure_fingerprint,
    hsts,
    no_db_error_text,
    no_hash_strings,
    no_password_echo,
    no_secret_keys,
    nosniff,
)
from .error_details import no_internal_error_details
from .token import exp_bounded, exp_valid, fresh_token, jws_shape, no_credential_material, token_free_of
from .weak_keys import hmac_key_not_weak

__all__ = [name for name in dir() if not name.startswith("_")]
