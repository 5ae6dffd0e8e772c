"""``workers.kill``: the main process kills its function's workers every interval, while in force."""

from __future__ import annotations

from pathlib import Path

from bakusoku.faults import FaultControl
from bakusoku.local.worker_killer import WorkerKiller

WORKERS = {"make-renditions": [101, 102], "store-photo": [201]}


def pids(function: str) -> list[int]:
    return WORKERS[function] if function else sorted(p for ps in WORKERS.values() for p in ps)


def test_workers_of_the_target_are_killed_every_interval_while_the_fault_lasts(
    tmp_path: Path,
) -> None:
    now = [1000.0]
    faults = FaultControl(tmp_path, clock=lambda: now[0])
    killed: list[int] = []
    killer = WorkerKiller(faults, pids, kill=killed.append)
    assert killer.step(0.0) == []  # no fault
    faults.inject("workers.kill", 10, target="make-renditions", interval_seconds=2)
    assert killer.step(0.0) == [101, 102]
    assert killer.step(1.0) == []  # not yet the next interval
    assert killer.step(2.0) == [101, 102]
    now[0] += 10  # the fault's lease ran out
    assert killer.step(4.0) == []
    assert killed == [101, 102, 101, 102] and killer.killed == 4


def test_without_a_target_every_function_loses_its_workers_by_the_percentage(
    tmp_path: Path,
) -> None:
    rolls = iter([0.1, 0.9, 0.1])
    faults = FaultControl(tmp_path)
    killer = WorkerKiller(faults, pids, chance=lambda: next(rolls), kill=lambda _pid: None)
    faults.inject("workers.kill", 10, percentage=50)
    assert killer.step(0.0) == [101, 201]
