"""Cross-cutting requirements (RESP-04, RESP-05, RESP-06, INPUT-06, SEC-02, SEC-04, SEC-08, HTTP-02, TOKEN-04).

The invariants (contract_tests/judging/invariants.py) judge every exchange of the run, whatever test sent it.  A
violation on a request of a test that does not check the requirement is reported here, under the requirement's
own ID and title, so the test that merely sent the request keeps its own verdict.  These items run after every
test that sends requests (conftest.py); each judges the exchanges of its own process (one per xdist worker).
"""

import pytest

from contract_tests.judging import invariants
from contract_tests.judging.results import Observation, Verdict
from contract_tests.judging.verdicts import Violation, not_applicable
from contract_tests.contract.catalog import load_catalog

_CATALOG = load_catalog()


@pytest.mark.parametrize("rid", [
    pytest.param(rid, id=f"{rid} {_CATALOG[rid].title}", marks=pytest.mark.requirement(rid))
    for rid in invariants.REQUIREMENTS
])
def test_invariant(suite, rid):
    held, judged = suite.observer.take(rid)
    ctx = suite.ledger.current
    for obs in held:
        obs.message += f"\n  seen in:   {obs.test} (which sent the request; it does not fail for this)"
        obs.test = ctx.nodeid
        ctx.observations.append(obs)
    if held:  # the first first-hand report in full; the others briefly; repeats counted (plugin.py)
        raise Violation(next((o for o in held if not o.repeat), held[0]))
    if not judged:
        not_applicable(f"no exchange of this run that {rid} applies to was judged here")
    ctx.observations.append(Observation(rid, Verdict.PASSED, ctx.nodeid, f"held on {judged} exchange(s) of the run"))
