"""Each function's cost per call, from the Task calls in the executions' history."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from bakusoku.races.capacity import DEFAULT_COSTS, MIN_SAMPLES
from bakusoku.races.costs import (
    busy_rate,
    costs_by_function,
    measured_cost,
    nearest_rank,
    task_durations,
)
from bakusoku.workflow.tables import execution_events, metadata

NOW = 1_800_000_000.0


def history(tmp_path: Path, calls: list[tuple[str, str, float, float]]) -> sa.Engine:
    """A history with one scheduled/succeeded pair per (execution, state, start, seconds)."""
    db = sa.create_engine(f"sqlite:///{tmp_path / 'h.db'}")
    metadata.create_all(db, tables=[execution_events])
    rows = []
    for n, (execution, state, start, seconds) in enumerate(calls):
        rows.append(
            {
                "execution_name": execution,
                "event_id": 2 * n + 1,
                "type": "LambdaFunctionScheduled",
                "timestamp": start,
                "state_name": state,
            }
        )
        rows.append(
            {
                "execution_name": execution,
                "event_id": 2 * n + 2,
                "type": "LambdaFunctionSucceeded",
                "timestamp": start + seconds,
                "state_name": state,
            }
        )
    with db.begin() as conn:
        conn.execute(execution_events.insert(), rows)
    return db


def test_durations_per_state_come_from_scheduled_to_succeeded(tmp_path: Path) -> None:
    db = history(
        tmp_path,
        [
            ("e1", "StorePhoto", NOW - 100, 0.05),
            ("e1", "MakeRenditions", NOW - 99, 0.8),
            ("e2", "StorePhoto", NOW - 50, 0.07),
            ("old", "StorePhoto", NOW - 10 * 86400, 9.0),  # outside the window
        ],
    )
    found = task_durations(db, since_seconds=86400, now=NOW)
    assert sorted(found) == ["MakeRenditions", "StorePhoto"]
    assert found["StorePhoto"] == pytest.approx([0.05, 0.07])
    assert found["MakeRenditions"] == pytest.approx([0.8])


def test_enough_calls_are_measured_and_too_few_fall_back_to_the_default() -> None:
    calls = [float(i) for i in range(1, 101)]
    cost = measured_cost("make-renditions", calls, memory_mb=2048)
    assert (cost.p50_seconds, cost.p95_seconds, cost.samples) == (50.0, 95.0, 100)
    few = measured_cost("make-renditions", calls[: MIN_SAMPLES - 1])
    assert (few.p50_seconds, few.p95_seconds) == DEFAULT_COSTS["make-renditions"]
    assert few.samples == 0


def test_states_are_gathered_by_the_function_they_call() -> None:
    by_state = {"StorePhoto": [1.0], "MarkReady": [2.0], "Other": [3.0]}
    assert costs_by_function(
        by_state, {"StorePhoto": "store-photo", "MarkReady": "mark-ready"}
    ) == {
        "store-photo": [1.0],
        "mark-ready": [2.0],
    }
    assert nearest_rank([3.0, 1.0, 2.0], 50) == 2.0


def test_calls_that_waited_for_a_worker_are_not_priced_at_their_wait(tmp_path: Path) -> None:
    db = history(
        tmp_path,
        [
            ("a", "StorePhoto", NOW - 100, 1.0),  # alone: found a worker
            ("b", "StorePhoto", NOW - 99.9, 1.0),  # second of two workers: found one
            ("c", "StorePhoto", NOW - 99.8, 5.0),  # both busy: queued, its 5 s mostly waiting
            ("d", "StorePhoto", NOW - 50, 0.5),  # later, alone again
        ],
    )
    found = task_durations(db, since_seconds=86400, now=NOW, slots=2)
    assert found["StorePhoto"] == pytest.approx([1.0, 1.0, 0.5])
    everything = task_durations(db, since_seconds=86400, now=NOW)
    assert sorted(everything["StorePhoto"]) == pytest.approx([0.5, 1.0, 1.0, 5.0])


def test_the_machines_rate_is_what_it_finished_while_every_worker_was_busy(
    tmp_path: Path,
) -> None:
    # two workers, both busy from NOW-100 until b ends at NOW-95: one photo ready in 5 s
    db = history(
        tmp_path,
        [
            ("a", "StorePhoto", NOW - 101, 1.0),
            ("a", "MarkReady", NOW - 100, 10.0),
            ("b", "MarkReady", NOW - 100, 5.0),
            ("c", "MarkReady", NOW - 30, 1.0),  # alone: the workers were not all busy
        ],
    )
    rate, busy = busy_rate(db, "MarkReady", slots=2, since_seconds=86400, now=NOW)  # type: ignore[misc]
    assert busy == pytest.approx(5.0)
    assert rate == pytest.approx(1 / 5.0)
    assert busy_rate(db, "MarkReady", slots=3, since_seconds=86400, now=NOW) is None
