"""Unit tests written against surviving mutants of the check code (docs/mutation.md): boundaries and branches that
neither the unit tests of the checks nor the fault-injection self-test pinned down."""

import pytest
from helpers import exchange

from contract_tests.judging import checks
from contract_tests.judging.checks import Mismatch
from contract_tests.judging.classification import Signatures

pytestmark = pytest.mark.unit  # the fast lane: python -m pytest tests -m unit


def hsts(value: str | None):
    return exchange(200, {}, {} if value is None else {"strict-transport-security": value})


def test_hsts_accepts_exactly_one_year_in_any_letter_case():
    checks.hsts(hsts("max-age=31536000"))
    checks.hsts(hsts('Max-Age="31536000"; includeSubDomains'))


@pytest.mark.parametrize("value", ["max-age=31535999", "includeSubDomains", "", None])
def test_hsts_refuses_less_than_a_year_or_no_header(value):
    with pytest.raises(Mismatch):
        checks.hsts(hsts(value))


def test_signatures_leave_out_server_errors_and_classify_every_kind():
    validation = exchange(400, {"error": "INVALID_REQUEST"})
    crash = exchange(500, {"error": "INTERNAL_ERROR"})
    credential = exchange(401, {"error": "INVALID_CREDENTIALS"})
    sig = Signatures([validation, crash], [credential])
    assert sig.refusals == [validation]
    assert sig.distinguishable
    assert sig.classify(exchange(400, {"error": "INVALID_REQUEST"})) == "validation"
    assert sig.classify(exchange(401, {"error": "INVALID_CREDENTIALS"})) == "credential"
    assert sig.classify(crash) == "unknown"
    assert sig.classify(exchange(201, {"token": "t"})) == "success"


def test_signatures_alike_are_not_distinguishable():
    same = exchange(401, {"error": "INVALID_CREDENTIALS"})
    sig = Signatures([exchange(401, {"error": "INVALID_CREDENTIALS"})], [same])
    assert not sig.distinguishable
    assert sig.classify(same) == "unknown"
