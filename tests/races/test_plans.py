"""Stored race plans: what `bakusoku up` and a stage's template take from them, and when."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bakusoku.config import Settings
from bakusoku.races.capacity import FunctionCost, Machine, RaceProfile, plan_capacity
from bakusoku.races.plans import (
    RacePlanError,
    apply_plan,
    current_plan,
    next_plan,
    plan_banner,
    raised_reservations,
    read_plans,
    stage_windows,
    target_name,
    write_plan,
)

START = datetime(2026, 12, 6, 2, 30, tzinfo=UTC)
MACHINE = Machine(cores=2, memory_mb=24_000, task_timeout_seconds=30)
COSTS = [
    FunctionCost("store-photo", 0.05, 0.1, 50, 2048),
    FunctionCost("make-renditions", 0.5, 0.8, 50, 2048),
]


def planned(race: str, photos: int, start: datetime = START):  # type: ignore[no-untyped-def]
    return plan_capacity(race, RaceProfile(photos=photos, starts_at=start), COSTS, MACHINE)


def test_the_local_plan_is_in_force_from_its_lead_until_the_window_ends(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    plan = planned("shonan", 20_000)
    path = write_plan(settings, target_name(), plan)
    assert path == tmp_path / "race-plans" / "local" / "shonan.json"
    assert current_plan(settings, START - timedelta(minutes=16)) is None
    assert next_plan(settings, START - timedelta(minutes=16)).race == "shonan"  # type: ignore[union-attr]
    during = current_plan(settings, START + timedelta(hours=1))
    assert during is not None and during.workers == plan.local.workers
    assert during.provisioned["make-renditions"] == plan.functions[1].provisioned
    assert current_plan(settings, START + timedelta(hours=4)) is None
    assert "race plan:    shonan until" in plan_banner(during, None)[0]


def test_a_plan_only_raises_what_up_runs_with(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, workers=2, max_running_executions=64)
    write_plan(settings, "local", planned("big", 20_000))
    window = current_plan(settings, START)
    assert window is not None
    applied = apply_plan(settings, window)
    assert applied.workers == max(2, window.workers)
    assert applied.max_running_executions == max(64, window.max_running_executions)
    assert applied.db_max_connections == max(10, window.db_max_connections)
    small = dataclasses.replace(window, workers=1, max_running_executions=4, db_max_connections=1)
    unchanged = apply_plan(settings, small)
    assert (unchanged.workers, unchanged.max_running_executions) == (2, 64)
    assert unchanged.db_max_connections == 10
    assert (
        apply_plan(dataclasses.replace(settings, db_max_connections=0), window).db_max_connections
        == 0
    )
    assert apply_plan(settings, None) is settings


def test_a_stage_keeps_only_plans_that_have_not_ended(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d", race_plans_dir=str(tmp_path / "plans"))
    target = target_name("enphoto", "prod")
    write_plan(settings, target, planned("early", 5_000, START - timedelta(days=7)))
    write_plan(settings, target, planned("today", 20_000))
    assert [w.race for w in read_plans(settings, target)] == ["early", "today"]
    assert [w.race for w in stage_windows(settings, "enphoto", "prod", START)] == ["today"]
    assert stage_windows(settings, "enphoto", "dev", START) == ()


def test_reservations_rise_to_the_plans_and_unreserved_functions_stay_so(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    write_plan(settings, "s-p", planned("today", 20_000))
    windows = stage_windows(settings, "s", "p", START)
    asked = windows[0].reserved["make-renditions"]
    raised = raised_reservations(
        {"make-renditions": 1, "store-photo": 500, "mark-ready": None}, windows
    )
    assert raised == {"make-renditions": max(1, asked), "store-photo": 500, "mark-ready": None}


def test_a_damaged_plan_names_its_file(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    folder = tmp_path / "race-plans" / "local"
    folder.mkdir(parents=True)
    (folder / "bad.json").write_text("{}")
    with pytest.raises(RacePlanError, match=r"bad\.json"):
        read_plans(settings, "local")
