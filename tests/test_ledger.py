"""Judging state owned by the run, typed results and the one gate rule (unit tests: no target, no pytester).

The ledger is the run's own (nothing process-wide: two runs never see each other's failures), held failures are
keyed by the exchange's sequence number, a test that ends undecided carries its verdict in its exception's type, a
failure keeps what was expected and what came back as fields, and one rule over one level order decides what gates.
"""

from __future__ import annotations

import pytest
from helpers import exchange

from contract_tests.contract.levels import Level
from contract_tests.judging import checks, invariants, verdicts
from contract_tests.judging.gate import gates
from contract_tests.judging.outcomes import Blocked, Inconclusive, NotApplicable
from contract_tests.judging.results import Observation, Verdict
from contract_tests.run.per_test import conclude, undecided_of
from contract_tests.sending.client import BudgetSpent, NoAnswer
from contract_tests.sending.secrets import Redactor


def _no_nosniff(ledger=None, redactor=None):
    ex = exchange(400, {"error": "X"}, {"x-content-type-options": ""}, redactor=redactor)
    ex.ledger = ledger  # as the run's client stamps every exchange it makes
    return ex


# -- the ledger ------------------------------------------------------------------------------------------------------
def test_each_run_has_its_own_ledger():
    """Two runs in one process (pytester sessions, a replay inside a run) never see each other's held failures."""
    first, second = verdicts.Ledger(), verdicts.Ledger()
    invariants.Observer(first)(_no_nosniff(first))
    assert [o.requirement for o in second.take_held()] == []
    assert [o.requirement for o in first.take_held()] == ["SEC-04"]


def test_held_failures_are_keyed_by_the_exchanges_sequence_number():
    """Two exchanges answered alike are two failures; two checks of one requirement on one exchange are one; an
    exchange's key is its place in the run, never reused (not its id(), which a collected exchange gives away)."""
    ledger = verdicts.Ledger()
    observer = invariants.Observer(ledger)
    one, two = _no_nosniff(ledger), _no_nosniff(ledger)
    assert two.seq > one.seq
    observer(one)
    verdicts.record_failure("SEC-04", one, "X-Content-Type-Options: nosniff", "absent", hold=True)
    observer(two)
    held = ledger.take_held("SEC-04")
    assert len(held) == 2 and ledger.take_held() == []


def test_a_failure_taken_by_its_item_is_never_held_again():
    ledger = verdicts.Ledger()
    ex = _no_nosniff(ledger)
    invariants.Observer(ledger)(ex)
    assert len(ledger.take_held("SEC-04")) == 1
    again = verdicts.record_failure("SEC-04", ex, "X-Content-Type-Options: nosniff", "absent", hold=True)
    assert again.verdict is Verdict.FAILED and ledger.take_held() == []  # reported once, counted once


def test_the_running_test_owns_what_is_judged_while_it_runs_and_then_nothing_does():
    ledger = verdicts.Ledger()
    ctx = verdicts.TestContext("suite/test_x.py::test_x", ("SEC-04",))
    with ledger.running(ctx):
        assert not verdicts.verify("SEC-04", _no_nosniff(ledger), checks.nosniff)
    assert [o.requirement for o in ctx.failed()] == ["SEC-04"] and ledger.current is None
    assert not verdicts.verify("SEC-04", _no_nosniff(ledger), checks.nosniff)  # between tests: held
    assert [o.test for o in ledger.take_held()] == ["<session>"] and len(ctx.failed()) == 1


def test_an_exchange_of_no_run_is_judged_and_recorded_nowhere():
    with pytest.raises(verdicts.Violation) as info:
        verdicts.expect("SEC-04", _no_nosniff(), checks.nosniff)
    assert info.value.observation.requirement == "SEC-04"


# -- typed results ---------------------------------------------------------------------------------------------------
def test_a_failure_keeps_expected_actual_and_its_check_as_fields_redacted_like_its_message():
    redactor = Redactor()
    redactor.add("S3cret-Passw0rd!", "<LOGIN_PASSWORD>")
    ledger = verdicts.Ledger()
    ex = _no_nosniff(ledger, redactor)
    with ledger.running(verdicts.TestContext("t", ("SEC-04",))) as ctx:
        verdicts.verify("SEC-04", ex, checks.nosniff)
    nosniff, own = ctx.failed(repeats=True)[0], verdicts.failure_observation("SEC-04", [ex], "x", None)
    assert nosniff.expected == "X-Content-Type-Options: nosniff" and nosniff.actual.startswith("X-Content-Type")
    assert nosniff.check["name"] == "contract_tests.judging.checks.security:nosniff"
    assert f"  expected:  {nosniff.expected}" in nosniff.message and f"  actual:    {nosniff.actual}" in nosniff.message
    assert own.actual == ex.describe_response()  # no words of the check's own: the whole response
    recorded = verdicts.failure_observation("SEC-04", [ex], "not S3cret-Passw0rd!", "S3cret-Passw0rd!\x1b back")
    assert recorded.expected == "not <LOGIN_PASSWORD>" and recorded.actual == "<LOGIN_PASSWORD>\\x1b back"
    assert Observation.from_dict(recorded.to_dict()) == recorded  # as xdist workers hand it over


@pytest.mark.parametrize("raise_it, verdict, not_applicable", [
    (lambda: verdicts.blocked("rate limited"), Verdict.BLOCKED, False),
    (lambda: verdicts.inconclusive("no answer"), Verdict.INCONCLUSIVE, False),
    (lambda: verdicts.not_applicable("plain http"), Verdict.SKIPPED, True),
    (lambda: (_ for _ in ()).throw(BudgetSpent("request cap of 3 reached")), Verdict.BLOCKED, False),
    (lambda: (_ for _ in ()).throw(NoAnswer("no answer in 10 s")), Verdict.INCONCLUSIVE, False),
    # a plain skip whose words look like a verdict is a plain skip: the verdict is the exception's type
    (lambda: pytest.skip("blocked: n/a: words only"), Verdict.SKIPPED, False),
])
def test_an_undecided_test_carries_its_verdict_in_its_exceptions_type(raise_it, verdict, not_applicable):
    call = pytest.CallInfo.from_call(raise_it, "call")
    undecided = undecided_of(call)
    text = undecided.reason_text if undecided is not None else str(call.excinfo.value)
    report = pytest.TestReport("t", ("t.py", 0, "t"), {}, "skipped", ("t.py", 1, f"Skipped: {text}"), "call")
    [obs], suite_error = conclude(verdicts.TestContext("t", ("SEC-05",)), report, call, undecided)
    assert (obs.verdict, obs.not_applicable, suite_error) == (verdict, not_applicable, False)
    assert obs.message == text  # the reason as pytest shows it, the verdict's word first


def test_typed_skips_are_pytest_skips_with_the_verdicts_word_first():
    for exc, word in ((Blocked("captcha"), "blocked"), (Inconclusive("reset"), "inconclusive"),
                      (NotApplicable("plain http"), "n/a")):
        assert isinstance(exc, pytest.skip.Exception) and exc.msg == f"{word}: {exc.reason}"


# -- one gate rule, one level order ----------------------------------------------------------------------------------
def test_the_level_order_is_defined_once():
    assert Level.MUST.at_least(Level.SHOULD) and Level.SHOULD.at_least("MAY") and not Level.MAY.at_least("SHOULD")
    assert Level.strictest(["MAY", "SHOULD"]) is Level.SHOULD and Level.strictest(["SHOULD", "MUST"]) is Level.MUST
    assert sorted(["MAY", "MUST", "SHOULD"], key=Level.sort_key) == ["MUST", "SHOULD", "MAY"]


@pytest.mark.parametrize("level, gate, gating", [
    ("MUST", "must", True), ("SHOULD", "must", False), ("SHOULD", "should", True), ("MAY", "should", False),
    (None, "should", False), ("", "must", False), ("LOUDLY", "should", False),
])
def test_one_gate_rule_for_levels_and_observations(level, gate, gating):
    assert gates(level, gate) is gating
    if level in ("MUST", "SHOULD", "MAY"):  # an observation gates by the level it failed at
        failed = Observation("RESP-04", Verdict.FAILED, "t", "m", level)
        assert gates(failed, gate) is gating


def test_an_observation_without_a_clause_level_gates_at_its_requirements():
    assert gates(Observation("AUTH-01", Verdict.FAILED, "t", "m"), "must")  # AUTH-01 is a MUST
    assert not gates(Observation("SEC-04", Verdict.FAILED, "t", "m"), "must")  # SEC-04 is a SHOULD


def test_a_check_that_judged_no_exchange_is_never_a_pass():
    """Never green without evidence: a test that ended without judging an exchange or recording a verdict (a check
    returning early without noting what it compared) is inconclusive, while one that recorded its own pass keeps it."""
    call = pytest.CallInfo.from_call(lambda: None, "call")
    report = pytest.TestReport("t", ("t.py", 0, "t"), {}, "passed", None, "call")
    [obs], suite_error = conclude(verdicts.TestContext("t", ("SEC-01",)), report, call)
    assert (obs.verdict, suite_error) == (Verdict.INCONCLUSIVE, False) and "without judging any exchange" in obs.message
    ctx = verdicts.TestContext("t", ("SEC-01",))
    ctx.observations.append(Observation("SEC-01", Verdict.PASSED, "t", "held on 3 exchange(s) of the run"))
    [obs], _ = conclude(ctx, report, call)
    assert obs.verdict is Verdict.PASSED


@pytest.mark.parametrize("owner, body, charged", [
    ("AUTH-03", {"email": "a@example.com", "password": "Passw0rd!\x00anything"}, "INPUT-09"),  # NUL near miss
    ("AUTH-03", {"email": "a@example.com", "password": "pASSW0RD!"}, "AUTH-03"),  # no other home: its own
    ("AUTH-01", {"email": "a@example.com", "password": "Wrong-Passw0rd"}, "AUTH-01"),
    ("AUTH-03", {"email": "a@example.com", "password": "\u202eright-to-left"}, "INPUT-09"),
    ("AUTH-03", {"email": "a@example.com", "password": "A" * 1001}, "INPUT-09"),
    ("AUTH-03", {"email": "a@example.com", "password": "café-Passw0rd"}, "AUTH-03"),  # accents are not hostile
    ("INPUT-03", {"email": "a@example.com", "password": ["\x00"]}, "INPUT-03"),  # its statement forbids a 5xx
    ("AUTH-06", {"email": "a@example.com", "password": "\ud800"}, "AUTH-06"),
])
def test_a_server_error_is_charged_to_the_requirement_whose_statement_it_breaks(owner, body, charged):
    """A 5xx breaks the statement that forbids it: the request's own requirement's when that statement names 5xx,
    else INPUT-09's when the request carries a string INPUT-09 names, else (an ordinary request) its own."""
    from contract_tests.judging.invariants import server_error_owner
    from contract_tests.sending.exchange import LoginRequest
    from contract_tests.sending.secrets import password_secret

    assert server_error_owner(LoginRequest("p", "failure", json=body), owner) == charged
    secret = {**body, "password": password_secret(body["password"])} if isinstance(body["password"], str) else body
    assert server_error_owner(LoginRequest("p", "failure", json=secret), owner) == charged  # secrets by their values
