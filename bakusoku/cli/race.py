"""``bakusoku race prepare``: the capacity a race needs, planned and stored before the gun."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import click
import sqlalchemy as sa

from bakusoku.config import Settings, load_settings
from bakusoku.db.engine import create_db_engine
from bakusoku.deploy.concurrency import CONNECTIONS_PER_ENVIRONMENT
from bakusoku.errors import BakusokuError
from bakusoku.pipeline.functions import API, FUNCTIONS, sized_functions, task_states
from bakusoku.races.capacity import (
    CapacityPlan,
    FunctionCost,
    Machine,
    RaceProfile,
    parse_duration,
    plan_capacity,
    plan_lines,
    race_start,
)
from bakusoku.races.costs import busy_rate, costs_by_function, measured_cost, task_durations
from bakusoku.races.plans import target_name, write_plan
from bakusoku.races.repository import RaceRef, RaceRepository

# Called for every photo that ends ready: the API's presign, then the pipeline's tasks up to
# MarkReady (MarkFailed runs only for a failure, so it costs the plan nothing).
PER_PHOTO = (API, *(f.name for f in FUNCTIONS if f.name != "mark-failed"))
DONE_STATE = "MarkReady"  # a photo is ready when this state succeeds
MIN_BUSY_SECONDS = 60.0  # less saturated time than this measures no rate


@click.group("race")
def race() -> None:
    """Race day: plan the capacity a race needs before the gun."""


@race.command("prepare")
@click.argument("race_album", metavar="RACE")
@click.option("--expected-photos", type=click.IntRange(1), required=True)
@click.option(
    "--at",
    "at",
    required=True,
    help="When photos start arriving (the first finisher): 2026-12-06T11:30+09:00, or 11:30 on "
    "the race's date in its time zone.",
)
@click.option("--window", default="4h", show_default=True, help="How long photos keep arriving.")
@click.option("--peak", default="1h", show_default=True, help="The peak: the window's first …")
@click.option(
    "--peak-share",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.6,
    show_default=True,
    help="… holding this share of the photos.",
)
@click.option("--target", default="10m", show_default=True, help="Every photo ready within …")
@click.option("--lead", default="15m", show_default=True, help="Warm the functions this early.")
@click.option("--stage", default=None, help="Plan a stage on AWS (default: this machine).")
@click.option("--service", default=None, help="The race's service (default: service_name).")
@click.option("--history", default="7d", show_default=True, help="Measure costs over this long.")
@click.option("--config", "config_file", type=click.Path(path_type=Path, exists=True))
@click.option("--data-dir", type=click.Path(path_type=Path), default=None)
@click.option("--json", "as_json", is_flag=True, help="Print the plan as one JSON object.")
def prepare(
    race_album: str,
    expected_photos: int,
    at: str,
    window: str,
    peak: str,
    peak_share: float,
    target: str,
    lead: str,
    stage: str | None,
    service: str | None,
    history: str,
    config_file: Path | None,
    data_dir: Path | None,
    as_json: bool,
) -> None:
    """Plan RACE's capacity from each function's measured cost and store it for `bakusoku up`
    (this machine) or for the stage's template (--stage)."""
    settings = load_settings({"data_dir": data_dir}, config_file=config_file)
    service = service or settings.service_name
    try:
        db = _history_database(settings)
        profile = RaceProfile(
            photos=expected_photos,
            starts_at=_start(at, db, service, race_album),
            window_seconds=parse_duration(window, "--window"),
            peak_share=peak_share,
            peak_seconds=parse_duration(peak, "--peak"),
            target_seconds=parse_duration(target, "--target"),
            lead_seconds=parse_duration(lead, "--lead"),
        )
        since = parse_duration(history, "--history")
        costs = _costs(settings, db, since, service, stage)
        rate = _measured_rate(settings, db, since)
        plan = plan_capacity(race_album, profile, costs, _machine(settings, rate))
        path = write_plan(settings, target_name(service if stage else None, stage), plan)
    except BakusokuError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(plan.as_dict() | {"written_to": str(path)}, ensure_ascii=False))
        return
    for line in plan_lines(plan, rate):
        click.echo(line)
    click.echo(_applied(plan, path, stage, service))


def _applied(plan: CapacityPlan, path: Path, stage: str | None, service: str) -> str:
    if stage is None:
        return (
            f"written to {path}: `bakusoku up` started between {plan.raise_at.isoformat()} and "
            f"{plan.lower_at.isoformat()} runs with it"
        )
    return (
        f"written to {path}: `bakusoku deploy --service {service} --stage {stage}` before "
        f"{plan.raise_at.isoformat()} schedules the provisioned concurrency and raises the "
        "reserved concurrency; deploy again after the race to lower the reservations"
    )


def _history_database(settings: Settings) -> sa.Engine | None:
    """The deployment's database if it exists (never an empty SQLite file made by looking)."""
    url = settings.effective_database_url
    if url.startswith("sqlite:") and not (settings.data_dir / "bakusoku.db").is_file():
        return None
    return create_db_engine(url, pool_size=1)


def _start(at: str, db: sa.Engine | None, service: str, album: str) -> datetime:
    try:
        return race_start(at)
    except BakusokuError:
        if db is None:
            raise
    found = _race_row(db, service, album)
    return race_start(at, found.get("race_date"), found.get("timezone"))


def _race_row(db: sa.Engine, service: str, album: str) -> dict[str, str]:
    try:
        row = RaceRepository(db).race(RaceRef(service, album))
    except sa.exc.SQLAlchemyError:
        row = None
    return {k: str(v) for k, v in (row or {}).items() if v is not None}


def _costs(
    settings: Settings,
    db: sa.Engine | None,
    since_seconds: float,
    service: str,
    stage: str | None,
) -> list[FunctionCost]:
    durations: dict[str, list[float]] = {}
    if db is not None:
        try:
            # only the calls that found a worker free: a queued call's wait is no cost of it
            by_state = task_durations(db, since_seconds, slots=settings.effective_workers)
        except sa.exc.SQLAlchemyError:
            by_state = {}  # no history to read: the defaults say they were not measured here
        durations = costs_by_function(by_state, {s.state: s.function for s in task_states()})
    sized = sized_functions(settings, service=service if stage else None, stage=stage)
    return [
        measured_cost(
            name,
            durations.get(name, []),
            memory_mb=sized[name].memory_mb,
            connections=CONNECTIONS_PER_ENVIRONMENT.get(name, 1),
        )
        for name in PER_PHOTO
    ]


def _measured_rate(settings: Settings, db: sa.Engine | None, since: float) -> float | None:
    """Photos/s this machine finished with every worker busy, from its history (at least a
    minute of it), else None."""
    if db is None:
        return None
    try:
        found = busy_rate(db, DONE_STATE, settings.effective_workers, since)
    except sa.exc.SQLAlchemyError:
        return None
    return found[0] if found is not None and found[1] >= MIN_BUSY_SECONDS else None


def _machine(settings: Settings, measured: float | None = None) -> Machine:
    timeouts = [s.timeout_seconds for s in task_states() if s.timeout_seconds]
    return Machine(
        cores=os.cpu_count() or 1,
        memory_mb=os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024),
        task_timeout_seconds=float(min(timeouts, default=60)),
        db_pool_size=settings.db_pool_size,
        measured_photos_per_second=measured,
    )
