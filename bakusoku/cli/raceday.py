"""``bakusoku loadtest --profile race-day``: a race day in miniature, and whether the plan held.

Two kinds of upload overlap, as on the day:

- **finish line**: runners arrive along a bell-shaped curve (few early, most around the middle of
  ``duration``, few late), and each passing runner is a burst of ``burst`` frames at once;
- **batches**: photographers offload their cards, ``batch_size`` photos at one instant every
  ``batch_every`` seconds.

Every photo is uploaded through the real doors (presign, PUT to the store) and followed until it is
final. The report gives, per phase, the photos and errors, the upload throughput, and the time
from each upload's acknowledgement to ready (the photo's ``updated_at`` when it became ready), p50,
p95 and max. The plan held when every photo is ready (none failed, lost or stuck, no upload error)
and the slowest took no longer than the target (``--target``, or the stored plan's).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bakusoku import utc
from bakusoku.auth.client import auth_headers
from bakusoku.cli.spike import POLL_SECONDS, UNFINISHED, Spike, album_statuses, percentile
from bakusoku.imaging.samples import PhotoSource

FINISH_LINE = "finish-line"
BATCHES = "batches"


@dataclass(frozen=True)
class Arrival:
    at: float  # seconds from the start of the run
    phase: str


def race_day_arrivals(
    *,
    finish_photos: int,
    duration: float,
    burst: int = 3,
    batch_size: int = 0,
    batch_every: float = 60.0,
    batches: int = 0,
) -> list[Arrival]:
    """The arrivals of a race day in miniature, by time.

    Runners pass at the quantiles of a normal curve centred on the middle of ``duration`` (a
    sixth of it wide, so nearly all within it); each is ``burst`` photos at the same instant.
    Batches land at ``batch_every``, ``2 x batch_every``, … seconds.
    """
    runners = max(1, -(-finish_photos // max(1, burst)))
    curve = statistics.NormalDist(mu=duration / 2, sigma=max(duration / 6, 1e-3))
    arrivals: list[Arrival] = []
    left = finish_photos
    for n in range(runners):
        at = min(max(curve.inv_cdf((n + 0.5) / runners), 0.0), duration)
        for _ in range(min(burst, left)):
            arrivals.append(Arrival(at, FINISH_LINE))
        left -= min(burst, left)
    for k in range(1, batches + 1):
        arrivals += [Arrival(k * batch_every, BATCHES)] * batch_size
    return sorted(arrivals, key=lambda a: a.at)


@dataclass
class PhaseReport:
    phase: str
    photos: int = 0
    acknowledged: int = 0
    upload_seconds: float = 0.0  # first arrival until the last upload was answered
    uploads_per_second: float = 0.0
    ready: int = 0
    ready_p50_seconds: float = 0.0  # upload acknowledged → ready
    ready_p95_seconds: float = 0.0
    ready_max_seconds: float = 0.0
    failed: int = 0
    lost: int = 0  # acknowledged, still pending or missing at the end
    stuck: int = 0  # acknowledged, still processing at the end
    errors: dict[str, int] = field(default_factory=dict)


@dataclass
class RaceDayReport:
    target_seconds: float
    album: str
    phases: list[PhaseReport]
    seconds_to_all_final: float | None = None
    held: bool = False
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        out = [
            f"race day in album {self.album}; target: every photo ready within "
            f"{self.target_seconds:g} s of its upload"
        ]
        for p in self.phases:
            errors = ", ".join(f"{k}: {v}" for k, v in sorted(p.errors.items())) or "none"
            out.append(
                f"{p.phase:<12} {p.acknowledged}/{p.photos} uploaded in {p.upload_seconds:.1f} s "
                f"({p.uploads_per_second:.1f}/s); ready {p.ready}, upload to ready p50 "
                f"{p.ready_p50_seconds:.1f} s, p95 {p.ready_p95_seconds:.1f} s, max "
                f"{p.ready_max_seconds:.1f} s; failed {p.failed}, lost {p.lost}, stuck "
                f"{p.stuck}; errors {errors}"
            )
        final = (
            f"{self.seconds_to_all_final:.1f} s"
            if self.seconds_to_all_final is not None
            else "not reached"
        )
        out.append(f"all final:   {final}")
        out.append(
            "the plan held" if self.held else "the plan did NOT hold: " + "; ".join(self.reasons)
        )
        return out


def target_from_plan(path: Path) -> float:
    """The target of a stored plan (``bakusoku race prepare``)."""
    return float(json.loads(path.read_text())["profile"]["target_seconds"])


def run_race_day(
    *,
    api: str,
    key: str | None,
    arrivals: list[Arrival],
    concurrency: int,
    target_seconds: float,
    size_mp: float = 2.0,
    album: str | None = None,
    service: str | None = None,
    timeout: float = 1800.0,
    on_status: Any = None,
) -> RaceDayReport:
    """Upload ``arrivals`` against the API at ``api``, wait until every photo is final, judge."""
    api = api.rstrip("/")
    album = album or f"raceday-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    say = on_status or (lambda _line: None)
    source = PhotoSource(size_mp)
    retries: Counter[str] = Counter()
    spike = Spike(api, key, album, service, source, retries)
    say(f"race day: {len(arrivals)} photos over {arrivals[-1].at if arrivals else 0:.0f} s")
    started = time.monotonic()
    uploads = asyncio.run(spike.run_arrivals([a.at for a in arrivals], concurrency))
    acked = {u.photo_id: u for u in uploads if u.photo_id and u.acked_at is not None}
    report = RaceDayReport(target_seconds, album, [])
    with httpx.Client(timeout=60, headers=auth_headers(key)) as client:
        deadline = started + timeout
        while True:
            unfinished = set(album_statuses(client, api, album, UNFINISHED)) & set(acked)
            if not unfinished:
                report.seconds_to_all_final = time.monotonic() - started
                break
            if time.monotonic() > deadline:
                break
            time.sleep(POLL_SECONDS)
        final = album_statuses(client, api, album, None)
    for phase in (FINISH_LINE, BATCHES):
        mine = [(a, u) for a, u in zip(arrivals, uploads, strict=True) if a.phase == phase]
        if mine:
            report.phases.append(_phase(phase, mine, final, started))
    if retries:
        report.phases[0].errors.update(retries)
    _judge(report)
    return report


def _phase(
    phase: str,
    mine: list[tuple[Arrival, Any]],
    final: dict[str, dict[str, Any]],
    started: float,
) -> PhaseReport:
    out = PhaseReport(phase, photos=len(mine))
    acked = [u for _, u in mine if u.acked_at is not None and u.photo_id]
    out.acknowledged = len(acked)
    out.errors = dict(Counter(u.error for _, u in mine if u.error))
    first = min(a.at for a, _ in mine)
    last = max((a.at + (u.acked_after or 0.0) for a, u in mine), default=first)
    out.upload_seconds = last - first
    out.uploads_per_second = len(acked) / out.upload_seconds if out.upload_seconds > 0 else 0.0
    waits = []
    for upload in acked:
        photo = final.get(upload.photo_id)
        status = photo["status"] if photo else "missing"
        if status in ("ready", "duplicate") and photo is not None:
            out.ready += 1
            waits.append(max(0.0, utc.parse_iso(photo["updated_at"]).timestamp() - upload.acked_at))
        elif status == "failed":
            out.failed += 1
        elif status == "processing":
            out.stuck += 1
        else:
            out.lost += 1
    out.ready_p50_seconds = percentile(waits, 50)
    out.ready_p95_seconds = percentile(waits, 95)
    out.ready_max_seconds = max(waits, default=0.0)
    return out


def _judge(report: RaceDayReport) -> None:
    reasons = []
    for p in report.phases:
        if p.acknowledged < p.photos:
            reasons.append(f"{p.phase}: {p.photos - p.acknowledged} uploads not acknowledged")
        if p.failed or p.lost or p.stuck:
            reasons.append(f"{p.phase}: {p.failed} failed, {p.lost} lost, {p.stuck} stuck")
        if p.ready_max_seconds > report.target_seconds:
            reasons.append(
                f"{p.phase}: the slowest photo took {p.ready_max_seconds:.1f} s, over the "
                f"{report.target_seconds:g} s target"
            )
    if report.seconds_to_all_final is None:
        reasons.append("not every photo was final before the timeout")
    report.reasons = reasons
    report.held = not reasons
