"""Fuzzing faults (faults.yaml, section "fuzzing"): found by the property-based tests
(contract_tests/suite/test_fuzz.py), which send inputs the hand-written cases do not."""

from __future__ import annotations

from typing import Any

from ..service import LoginRequest, LoginService, Reject
from .registration import fault


@fault("non-utf8-body-crash")
class NonUtf8BodyCrash(LoginService):
    def parse_json(self, raw: bytes) -> dict[str, Any]:
        import json

        text = raw.decode("utf-8")  # decoded up front for the request log: UnicodeDecodeError escapes (-> 500)
        if not text.strip():
            raise Reject(self.malformed_body("request body is empty"))
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            raise Reject(self.malformed_body("request body is not valid JSON")) from None
        if not isinstance(data, dict):
            raise Reject(self.malformed_body("request body must be a JSON object"))
        return data


@fault("single-item-list-unwrapped")
class SingleItemListUnwrapped(LoginService):
    def validate(self, data: dict[str, Any]) -> LoginRequest:
        # "form-style clients send every field as a list": ["x"] is read as "x" before validation, so the right
        # credentials wrapped in a list (a schema-invalid body) log in
        unwrapped = {k: v[0] if isinstance(v, list) and len(v) == 1 else v for k, v in data.items()}
        return super().validate(unwrapped)
