"""Same verdicts at any concurrency, and the promises kept at the server.

Each target below is tested four times, through the measuring proxy (tests/measuring_proxy.py): sequentially
(--in-flight 1), at the default in flight, at --in-flight 32, and with two pytest-xdist workers (-n 2). The verdict of
every requirement must be the same in the four runs, and what the server saw must keep the suite's promises in each:
the failed-login budget, no more refusals on the account in a row than the sequential run (3: a success is interleaved
after three), no successful login in flight with a possible failure, no request sent after a 429 or lock answer
before its Retry-After (those already on the wire excepted, by count), at most one lock answer per lock period
(nothing sent to a locked identifier within the lock), and the suite's counts of rate-limit and lock answers equal to
the server's.

The targets are chosen for the promises they put to the test (the matrix is sized for CI: 7 targets x 4 runs):
the plain reference (the budget, in a row and overlap on a target that never pushes back); four lockout policies
(423 with Retry-After and no reset on success; 403 USER_FORBIDDEN for any identifier without Retry-After; 429 that
a success resets; a sliding window that outlives the lock, 429 TOO_MANY_FAILED_ATTEMPTS); an address rate limiter
with a truthful Retry-After (the pause, from any worker); a stack server, nginx's HTML 429 page without Retry-After
in front of the reference (the default back-off). Left out, and why: the other conforming variants and knobs (error
envelopes, codings, framing, validators) change how answers are judged, not when the suite may send
(tests/test_in_flight.py compares verdicts across --in-flight on the reference, faults and the nginx front); the
account rate limit (rate-limit-account-429) and the lockout stack (423, Retry-After, 5 failures) answer as
lockout-429-reset-on-success and lockout-account-423 do; the address limiter without Retry-After (address-429-nginx)
as the nginx front; the other stack servers (NestJS, FastAPI, Express look-alikes) never push back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import pytest
from test_lock_pauses import _lockout, _measured_run


@dataclass(frozen=True)
class Target:
    name: str
    knobs: tuple[str, ...] = ()
    variant: str | None = None
    service: Callable[[], object] | None = None  # a policy of the tests' own (test_lock_pauses.py)
    lock_seconds: float | None = None  # the server's lock period (inf: no Retry-After, the suite leaves it for good)


TARGETS = [
    Target("reference"),
    Target("lockout-account-423", knobs=("lockout-account-423",), lock_seconds=2.0),
    Target("lockout-identifier-403", knobs=("lockout-identifier-403",), lock_seconds=math.inf),
    Target("lockout-429-reset-on-success", knobs=("lockout-429-reset-on-success",), lock_seconds=2.0),
    Target("lockout-sliding", service=lambda: _lockout("lockout-sliding", window=6.0, lock_seconds=2.0),
           lock_seconds=2.0),
    Target("address-429-json", knobs=("address-429-json",)),
    Target("nginx-front", variant="nginx-front"),
]

SETTINGS = {
    "in-flight-1": ("--in-flight=1",),
    "default": (),
    "in-flight-32": ("--in-flight=32",),
    "xdist-2": ("-n", "2"),
}


def _verdicts(report: dict) -> dict[str, tuple]:
    return {r["id"]: (r["verdict"], r.get("failed_level")) for r in report["requirements"]}


@dataclass
class Run:
    verdicts: dict[str, tuple]
    broken: list[str]  # promises the server saw broken


_RUNS: dict[str, dict[str, Run]] = {}  # target name -> setting -> run: both tests of a target read the same four runs


def _runs(target: Target, tmp_path_factory) -> dict[str, Run]:
    if target.name not in _RUNS:
        pytest.importorskip("xdist")
        runs = {}
        for setting, args in SETTINGS.items():
            workdir = tmp_path_factory.mktemp(f"{target.name}-{setting}")
            service = target.service() if target.service else None
            measured, report, output = _measured_run(workdir, service, *args, knobs=target.knobs,
                                                     variant=target.variant)
            if setting == "xdist-2":
                assert report["run"]["xdist_workers"] == 2, output[-2000:]
            runs[setting] = Run(_verdicts(report), measured.broken_promises(report["run"],
                                                                            lock_seconds=target.lock_seconds))
        _RUNS[target.name] = runs
    return _RUNS[target.name]


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_the_promises_are_kept_at_the_server_at_any_concurrency(tmp_path_factory, target):
    runs = _runs(target, tmp_path_factory)
    assert {setting: run.broken for setting, run in runs.items() if run.broken} == {}


# Where a lock without a usable end (no Retry-After, or a count that outlives the lock) holds an identifier for the
# rest of the run, which checks it keeps from being observed must not depend on which of the identifier's requests
# reached the target first: an unknown identifier the suite invented is replaced by a fresh one (sending/stand_ins.py),
# and the requests naming the account reach the target in the run's order (sent ahead, they wait for their test's
# turn; under xdist while the other worker is at an earlier check, a session fixture's request sent once per run:
# run_order.py, run_once.py), so the same checks come before the lock in every setting. Where the lock ends but the
# count outlives it (lockout-sliding), the window is learned and the remaining failed logins spread under it
# (sending/locks/learning.py): the checks are decided at every setting, not blocked where a faster run met the lock again.
@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_the_verdicts_are_the_same_at_any_concurrency(tmp_path_factory, target):
    runs = _runs(target, tmp_path_factory)
    sequential = runs["in-flight-1"].verdicts
    differing = {setting: {rid: (sequential.get(rid), verdict) for rid, verdict in run.verdicts.items()
                           if sequential.get(rid) != verdict}
                 for setting, run in runs.items()}
    assert {setting: diff for setting, diff in differing.items() if diff} == {}


# -- one account gate for two processes ------------------------------------------------------------------------------
_GATE_WORKER = r"""
import asyncio, sys
from contract_tests.sending.account_gate import AccountGate
from contract_tests.sending.shared_tally import SharedTally

tally, budget = SharedTally(sys.argv[1]), int(sys.argv[2])
gate = AccountGate(3)
gate.shared = tally


async def serve(kind):
    # the server: what is in flight on the account when this request arrives, and the refusals in a row it answered
    def arrive(data):
        server = data.setdefault("server", {"success": 0, "failure": 0, "streak": 0, "longest": 0, "failures": 0,
                                            "overlaps": 0})
        server["overlaps"] += bool(server["failure" if kind == "success" else "success"])
        server[kind] += 1
    tally.transact(arrive)
    await asyncio.sleep(0.003)  # on the wire a while: the other requests would overlap it here
    def answer(data):
        server = data["server"]
        server[kind] -= 1
        if kind == "success":
            server["streak"] = 0
        else:
            server["streak"] += 1
            server["failures"] += 1
            server["longest"] = max(server["longest"], server["streak"])
    tally.transact(answer)


def check_budget(held):
    if not tally.take("failed_logins", budget):
        raise LookupError("budget")


async def interleave():
    async with gate.success(interleaving=True) as turn:
        await serve("success")
        turn.logged_in = True


async def client(n):
    for i in range(n):
        if i % 4 == 3:
            async with gate.success() as turn:
                await serve("success")
                turn.logged_in = True
            continue
        try:
            async with gate.spender(check_budget, interleave):
                await serve("failure")
        except LookupError:
            tally.add("refused")
            continue
        gate.counted()


tally.add("ready")
tally.wait_for("ready", 2, stalled_after=30)  # both processes start together


async def main():  # three clients of the gate in this process, as the requests on the client's loop
    await asyncio.gather(*(client(12) for _ in range(3)))


asyncio.run(main())
"""


def test_two_processes_share_one_account_gate(tmp_path):
    import json
    import subprocess
    import sys

    path, budget = str(tmp_path / "tally.json"), 25
    workers = [subprocess.Popen([sys.executable, "-c", _GATE_WORKER, path, str(budget)]) for _ in range(2)]
    assert [worker.wait(timeout=120) for worker in workers] == [0, 0]
    data = json.loads((tmp_path / "tally.json").read_text(encoding="utf-8"))
    server = data["server"]
    # 2 processes x 3 clients x 9 possible failures = 54 asked for: exactly the budget reached the server, the rest
    # was refused before it was sent; never more than 3 in a row, never a success in flight with a failure
    assert (server["failures"], data["failed_logins"], data["refused"]) == (budget, budget, 54 - budget)
    assert server["longest"] <= 3 and server["overlaps"] == 0
    assert data["account_gate"]["spending"] == {} and data["account_gate"]["succeeding"] == {}
