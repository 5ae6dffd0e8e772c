"""The capacity plan: Little's law per function, one machine's workers, bounds and backlog."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from bakusoku.races.capacity import (
    BURST_FACTOR,
    DEFAULT_COSTS,
    TIMEOUT_SHARE,
    CapacityError,
    FunctionCost,
    Machine,
    RaceProfile,
    default_cost,
    parse_duration,
    plan_capacity,
    plan_lines,
    race_start,
)

START = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
MACHINE = Machine(cores=2, memory_mb=24_000, task_timeout_seconds=30)


def costs(render: float = 0.5) -> list[FunctionCost]:
    return [
        FunctionCost("api", 0.02, 0.05, 100, 1024, connections=2),
        FunctionCost("store-photo", 0.05, 0.1, 100, 2048),
        FunctionCost("make-renditions", render, render * 1.5, 100, 2048),
        FunctionCost("mark-ready", 0.02, 0.05, 100, 2048),
    ]


def test_each_function_gets_the_peaks_rate_times_its_p95() -> None:
    profile = RaceProfile(photos=36_000, starts_at=START, peak_share=0.5, peak_seconds=3600)
    plan = plan_capacity("shonan", profile, costs(), MACHINE)
    assert plan.peak_photos_per_second == pytest.approx(5.0)  # 18,000 in one hour
    render = {f.function: f for f in plan.functions}["make-renditions"]
    assert render.concurrency == math.ceil(5.0 * 0.75)
    assert render.provisioned == render.concurrency
    assert render.reserved == math.ceil(render.concurrency * BURST_FACTOR)
    # 18,000 photos in the other three hours
    assert plan.later_photos_per_second == pytest.approx(18_000 / (3 * 3600))


def test_aws_connections_are_reserved_times_connections_each() -> None:
    plan = plan_capacity("r", RaceProfile(photos=10_000, starts_at=START), costs(), MACHINE)
    by_name = {f.function: f for f in plan.functions}
    expected = by_name["api"].reserved * 2 + sum(
        by_name[n].reserved for n in ("store-photo", "make-renditions", "mark-ready")
    )
    assert plan.aws_database_connections == expected


def test_a_small_race_fits_one_machine_with_no_warning() -> None:
    profile = RaceProfile(photos=500, starts_at=START)  # 300 in the peak hour: 1 every 12 s
    plan = plan_capacity("small", profile, costs(), MACHINE)
    local = plan.local
    assert plan.verdict == "ok" and plan.warnings == ()
    assert local.backlog_photos == 0
    assert local.workers == local.workers_needed == 1
    assert local.worst_wait_seconds == pytest.approx(0.1 + 0.75 + 0.05)
    assert local.finishes_within_window


def test_a_peak_over_the_cores_rate_leaves_a_backlog_and_warns() -> None:
    # 2 cores at 0.57 s of work per photo render 3.5 photos/s; the peak brings 5/s.
    profile = RaceProfile(photos=36_000, starts_at=START, peak_share=0.5, peak_seconds=3600)
    plan = plan_capacity("big", profile, costs(), MACHINE)
    local = plan.local
    rate = 2 / (0.05 + 0.5 + 0.02)
    assert local.photos_per_second == pytest.approx(rate)
    backlog = (5.0 - rate) * 3600
    assert local.backlog_photos == math.ceil(backlog)
    later = 18_000 / (3 * 3600)
    assert local.backlog_clear_seconds == pytest.approx(3600 + backlog / (rate - later))
    assert local.worst_wait_seconds == pytest.approx(backlog / rate + 0.1 + 0.75 + 0.05)
    assert local.machines_needed == 2
    assert plan.verdict == "warning"
    assert any("one machine cannot keep up" in w for w in plan.warnings)
    assert any("target is missed" in w for w in plan.warnings)


def test_a_machine_that_never_catches_up_cannot_finish_within_the_window() -> None:
    profile = RaceProfile(photos=200_000, starts_at=START, window_seconds=2 * 3600)
    plan = plan_capacity("huge", profile, costs(), MACHINE)
    assert plan.local.backlog_clear_seconds is None
    assert not plan.local.finishes_within_window
    assert any("cannot finish 200000 photos within the 2 h window" in w for w in plan.warnings)


def test_workers_are_bounded_by_cores_and_memory() -> None:
    profile = RaceProfile(photos=36_000, starts_at=START, peak_share=0.5)
    plan = plan_capacity("big", profile, costs(), MACHINE)
    assert plan.local.workers_needed == math.ceil(5.0 * (0.1 + 0.75 + 0.05))
    assert plan.local.workers == 4  # two per core
    small = Machine(cores=8, memory_mb=5_000, task_timeout_seconds=30)
    assert plan_capacity("big", profile, costs(), small).local.workers == 1  # 4 GB / 2 GB → 1


def test_executions_in_flight_keep_the_wait_inside_the_task_timeout() -> None:
    profile = RaceProfile(photos=36_000, starts_at=START, peak_share=0.5)
    plan = plan_capacity("big", profile, costs(), MACHINE)
    local = plan.local
    # each in-flight execution ahead waits its turn for one of the workers
    wait = local.max_running_executions / local.workers * 0.75
    assert wait <= MACHINE.task_timeout_seconds * TIMEOUT_SHARE
    assert local.max_running_executions == int(4 * 30 * TIMEOUT_SHARE / 0.75)
    assert local.db_max_connections == local.workers
    assert local.database_connections == local.workers + 5 + 2


def test_the_window_raises_before_the_start_and_lowers_after() -> None:
    profile = RaceProfile(photos=100, starts_at=START, window_seconds=4 * 3600, lead_seconds=900)
    plan = plan_capacity("r", profile, costs(), MACHINE)
    assert plan.raise_at == START - timedelta(minutes=15)
    assert plan.lower_at == START + timedelta(hours=4)
    data = plan.as_dict()
    assert data["raise_at"] == "2026-12-06T02:45:00+00:00"
    assert data["verdict"] == "ok"
    assert data["local"]["workers"] == plan.local.workers


def test_defaults_say_they_were_not_measured() -> None:
    cost = default_cost("make-renditions", 2048)
    assert (cost.p50_seconds, cost.p95_seconds) == DEFAULT_COSTS["make-renditions"]
    assert cost.source == "default (not measured here)"
    assert FunctionCost("x", 1, 2, samples=40).source == "history (40 calls)"
    plan = plan_capacity("r", RaceProfile(photos=100, starts_at=START), [cost], MACHINE)
    assert "[default (not measured here)]" in "\n".join(plan_lines(plan))


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"photos": 0}, "expected photos"),
        ({"starts_at": datetime(2026, 12, 6, 9, 0)}, "time zone"),
        ({"peak_share": 1.5}, "peak's share"),
        ({"peak_seconds": 5 * 3600}, "within the window"),
        ({"target_seconds": 0}, "target"),
    ],
)
def test_a_profile_that_cannot_be_planned_names_what_to_change(
    change: dict[str, object], named: str
) -> None:
    profile = RaceProfile(**{"photos": 100, "starts_at": START, **change})  # type: ignore[arg-type]
    with pytest.raises(CapacityError, match=named):
        plan_capacity("r", profile, costs(), MACHINE)


def test_the_text_names_the_warning() -> None:
    profile = RaceProfile(photos=36_000, starts_at=START, peak_share=0.5)
    text = "\n".join(plan_lines(plan_capacity("big", profile, costs(), MACHINE)))
    assert "verdict: warning" in text
    assert "warning: one machine cannot keep up" in text


def test_durations_and_starts_are_read_as_people_write_them() -> None:
    assert parse_duration("4h", "--window") == 4 * 3600
    assert parse_duration("1h30m", "--window") == 5400
    assert parse_duration("7d", "--history") == 7 * 86400
    with pytest.raises(CapacityError, match="--window '4 hours' is not a duration"):
        parse_duration("4 hours", "--window")
    assert race_start("2026-12-06T11:30+09:00") == datetime(2026, 12, 6, 2, 30, tzinfo=UTC)
    on_the_day = race_start("11:30", "2026-12-06", "Asia/Tokyo")
    assert on_the_day == datetime(2026, 12, 6, 2, 30, tzinfo=UTC)
    with pytest.raises(CapacityError, match="needs its date and UTC offset"):
        race_start("2026-12-06T11:30")  # no offset: which 11:30?
    with pytest.raises(CapacityError, match="cannot be read"):
        race_start("11:30", "2026-12-06", "Mars/Olympus")
