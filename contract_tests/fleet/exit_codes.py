"""The fleet's exit code: the worst of its deployments' exit codes, in this order (worst first).

* ``2``  interrupted (SIGINT or SIGTERM): the fleet run itself did not finish; what it says is partial;
* ``1``  violations at a deployment's gate (or an error of the suite itself): a failure with its cause;
* ``4``  could not test a deployment: unreachable, not the login API, credentials that do not log in, its
  credential variables not set, its process ended without a report;
* ``10`` inconclusive: a deployment's in-scope requirement undecided, or its deadline reached;
* ``5``  no contract test selected for a deployment;
* ``0``  every deployment conforming (or, with fail_on_new, without new failures).

A violation outranks "could not test": one deployment proven to break the contract is the finding to act on
first, whatever else could not be tested; the report and the terminal still give every deployment's own code.
A code outside the suite's documented ones (pytest's internal error 3, a process killed by a signal) is an error
of the suite itself, ranked and returned as ``1``.
"""

from __future__ import annotations

from ..judging.outcome import (EXIT_CONFORMING, EXIT_COULD_NOT_TEST, EXIT_INCONCLUSIVE, EXIT_INTERRUPTED,
                               EXIT_NO_TESTS, EXIT_VIOLATIONS)

WORST_FIRST = (EXIT_INTERRUPTED, EXIT_VIOLATIONS, EXIT_COULD_NOT_TEST, EXIT_INCONCLUSIVE, EXIT_NO_TESTS,
               EXIT_CONFORMING)
FLEET_VERDICTS = {
    EXIT_INTERRUPTED: "interrupted",
    EXIT_VIOLATIONS: "non-conforming",
    EXIT_COULD_NOT_TEST: "could-not-test",
    EXIT_INCONCLUSIVE: "inconclusive",
    EXIT_NO_TESTS: "nothing-selected",
    EXIT_CONFORMING: "conforming",
}


def documented(code: int | None) -> int:
    """*code* as the fleet ranks it: a documented exit code, an undocumented one (or none) as 1."""
    return code if code in WORST_FIRST else EXIT_VIOLATIONS


def worst(codes: list[int | None]) -> int:
    """The fleet's exit code; 4 (could not test) for a fleet with no deployment."""
    ranked = [documented(c) for c in codes]
    if not ranked:
        return EXIT_COULD_NOT_TEST
    return min(ranked, key=WORST_FIRST.index)
