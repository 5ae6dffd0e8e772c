"""The race-day profile: its arrival curve (unit) and a small race day against `bakusoku up`."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bakusoku.cli.raceday import BATCHES, FINISH_LINE, race_day_arrivals
from tests.e2e.server import RunningServer


def test_runners_arrive_in_bursts_along_a_bell_curve_and_batches_land_at_once() -> None:
    arrivals = race_day_arrivals(
        finish_photos=30, duration=60, burst=3, batch_size=5, batch_every=20, batches=2
    )
    finish = [a.at for a in arrivals if a.phase == FINISH_LINE]
    batches = [a.at for a in arrivals if a.phase == BATCHES]
    assert len(finish) == 30 and len(batches) == 10
    assert sorted(set(batches)) == [20.0, 40.0]
    assert all(0 <= t <= 60 for t in finish)
    assert len(set(finish)) == 10  # ten runners, three frames each
    middle = sum(1 for t in finish if 20 <= t <= 40)
    assert middle > len(finish) / 2  # most runners arrive mid-curve, few at its ends
    assert [a.at for a in arrivals] == sorted(a.at for a in arrivals)


def test_the_last_burst_is_cut_to_the_photos_asked_for() -> None:
    arrivals = race_day_arrivals(finish_photos=7, duration=10, burst=3)
    assert len(arrivals) == 7 and {a.phase for a in arrivals} == {FINISH_LINE}


@pytest.mark.integration
def test_a_small_race_day_against_up_reports_each_phase_and_whether_the_plan_held(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    soon = (datetime.now(UTC) + timedelta(minutes=5)).isoformat(timespec="seconds")
    prepare = ["race", "prepare", "raceday", "--expected-photos", "30000", "--at", soon]
    server = RunningServer(data, workers=1)
    plan = json.loads(server.run_cli(*prepare, "--target", "2m", "--json", "--data-dir", str(data)))
    assert plan["local"]["workers"] > 1  # a plan that raises what `up` was started with
    server.start()
    try:
        # `bakusoku up` took the plan in force (its window opened with the lead before `--at`)
        deadline = time.monotonic() + 10  # the banner follows the first answer by moments
        while "race plan:" not in server.log() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "race plan:    raceday until" in server.log()
        assert f"{plan['local']['workers']} workers" in server.log()
        output = server.run_cli(
            "loadtest",
            "--profile",
            "race-day",
            "--photos",
            "12",
            "--duration",
            "4",
            "--batch-size",
            "6",
            "--batch-every",
            "2",
            "--batches",
            "1",
            "--size-mp",
            "0.3",
            "--concurrency",
            "8",
            "--target",
            "120",
            "--key",
            server.admin_token,
            "--service",
            "raceday",
            "--json",
        )
        report = json.loads(output)
        assert report["held"] is True, report
        phases = {p["phase"]: p for p in report["phases"]}
        assert phases[FINISH_LINE]["ready"] == 12 and phases[BATCHES]["ready"] == 6
        for phase in phases.values():
            assert 0 < phase["ready_p50_seconds"] <= phase["ready_p95_seconds"]
            assert phase["ready_p95_seconds"] <= phase["ready_max_seconds"] <= 120
        # a target no pipeline can meet: the plan does not hold, and the command says so
        env_failed = None
        try:
            server.run_cli(
                "loadtest",
                "--profile",
                "race-day",
                "--photos",
                "3",
                "--duration",
                "1",
                "--batches",
                "0",
                "--size-mp",
                "0.3",
                "--target",
                "0.001",
                "--key",
                server.admin_token,
                "--service",
                "raceday",
            )
        except RuntimeError as exc:
            env_failed = str(exc)
        assert env_failed is not None and "the plan did NOT hold" in env_failed
        assert "over the 0.001 s target" in env_failed
    finally:
        server.stop()
