"""Self-tests of the structure probes: contract_tests/inputs/parser_differentials.py builds what
it says, contract_tests/suite/test_parsers.py judges it by the right requirement, and the bodies with repeated names
keep the password out of every output (the faults and variants themselves: tests/test_faults.py and
tests/test_reference_server.py)."""

from __future__ import annotations

import json
from email.utils import parseaddr

import pytest

from contract_tests.contract.spec import request_schema, validator
from contract_tests.inputs.parser_differentials import (
    NESTING_DEPTH,
    STAND_IN_PASSWORD,
    body_probes,
    email_forms,
    exact_names_only,
    field_probes,
    identity_probes,
    mixed_readings,
    readings,
)
from contract_tests.reference import DEMO_EMAIL, DEMO_PASSWORD
from contract_tests.sending.client import wire_identity
from contract_tests.sending.exchange import LoginRequest, Members
from contract_tests.sending.replayable import to_text
from contract_tests.sending.secrets import Redactor, password_secret

UNKNOWN = "conformance-unknown-7f3a9c@example.com"
E, P, U, U2, W, W2 = "me@example.com", "Right-Passw0rd", "u1@example.com", "u2@example.com", "wrong-1", "wrong-2"
SUITE = ("-p", "contract_tests.plugin", "--pyargs", "contract_tests.suite", "-p", "no:cacheprovider",
         "--assert=plain")


# ------------------------------------------------------------------------------------------ repeated names, case
MIXED = list(mixed_readings(E, P, U, W, W2, U2))


@pytest.mark.parametrize("name", MIXED)
@pytest.mark.parametrize("alone", [False, True], ids=["whole", "exact-names-only"])
def test_no_consistent_reading_of_a_mixed_body_carries_the_right_credentials(name, alone):
    body = mixed_readings(E, P, U, W, W2, U2)[name]
    body = exact_names_only(body) if alone else body
    for reading, picked in readings(body).items():
        assert (picked.get("email"), picked.get("password")) != (E, P), reading
    emails = {picked["email"] for picked in readings(body).values()}
    passwords = {picked["password"] for picked in readings(body).values()}
    assert E in emails and P in passwords  # a reading of the account and one of the password: mixed, they log in


def test_the_mixes_each_mixed_body_catches():
    first, second = mixed_readings(E, P, U, W, W2, U2).values()
    r1, r2 = readings(first), readings(second)
    exact_first, exact_last = "first member, exact name", "last member, exact name"
    any_last = "last member, any letter case"
    # account from the last `email` (json.loads), password from the first (a first-match scanner) or from PASSWORD
    assert r1[exact_last]["email"] == E and r1[exact_first]["password"] == P and r1[any_last]["password"] == P
    # account from the first `email` (a first-match scanner) or from Email, password from the last `password`
    assert r2[exact_first]["email"] == E and r2[any_last]["email"] == E and r2[exact_last]["password"] == P
    # the repeated names alone (the body a strict schema refused, asked again): the same first/last mixes
    a1, a2 = readings(exact_names_only(first)), readings(exact_names_only(second))
    assert a1[exact_last]["email"] == E and a1[exact_first]["password"] == P
    assert a2[exact_first]["email"] == E and a2[exact_last]["password"] == P


@pytest.mark.parametrize("name", MIXED)
def test_the_exact_names_body_has_no_letter_case_variant_and_keeps_the_repeated_names(name):
    body = mixed_readings(E, P, U, W, W2, U2)[name]
    names = [key for key, _ in exact_names_only(body).items()]
    assert set(names) == {"email", "password"} and names.count("email") == names.count("password") == 2
    assert [pair for pair in body.items() if pair[0] in ("email", "password")] == list(exact_names_only(body).items())


@pytest.mark.parametrize("name", ["repeated-email", "letter-case-email"])
def test_every_reading_of_an_identity_body_that_names_the_account_carries_its_password(name):
    body = identity_probes(E, P, U, U2)[name]
    found = readings(body)
    assert E in {picked["email"] for picked in found.values()}
    assert len({picked["email"] for picked in found.values()}) == 2
    for picked in found.values():
        assert picked["email"] != E or picked["password"] == P
    assert json.loads(LoginRequest("probe", "any", json=body).body_bytes()) == (
        {"email": E, "password": P} if name == "repeated-email" else {"Email": U2, "email": E, "password": P})


def test_members_repeat_names_on_the_wire_and_keep_secrets_out_of_every_rendering():
    secret = password_secret("S3cret-Value!")
    body = mixed_readings(E, secret, U, W, W2, U2)["account-last-password-first"]
    request = LoginRequest("probe", "any", json=body)
    wire = request.body_bytes().decode()
    assert wire.count('"email"') == 2 and wire.count('"password"') == 2 and '"PASSWORD"' in wire
    assert wire.count("S3cret-Value!") == 2
    redactor = Redactor()
    redactor.add(secret)
    assert "S3cret-Value!" not in request.describe("http://h")
    assert "S3cret-Value!" not in request.curl("http://h") and '"$LOGIN_PASSWORD"' in request.curl("http://h")
    assert "unavailable" in json.loads(to_text(request, redactor))  # the report's JSON cannot repeat a name
    again = LoginRequest("probe", "any", json=mixed_readings(E, secret, U, W, W2, U2)["account-last-password-first"])
    assert wire_identity(again) == wire_identity(request)  # the plan hands the answer sent ahead to its test


def test_repeated_names_are_not_what_the_documented_client_sends():
    repeated = LoginRequest("probe", "any", json=Members([("email", E), ("password", P), ("email", U)]))
    assert not repeated.sendable_by_documented_client  # a Go map holds a name once: answers judged at SHOULD
    case_variant = LoginRequest("probe", "any", json={"email": E, "password": P, "Email": U})
    assert case_variant.sendable_by_documented_client  # a JSON object of strings, names distinct
    deep = LoginRequest("probe", "invalid", raw=body_probes(UNKNOWN)["nested-arrays"].body,
                        content_type="application/json")
    assert not deep.sendable_by_documented_client  # RecursionError is no ValueError: caught all the same


# ------------------------------------------------------------------------------------------ bodies and fields
def test_every_probe_body_is_well_under_the_documented_clients_bound():
    bodies = [p.body for p in (*body_probes(UNKNOWN).values(), *field_probes(UNKNOWN).values())]
    assert all(len(body) <= 6 * 1024 for body in bodies), [len(b) for b in bodies]


def test_nesting_passes_pythons_recursion_limit():
    assert NESTING_DEPTH > 1000
    for raw in (body_probes(UNKNOWN)["nested-arrays"].body, field_probes(UNKNOWN)["nested-arrays-as-password"].body):
        with pytest.raises(RecursionError):
            json.loads(raw)


def test_what_pythons_lenient_decoder_reads_from_the_extension_probes():
    """Each extension probe's reading, where Python's json has one, is an unknown account's failed login or a
    non-string value: nothing any decoder reads out of them can log in."""
    probes = body_probes(UNKNOWN)
    assert json.loads(probes["nan-literal"].body)["email"] != json.loads(probes["nan-literal"].body)["email"]  # NaN
    assert json.loads(probes["infinity-literal"].body)["password"] == float("-inf")
    assert json.loads(probes["byte-order-mark"].body) == {"email": UNKNOWN, "password": STAND_IN_PASSWORD}
    first, end = json.JSONDecoder().raw_decode(probes["two-values"].body.decode())  # Go's Decoder.Decode reads this
    assert first == {"email": UNKNOWN, "password": STAND_IN_PASSWORD} and end < len(probes["two-values"].body)
    with pytest.raises(ValueError, match="Extra data"):
        json.loads(probes["two-values"].body)
    with pytest.raises(ValueError, match="Expecting"):
        json.loads(probes["comment"].body)
    with pytest.raises(ValueError) as huge:  # not a JSONDecodeError: a handler catching only that one crashes
        json.loads(probes["huge-integer"].body)
    assert not isinstance(huge.value, json.JSONDecodeError)
    assert json.loads(field_probes(UNKNOWN)["out-of-range-number-as-email"].body)["email"] == float("inf")
    non_objects = {name for name, probe in probes.items() if probe.non_object}
    assert non_objects == {"nested-arrays", "huge-integer"}


# ------------------------------------------------------------------------------------------ email forms
def test_judged_email_forms_are_outside_the_suites_own_email_format():
    check = validator(request_schema())
    for form in email_forms(UNKNOWN).values():
        errors = list(check.iter_errors({"email": form.address, "password": "x"}))
        if form.not_an_addr_spec:
            assert errors, form.name
    assert parseaddr(email_forms(UNKNOWN)["display-name"].address)[1] == UNKNOWN  # what a lenient parser reads


def test_the_idn_probe_passes_a_simple_check_and_breaks_idna():
    address = email_forms(UNKNOWN)["long-idn-label"].address
    with pytest.raises(UnicodeError):
        address.rpartition("@")[2].encode("idna")


# ------------------------------------------------------------------------------------------ a run
def test_a_login_through_a_mixed_reading_is_reported_without_the_password(pytester, monkeypatch):
    """The fault logs in through the first `password` of a mixed body: INPUT-11 fails, and the password appears in no
    output, report or HAR, while the reproduction rebuilds it from the environment."""
    for key in ("LOGIN_EMAIL", "LOGIN_PASSWORD", "PYTEST_BASE_URL", "PYTEST_ADDOPTS"):
        monkeypatch.delenv(key, raising=False)
    result = pytester.runpytest_inprocess(*SUITE, "--reference-fault=password-from-first-member", "--fuzz-examples=0",
                                          "--requirement=INPUT-11", "-vv", "--report-dir=out", "--har=out/run.har")
    assert result.ret == 1
    report = json.loads((pytester.path / "out" / "conformance.json").read_text())
    verdicts = {r["id"]: r["verdict"] for r in report["requirements"]}
    assert verdicts["INPUT-11"] == "failed"
    texts = [result.stdout.str(), result.stderr.str()] + [p.read_text() for p in (pytester.path / "out").iterdir()]
    for text in texts:
        assert DEMO_PASSWORD not in text and json.dumps(DEMO_PASSWORD)[1:-1] not in text
    assert "$LOGIN_PASSWORD" in (pytester.path / "out" / "conformance.json").read_text()
    assert DEMO_EMAIL in result.stdout.str()


# ------------------------------------------------------------------------------------------ the reference's readings
class _Api:
    """What tests/parser_detectors.py needs of tests/test_reference_server.py's Api: POST a body or raw bytes."""

    def __init__(self, http) -> None:
        self.http = http

    def post(self, body=None, *, raw=None):
        content = raw if raw is not None else json.dumps(body).encode()
        return self.http.post("/api/user/login", content=content, headers={"Content-Type": "application/json"})


def _breaks_input_11(**server_kind) -> bool:
    import httpx
    from parser_detectors import broken_input_11

    from contract_tests.reference import start_reference_server

    with start_reference_server(**server_kind) as server, httpx.Client(base_url=server.url, timeout=10) as http:
        return broken_input_11(_Api(http))


@pytest.mark.parametrize("variant", [None, "reject-repeated-names", "first-member-wins", "case-insensitive-binding"])
def test_a_one_way_reading_is_clean(variant):
    """The reference (the last member wins) and the variants read an ambiguous body one way: INPUT-11 holds."""
    assert not _breaks_input_11(variant=variant)


@pytest.mark.parametrize("fault", ["password-from-first-member", "case-insensitive-password-binding",
                                   "session-for-first-email-member"])
def test_a_mixed_reading_is_caught(fault):
    """Two readings of one body, by the detector the reference-server self-test uses for INPUT-11."""
    assert _breaks_input_11(fault=fault)
