"""Under pytest-xdist, a request naming the account waits while another worker is at an earlier check of the run's
order (sending/run_order.py): only for a check running or next on its worker, never for one still queued, so no two
checks wait for each other whatever order xdist deals them in; bounded all the same."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading

import pytest

from contract_tests.sending.run_order import FRONTIERS, RunOrder
from contract_tests.sending.shared_tally import SharedTally


def _orders(tmp_path, n: int) -> list[RunOrder]:
    tally = SharedTally(str(tmp_path / "tally.json"))
    orders = [RunOrder() for _ in range(n)]
    for order in orders:
        order.shared = tally
    return orders


@pytest.mark.unit
def test_a_request_waits_while_another_worker_is_at_an_earlier_check_and_goes_once_it_moves_past(tmp_path):
    first, second = _orders(tmp_path, 2)
    first.running(1)
    second.running(3)
    gone = threading.Event()

    def send():
        asyncio.run(second.wait_for_turn(stalled_after=60.0))
        gone.set()

    sender = threading.Thread(target=send)
    sender.start()
    assert not gone.wait(0.3)  # the other worker runs check 1: check 3's request waits
    first.finished(2)  # it goes on to check 2 (still before 3): waiting on
    assert not gone.wait(0.3)
    first.finished(7)  # its next check comes after: the request goes
    sender.join(timeout=30)
    assert gone.is_set()


@pytest.mark.unit
def test_a_request_never_waits_for_a_later_check_its_own_worker_or_a_worker_without_a_next_check(tmp_path):
    first, second, third = _orders(tmp_path, 3)
    first.running(5)  # later than the running check
    third.finished(None)  # finished, nothing next
    second.running(3)
    assert asyncio.run(second.wait_for_turn(stalled_after=0.0))
    # its own worker's earlier checks ran already or are queued behind it (loadfile): never waited for
    second.finished(0)
    second.running(4)
    assert asyncio.run(second.wait_for_turn(stalled_after=0.0))
    alone = RunOrder()  # one process: nothing to wait for
    alone.running(5)
    assert asyncio.run(alone.wait_for_turn(stalled_after=0.0))


@pytest.mark.unit
def test_a_frontier_that_does_not_move_or_of_a_process_that_is_gone_holds_no_request(tmp_path):
    first, second = _orders(tmp_path, 2)
    first.running(0)
    second.running(2)
    # check 0 never finishes: it goes after the stall, saying so
    assert not asyncio.run(second.wait_for_turn(stalled_after=0.1))
    assert not asyncio.run(second.wait_for_turn(stalled_after=60.0, deadline=0.0))  # the run's deadline passed
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True).stdout.strip()
    first.shared.transact(lambda data: data[FRONTIERS].update({f"{gone}:1": 0}))  # a worker that died at check 0
    first.finished(None)
    assert asyncio.run(second.wait_for_turn(stalled_after=60.0))


@pytest.mark.unit
def test_workers_running_their_checks_out_of_the_runs_order_never_wait_for_each_other(tmp_path):
    # loadfile: worker A runs its file (checks 0 and 3), then another (check 1); worker B runs check 2, then 4.
    # Waiting for every earlier check would hold A's check 3 for check 1, queued behind it on A: for ever.
    a, b = _orders(tmp_path, 2)
    sent: list[str] = []
    plans = {"A": (a, [0, 3, 1]), "B": (b, [2, 4])}
    for order, checks in plans.values():  # xdist hands each worker its first check before any runs
        order.finished(checks[0])
    start = threading.Barrier(2)

    def worker(name: str) -> None:
        order, checks = plans[name]
        start.wait()
        for i, position in enumerate(checks):
            order.running(position)
            asyncio.run(order.wait_for_turn(stalled_after=600.0))
            sent.append(f"{name}{position}")
            order.finished(checks[i + 1] if i + 1 < len(checks) else None)

    threads = [threading.Thread(target=worker, args=(name,), daemon=True) for name in plans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), f"waiting for each other; sent so far: {sent}"
    # A's check 3 after B's 2 (running when it came), B's 4 after A's 3 and 1 (A's frontier until it finished)
    assert sent.index("B2") < sent.index("A3") < sent.index("A1") < sent.index("B4"), sent


_CONFTEST = r"""
import asyncio

import pytest
from contract_tests.sending.run_order import RunOrder
from contract_tests.sending.shared_tally import SharedTally

ORDER = RunOrder()
ORDER.shared = SharedTally({tally!r})


def pytest_collection_modifyitems(items):  # the run's order: by the number in the test's name, across the files
    items.sort(key=lambda item: int(item.name.rpartition("_")[2]))


def _position(item):
    return item.session.items.index(item)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    ORDER.running(_position(item))


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem):
    ORDER.finished(_position(nextitem) if nextitem is not None else None)


@pytest.fixture
def send(worker_id):
    def send():
        assert asyncio.run(ORDER.wait_for_turn(stalled_after=600.0))  # a stall would be a wait that never ends
        with open({sent!r}, "a") as fh:
            fh.write(f"{{worker_id}} {{ORDER.position}}\n")
    return send
"""


def test_two_workers_dealt_whole_files_out_of_the_runs_order_finish(pytester):
    pytest.importorskip("xdist")
    tally, sent = pytester.path / "tally.json", pytester.path / "sent.txt"
    pytester.makeconftest(_CONFTEST.format(tally=str(tally), sent=str(sent)))
    # three files whose checks interleave in the run's order: one of the two workers runs two of them, one file
    # after the other, so some of its checks come after checks of a later position it ran before them
    for name, start in (("test_a", 0), ("test_b", 1), ("test_c", 2)):
        pytester.makepyfile(**{name: "\n".join(f"def test_{start + 3 * k}(send):\n    send()\n" for k in range(4))})
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-n", "2", "--dist=loadfile", "-q", timeout=240)
    result.assert_outcomes(passed=12)
    by_worker: dict[str, list[int]] = {}
    for line in sent.read_text().splitlines():
        worker, position = line.split()
        by_worker.setdefault(worker, []).append(int(position))
    assert sorted(p for positions in by_worker.values() for p in positions) == list(range(12))
    assert any(positions != sorted(positions) for positions in by_worker.values()), by_worker  # out of order
