"""`bakusoku race prepare`: the plan printed and stored where `up` and the template read it."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner

from bakusoku.cli.main import cli
from bakusoku.db.migrate import upgrade
from bakusoku.races.repository import RaceRef, RaceRepository


def test_prepare_prints_the_plan_and_stores_it_for_up(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "race",
            "prepare",
            "shonan",
            "--expected-photos",
            "20000",
            "--at",
            "2026-12-06T11:30+09:00",
            "--data-dir",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "make-renditions" in result.output and "[default (not measured here)]" in result.output
    assert "verdict: " in result.output
    stored = json.loads((tmp_path / "race-plans" / "local" / "shonan.json").read_text())
    assert stored["raise_at"] == "2026-12-06T11:15:00+09:00"
    assert stored["profile"]["photos"] == 20000


def test_a_clock_time_is_on_the_races_date_in_its_time_zone(tmp_path: Path) -> None:
    db = sa.create_engine(f"sqlite:///{tmp_path / 'bakusoku.db'}")
    upgrade(db)
    RaceRepository(db).save_race(
        RaceRef("enphoto", "shonan"),
        name="湘南",
        race_date="2026-12-06",
        course=None,
        timezone="Asia/Tokyo",
    )
    db.dispose()
    result = CliRunner().invoke(
        cli,
        [
            "race",
            "prepare",
            "shonan",
            "--expected-photos",
            "300",
            "--at",
            "11:30",
            "--service",
            "enphoto",
            "--window",
            "3h",
            "--json",
            "--data-dir",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert plan["profile"]["starts_at"] == "2026-12-06T11:30:00+09:00"
    assert plan["lower_at"] == "2026-12-06T14:30:00+09:00"
    assert plan["verdict"] == "ok"


def test_a_clock_time_without_a_race_says_what_to_give(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "race",
            "prepare",
            "nowhere",
            "--expected-photos",
            "10",
            "--at",
            "11:30",
            "--data-dir",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 1
    assert "needs its date and UTC offset" in result.output
