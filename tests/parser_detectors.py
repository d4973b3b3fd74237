"""Direct-HTTP detectors of the requirements the parser-differential faults break, merged into
tests/test_reference_server.py's PROBES table: each takes that module's ``Api`` and says whether the server breaks the
requirement, independently of the contract suite (whose verdicts on the faults tests/test_faults.py checks). The
bodies are the suite's own (contract_tests/inputs/parser_differentials.py), sent with the demo account's credentials."""

from __future__ import annotations

import json

from contract_tests.inputs.parser_differentials import (
    STAND_IN_PASSWORD,
    body_probes,
    email_forms,
    exact_names_only,
    field_probes,
    identity_probes,
    mixed_readings,
)
from contract_tests.reference import DEMO_EMAIL, DEMO_PASSWORD, DEMO_USER_UUID
from fault_detectors import _body

UNKNOWN = "nobody-parser@hyper3d.test"


def _crashes_or_logs_in(response) -> bool:
    return response.status_code >= 500 or bool(_body(response).get("token"))


def _members(api, body):
    return api.post(raw=json.dumps(body).encode())


def broken_input_04(api) -> bool:
    """Deep nesting, a huge integer, NaN, a byte order mark, a comment, two values: a 5xx or a token."""
    return any(_crashes_or_logs_in(api.post(raw=probe.body)) for probe in body_probes(UNKNOWN).values())


def broken_input_03(api) -> bool:
    """2000 nested arrays as the password, 1e400 as the email: a 5xx or a token."""
    return any(_crashes_or_logs_in(api.post(raw=probe.body)) for probe in field_probes(UNKNOWN).values())


def broken_input_11(api) -> bool:
    """A mixed reading logs in, or the identity body crashes or logs in another account."""
    mixed = mixed_readings(DEMO_EMAIL, DEMO_PASSWORD, "parser-1@hyper3d.test", "Wrong-Passw0rd-1", "Wrong-Passw0rd-2",
                           "parser-2@hyper3d.test")
    if any(_crashes_or_logs_in(_members(api, probe)) for body in mixed.values()
           for probe in (body, exact_names_only(body))):
        return True
    for body in identity_probes(DEMO_EMAIL, DEMO_PASSWORD, "parser-3@hyper3d.test", "parser-4@hyper3d.test").values():
        response = _members(api, body)
        token = _body(response).get("token")
        if response.status_code >= 500 or (bool(token) and _body(response).get("user_uuid") != DEMO_USER_UUID):
            return True
    return False


def broken_input_05(api) -> bool:
    """An address inside a display name is answered like an unknown account's credential failure."""
    def signature(email):
        response = api.post({"email": email, "password": STAND_IN_PASSWORD})
        return response.status_code, _body(response).get("error")
    return signature(email_forms(UNKNOWN)["display-name"].address) == signature(UNKNOWN)


def broken_input_09(api) -> bool:
    """An email form that parsers read differently crashes or logs in."""
    return any(_crashes_or_logs_in(api.post({"email": form.address, "password": STAND_IN_PASSWORD}))
               for form in email_forms(UNKNOWN).values())


PARSER_PROBES = {"INPUT-04": broken_input_04, "INPUT-03": broken_input_03, "INPUT-11": broken_input_11,
                 "INPUT-05": broken_input_05, "INPUT-09": broken_input_09}
