"""``bakusoku loadtest``: a race-day spike of generated camera JPEGs through presigned URLs.

The spike is an open model: photo ``i`` arrives at ``i / rate`` seconds whatever the system does.
At most ``concurrency`` uploads are in flight (the phones uploading at once); an arrival that finds
them all busy waits, and that wait counts in its acknowledgement time, which is measured from the
scheduled arrival (so a slow system cannot hide its slowness by slowing the clients down).

Each upload is a presign (``POST /v1/uploads``) and a PUT of the bytes to the object store; it is
acknowledged when the store answers 200. Then the tool waits until every acknowledged photo is
final (``ready``, ``failed`` or ``duplicate``) and reports latencies, throughput, errors by type,
final statuses (lost: never taken up, still ``pending``; stuck: still ``processing``) and, given the
database URL, the database's peak connections during the run.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click
import httpx
import sqlalchemy as sa

from bakusoku.auth.client import auth_headers, resolve_api_key
from bakusoku.cli.spike import (
    FINAL,
    POLL_SECONDS,
    UNFINISHED,
    Spike,
    album_statuses,
    percentile,
)
from bakusoku.db.engine import normalize_url
from bakusoku.imaging.samples import PhotoSource

# --- database observation ----------------------------------------------------------------------


class ConnectionObserver:
    """Samples the database's connections during a run, from one connection of its own.

    MariaDB/MySQL: ``FLUSH STATUS`` at the start, ``Max_used_connections`` at the end (server-wide,
    including this observer) and the sampled peak of this database's sessions. PostgreSQL: the
    sampled peak of ``pg_stat_activity`` for this database. SQLite has no connection count.
    """

    def __init__(self, url: str, interval: float = 0.1) -> None:
        self.url = normalize_url(url)
        self.backend = self.url.get_backend_name()
        self.interval = interval
        self.peak: int | None = None
        self.max_used_connections: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._engine: sa.Engine | None = None
        self._conn: sa.Connection | None = None

    @property
    def supported(self) -> bool:
        return self.backend in ("mysql", "mariadb", "postgresql")

    def start(self) -> None:
        if not self.supported:
            return
        self._engine = sa.create_engine(
            self.url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool
        )
        self._conn = self._engine.connect()
        if self.backend in ("mysql", "mariadb"):
            self._conn.exec_driver_sql("FLUSH STATUS")
        self.peak = self._sample()
        self._thread = threading.Thread(target=self._run, name="db-observer", daemon=True)
        self._thread.start()

    def _sample(self) -> int:
        assert self._conn is not None
        if self.backend == "postgresql":
            query = (
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        else:
            query = (
                "SELECT count(*) FROM information_schema.processlist "
                "WHERE db = DATABASE() AND id <> CONNECTION_ID()"
            )
        return int(self._conn.exec_driver_sql(query).scalar() or 0)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.peak = max(self.peak or 0, self._sample())
            except sa.exc.DBAPIError:
                continue

    def stop(self) -> None:
        if self._conn is None or self._engine is None:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            if self.backend in ("mysql", "mariadb"):
                row = self._conn.exec_driver_sql(
                    "SHOW GLOBAL STATUS LIKE 'Max_used_connections'"
                ).one()
                self.max_used_connections = int(row[1])
        finally:
            self._conn.close()
            self._engine.dispose()


# --- the run -----------------------------------------------------------------------------------


@dataclass
class LoadReport:
    """What one spike measured; ``as_dict`` is the JSON form."""

    photos: int
    concurrency: int
    rate_per_second: float
    size_mp: float
    album: str
    bytes_per_photo: int = 0
    acknowledged: int = 0
    ack_p50_ms: float = 0.0
    ack_p95_ms: float = 0.0
    ack_p99_ms: float = 0.0
    ack_max_ms: float = 0.0
    upload_p50_ms: float = 0.0  # presign + PUT only, without the wait for a free upload slot
    upload_p99_ms: float = 0.0
    spike_seconds: float = 0.0  # first arrival until the last upload was answered
    seconds_to_all_final: float | None = None  # first arrival until every acked photo was final
    photos_per_second: float = 0.0  # final photos / seconds_to_all_final
    errors: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    failure_codes: dict[str, int] = field(default_factory=dict)
    lost: int = 0  # acknowledged, but still pending (or missing) at the end
    stuck: int = 0  # acknowledged, but still processing at the end
    database: str = "n/a"
    peak_connections: int | None = None  # sampled, this database's sessions
    max_used_connections: int | None = None  # MariaDB/MySQL, server-wide since FLUSH STATUS

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        final = (
            f"{self.seconds_to_all_final:.1f} s"
            if self.seconds_to_all_final is not None
            else "not reached"
        )
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(self.statuses.items())) or "none"
        errors = ", ".join(f"{k}: {v}" for k, v in sorted(self.errors.items())) or "none"
        out = [
            f"photos:          {self.photos} of {self.size_mp:g} MP "
            f"({self.bytes_per_photo / 1e6:.2f} MB), {self.rate_per_second:g}/s arrivals, "
            f"{self.concurrency} concurrent uploads, album {self.album}",
            f"acknowledged:    {self.acknowledged} in {self.spike_seconds:.1f} s; "
            f"p50 {self.ack_p50_ms:.0f} ms, p95 {self.ack_p95_ms:.0f} ms, "
            f"p99 {self.ack_p99_ms:.0f} ms, max {self.ack_max_ms:.0f} ms (from arrival)",
            f"upload alone:    p50 {self.upload_p50_ms:.0f} ms, p99 {self.upload_p99_ms:.0f} ms "
            "(presign + PUT, without waiting for a free upload slot)",
            f"all final:       {final}; {self.photos_per_second:.1f} photos/s",
            f"final statuses:  {statuses}; lost {self.lost}, stuck {self.stuck}",
            f"errors:          {errors}",
        ]
        if self.failure_codes:
            codes = ", ".join(f"{k}: {v}" for k, v in sorted(self.failure_codes.items()))
            out.append(f"failure codes:   {codes}")
        if self.database == "n/a":
            out.append("database peak:   n/a (no --database-url, or SQLite)")
        else:
            used = (
                f"; Max_used_connections {self.max_used_connections} (server-wide, incl. observer)"
                if self.max_used_connections is not None
                else ""
            )
            out.append(
                f"database peak:   {self.peak_connections} connections ({self.database}){used}"
            )
        return out


def run_loadtest(
    *,
    api: str,
    key: str | None,
    photos: int,
    concurrency: int,
    size_mp: float = 2.0,
    rate: float | None = None,
    album: str | None = None,
    service: str | None = None,
    database_url: str | None = None,
    timeout: float = 1800.0,
    on_status: Any = None,
) -> LoadReport:
    """Run one spike against the API at ``api`` and wait for every photo to be final."""
    api = api.rstrip("/")
    rate = float(concurrency) if rate is None else rate
    album = album or f"loadtest-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    report = LoadReport(photos, concurrency, rate, size_mp, album)
    say = on_status or (lambda _line: None)
    say(f"generating {size_mp:g} MP camera photos")
    source = PhotoSource(size_mp)
    report.bytes_per_photo = len(source.photo(0))
    observer = ConnectionObserver(database_url) if database_url else None
    if observer is not None and observer.supported:
        observer.start()
        report.database = observer.backend
    retries: Counter[str] = Counter()
    spike = Spike(api, key, album, service, source, retries)
    say(f"spike: {photos} photos at {rate:g}/s, {concurrency} concurrent uploads")
    started = time.monotonic()
    try:
        uploads = asyncio.run(spike.run(photos, concurrency, rate))
        report.spike_seconds = time.monotonic() - started
        acked = {u.photo_id: u for u in uploads if u.photo_id and u.acked_after is not None}
        latencies = [u.acked_after * 1000 for u in acked.values() if u.acked_after is not None]
        report.acknowledged = len(acked)
        report.ack_p50_ms = percentile(latencies, 50)
        report.ack_p95_ms = percentile(latencies, 95)
        report.ack_p99_ms = percentile(latencies, 99)
        report.ack_max_ms = max(latencies, default=0.0)
        alone = [u.service_time * 1000 for u in acked.values() if u.service_time is not None]
        report.upload_p50_ms = percentile(alone, 50)
        report.upload_p99_ms = percentile(alone, 99)
        errors = Counter(u.error for u in uploads if u.error)
        errors.update(retries)
        say(f"acknowledged {len(acked)} of {photos} in {report.spike_seconds:.1f} s; waiting")
        with httpx.Client(timeout=60, headers=auth_headers(key)) as client:
            deadline = started + timeout
            last_count = -1
            while True:
                try:
                    unfinished = set(album_statuses(client, api, album, UNFINISHED)) & set(acked)
                except httpx.HTTPError as exc:
                    errors[f"poll {type(exc).__name__}"] += 1
                    unfinished = set(acked)
                if not unfinished:
                    report.seconds_to_all_final = time.monotonic() - started
                    break
                if len(unfinished) != last_count:
                    say(f"  {len(acked) - len(unfinished)} of {len(acked)} final")
                    last_count = len(unfinished)
                if time.monotonic() > deadline:
                    break
                time.sleep(POLL_SECONDS)
            final = album_statuses(client, api, album, None)
    finally:
        if observer is not None:
            observer.stop()
    if observer is not None:
        report.peak_connections = observer.peak
        report.max_used_connections = observer.max_used_connections
    for photo_id in acked:
        photo = final.get(photo_id)
        status = photo["status"] if photo else "missing"
        report.statuses[status] = report.statuses.get(status, 0) + 1
        if status in ("pending", "missing"):
            report.lost += 1
        elif status == "processing":
            report.stuck += 1
        elif status == "failed" and photo is not None:
            code = (photo.get("error") or {}).get("code", "unknown")
            report.failure_codes[code] = report.failure_codes.get(code, 0) + 1
    report.errors = dict(errors)
    done = sum(report.statuses.get(s, 0) for s in FINAL)
    elapsed = report.seconds_to_all_final or (time.monotonic() - started)
    report.photos_per_second = done / elapsed if elapsed > 0 else 0.0
    return report


FC = TypeVar("FC", bound=Callable[..., Any])  # a click command function being decorated


def _race_day_option(
    name: str, kind: click.ParamType, default: float | None, what: str
) -> Callable[[FC], FC]:
    """An option that only ``--profile race-day`` reads; its help says so."""
    return click.option(
        name, type=kind, default=default, show_default=default is not None, help=f"race-day: {what}"
    )


@click.command("loadtest")
@click.option("--photos", type=click.IntRange(1), default=100, show_default=True)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 1024),
    default=16,
    show_default=True,
    help="Uploads in flight at most.",
)
@click.option("--api", default="http://127.0.0.1:8080", show_default=True, envvar="BAKUSOKU_API")
@click.option("--key", default=None, help="API key (default: BAKUSOKU_API_KEY or the admin token).")
@click.option("--size-mp", type=click.FloatRange(0.01, 100), default=2.0, show_default=True)
@click.option(
    "--rate",
    type=click.FloatRange(0),
    default=None,
    help="Arrivals per second (default: the concurrency; 0: every photo arrives at once).",
)
@click.option("--album", default=None, help="Album to upload into (default: a new one).")
@click.option("--service", default=None, help="Service, when uploading with the admin token.")
@click.option(
    "--database-url",
    default=None,
    help="The deployment's database, to report its peak connections (MariaDB/MySQL, PostgreSQL).",
)
@click.option("--timeout", type=float, default=1800, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option(
    "--profile",
    type=click.Choice(["spike", "race-day"]),
    default="spike",
    show_default=True,
    help="race-day: a finish-line curve of --photos in bursts, plus photographers' batches.",
)
@_race_day_option("--duration", click.FloatRange(0), 60, "seconds the finish-line curve lasts.")
@_race_day_option("--burst", click.IntRange(1), 3, "frames per passing runner.")
@_race_day_option("--batch-size", click.IntRange(0), 200, "photos a photographer uploads at once.")
@_race_day_option(
    "--batch-every", click.FloatRange(0, min_open=True), 180, "seconds between batches."
)
@_race_day_option("--batches", click.IntRange(0), 1, "how many batches.")
@_race_day_option(
    "--target",
    click.FloatRange(0, min_open=True),
    None,
    "seconds within which every photo must be ready (default: the plan's, else 600).",
)
@_race_day_option(
    "--plan-file",
    click.Path(path_type=Path, exists=True, dir_okay=False),
    None,
    "a plan of `bakusoku race prepare` to hold to.",
)
def loadtest(
    photos: int,
    concurrency: int,
    api: str,
    key: str | None,
    size_mp: float,
    rate: float | None,
    album: str | None,
    service: str | None,
    database_url: str | None,
    timeout: float,
    as_json: bool,
    profile: str,
    duration: float,
    burst: int,
    batch_size: int,
    batch_every: float,
    batches: int,
    target: float | None,
    plan_file: Path | None,
) -> None:
    """Upload a spike of generated camera photos (or a race day: --profile race-day) and report
    how the deployment took it."""
    if profile == "race-day":
        from bakusoku.cli.raceday import race_day_arrivals, run_race_day, target_from_plan

        day = run_race_day(
            api=api,
            key=resolve_api_key(key),
            arrivals=race_day_arrivals(
                finish_photos=photos,
                duration=duration,
                burst=burst,
                batch_size=batch_size,
                batch_every=batch_every,
                batches=batches,
            ),
            concurrency=concurrency,
            target_seconds=target or (target_from_plan(plan_file) if plan_file else 600.0),
            size_mp=size_mp,
            album=album,
            service=service,
            timeout=timeout,
            on_status=lambda line: click.echo(line, err=True),
        )
        click.echo(json.dumps(day.as_dict()) if as_json else "\n".join(day.lines()))
        if not day.held:
            raise SystemExit(1)
        return
    report = run_loadtest(
        api=api,
        key=resolve_api_key(key),
        photos=photos,
        concurrency=concurrency,
        size_mp=size_mp,
        rate=rate,
        album=album,
        service=service,
        database_url=database_url,
        timeout=timeout,
        on_status=lambda line: click.echo(line, err=True),
    )
    if as_json:
        click.echo(json.dumps(report.as_dict()))
    else:
        for line in report.lines():
            click.echo(line)
    if report.lost or report.stuck or report.acknowledged < photos:
        raise SystemExit(1)
