"""The work a run does while it waits on the network: one-time steps in order, then repeated steps for as long as
they report work done (the fuzzing properties planned ahead of their tests)."""

from __future__ import annotations

import pytest

from contract_tests.warm_up import WarmUp

pytestmark = pytest.mark.unit


def test_one_time_steps_then_a_repeated_step_while_it_has_work():
    done: list[str] = []
    warm = WarmUp()
    warm.once("a", lambda: done.append("a"))
    warm.once("b", lambda: done.append("b"))
    left = iter([True, True, False])
    warm.repeat("ahead", lambda: done.append("ahead") or next(left))
    while warm.step():
        pass
    assert done == ["a", "b", "ahead", "ahead", "ahead"]  # the third call had no work: dropped after it
    assert not warm.step()


def test_a_repeated_step_that_fails_is_dropped_and_a_one_time_step_never_repeats():
    calls: list[str] = []

    def broken() -> bool:
        calls.append("broken")
        raise RuntimeError("its fixture could not be set up")

    warm = WarmUp()
    warm.once("once", lambda: calls.append("once") or True)  # True from a one-time step: not again
    warm.repeat("ahead", broken)
    while warm.step():
        pass
    assert calls == ["once", "broken"]
