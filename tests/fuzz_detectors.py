"""Direct-HTTP detectors of the faults the fuzzing tests catch (non-utf8-body-crash,
single-item-list-unwrapped), merged into tests/test_reference_server.py's PROBES table: each takes that module's
``Api`` and says whether the server breaks the requirement. The fuzzing itself is tested in tests/test_fuzz.py."""

from __future__ import annotations

from contract_tests.reference import DEMO_EMAIL, DEMO_PASSWORD


def _logs_in(response) -> bool:
    body = response.json()
    return response.status_code in (200, 201) and bool(body.get("token")) and not body.get("error")


def broken_input_04(api) -> bool:
    """Malformed and non-UTF-8 bodies get a 4xx (not a 5xx)."""
    return any(not 400 <= api.post(raw=raw).status_code < 500 for raw in (b"\xff", b'{"email": "\xe9"}', b"{"))


def broken_resp_06(api) -> bool:
    """The right credentials in a schema-invalid body (wrapped in a list) do not log in."""
    return _logs_in(api.post({"email": DEMO_EMAIL, "password": [DEMO_PASSWORD]}))


def broken_input_03(api) -> bool:
    """A password of the wrong JSON type (a list holding the right one) is rejected, never a login."""
    return broken_resp_06(api)


FUZZ_PROBES = {"INPUT-04": broken_input_04, "RESP-06": broken_resp_06, "INPUT-03": broken_input_03}
