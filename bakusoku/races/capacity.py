"""The capacity a race needs, planned from what one photo costs: pure arithmetic, no I/O.

A race's photos do not arrive evenly. Most come in the first hour after the first finisher (the
finish-line peak); photographers add batches through the day. The plan takes the busiest stretch,
``peak_share`` of the expected photos within ``peak_seconds`` from the start of the window, and
sizes everything for its arrival rate with Little's law (concurrency = arrivals/s x seconds each):

- per function, the concurrency the peak keeps busy with each call taking its p95 (AWS: the
  provisioned concurrency raised before the start, and the reserved concurrency, with room for
  the bursts a batch upload makes above the hour's mean);
- on one machine (``bakusoku up``), the worker count, the executions let in at once (so that a
  task's wait for a worker stays well inside its Task's ``TimeoutSeconds``, which counts from
  the moment the task is scheduled), the database connections that implies (the gate's ceiling),
  and whether the machine keeps up: if the peak arrives faster than its cores can render, the
  backlog it leaves, how long that takes to clear and how late the last photo of the peak is;
- the database connections the AWS plan implies (reserved concurrency x connections each).

A function's cost is its duration's median and p95, measured from the executions' history when
there is one (``races.costs``), else the defaults shipped here (``DEFAULT_COSTS``), which say so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bakusoku.errors import BakusokuError

# What one call costs when the history has too few of it, in seconds (p50, p95). make-renditions:
# `python bench/imaging.py --runs 3 --sizes 12` (the ``bakusoku_pipeline`` job on a 12 MP JPEG,
# face detection included) measured a 956 ms median on the 2-core development machine while other
# jobs kept its load average near 7; the benchmark reports medians, so p95 is taken as 1.5x. The
# others are a database write and an object read or less, a few tens of ms.
DEFAULT_COSTS: Mapping[str, tuple[float, float]] = {
    "api": (0.02, 0.06),  # the presign: one row written, one URL signed
    "store-photo": (0.05, 0.15),
    "make-renditions": (0.96, 1.45),
    "mark-ready": (0.02, 0.06),
    # Beside mark-ready: the face cuts read back, embedded (~70 ms a face, dlib's ResNet) and
    # indexed; a guess for a few faces a photo, not measured here.
    "index-faces": (0.15, 0.50),
    # Beside mark-ready: a race photo's preview read back and its bibs read (bench/bibs.py: 101-110
    # ms median, 127-132 ms p90 of CPU at 512 px), the entry list asked and the sightings written.
    "read-bibs": (0.13, 0.25),
}
MIN_SAMPLES = 20  # fewer calls in the history than this: the default is the better guess
# Functions called for every photo but not on the machine's workers (the API runs in the main
# process of `bakusoku up`): counted for AWS, left out of the machine's worker arithmetic.
NOT_ON_WORKERS = frozenset({"api"})
# Reserved concurrency over the peak's mean concurrency: a batch of 200 photos lands in seconds,
# so a minute may bring twice the hour's mean; what is not reserved is throttled and retried.
BURST_FACTOR = 2.0
# A task may wait for a worker at most this share of its Task's TimeoutSeconds (the rest is the
# call itself, and a retry's room).
TIMEOUT_SHARE = 0.5
WORKERS_PER_CORE = 2  # past this, CPU-bound workers only share the same cores
MEMORY_SHARE = 0.8  # of the machine's memory the workers may fill at their functions' size
MAX_IN_FLIGHT = 1024


class CapacityError(BakusokuError):
    """A race profile that cannot be planned; the message names the value to change."""

    code = "race.capacity_invalid"


@dataclass(frozen=True)
class FunctionCost:
    """One function's duration per call and where the figures come from."""

    function: str
    p50_seconds: float
    p95_seconds: float
    samples: int = 0  # calls measured; 0: the shipped default
    memory_mb: int = 0
    connections: int = 1  # database connections one execution environment holds (0: none)

    @property
    def source(self) -> str:
        return f"history ({self.samples} calls)" if self.samples else "default (not measured here)"


@dataclass(frozen=True)
class RaceProfile:
    """The race day to plan for."""

    photos: int
    starts_at: datetime  # when photos start arriving (the first finisher, or the gun)
    window_seconds: float = 4 * 3600.0  # how long photos keep arriving
    peak_share: float = 0.6  # of the photos within the peak
    peak_seconds: float = 3600.0  # the peak: the first this-many seconds of the window
    target_seconds: float = 600.0  # every photo ready within this long of its upload
    lead_seconds: float = 900.0  # warm functions this long before the start


@dataclass(frozen=True)
class Machine:
    """The one machine ``bakusoku up`` runs on."""

    cores: int
    memory_mb: int
    task_timeout_seconds: float  # the shortest TimeoutSeconds of the pipeline's Task states
    db_pool_size: int = 5  # the main process's own pool, besides the workers' ceiling
    store_connections: int = 2  # the object store's process
    # Photos/s the history shows this machine finishing while all its workers were busy (what
    # its cores really give, other load included); None: not measured, the cores' rate stands.
    measured_photos_per_second: float | None = None


@dataclass(frozen=True)
class FunctionPlan:
    function: str
    p50_seconds: float
    p95_seconds: float
    source: str
    concurrency: int  # busy at the peak: peak rate x p95
    provisioned: int  # warm before the start (AWS)
    reserved: int  # the function's ceiling during the race (AWS)


@dataclass(frozen=True)
class LocalPlan:
    """What one machine needs, and whether it can."""

    workers: int  # worker processes (tasks at once)
    workers_needed: int  # what the peak keeps busy, before the machine's limits
    max_running_executions: int  # executions let in at once; the rest wait in the queue
    db_max_connections: int  # the workers' ceiling (the gate)
    database_connections: int  # the most one `bakusoku up` holds with this plan
    photos_per_second: float  # what the machine renders at best
    backlog_photos: int  # waiting at the end of the peak (0: it keeps up)
    backlog_clear_seconds: float | None  # from the start of the window; None: never within it
    worst_wait_seconds: float  # upload to ready of the photo that waits longest
    finishes_within_window: bool
    machines_needed: int  # machines like this one that keep up with the peak


@dataclass(frozen=True)
class CapacityPlan:
    race: str
    profile: RaceProfile
    peak_photos_per_second: float
    later_photos_per_second: float  # after the peak, for the rest of the window
    functions: tuple[FunctionPlan, ...]
    local: LocalPlan
    aws_database_connections: int
    warnings: tuple[str, ...] = field(default=())

    @property
    def raise_at(self) -> datetime:
        return self.profile.starts_at - timedelta(seconds=self.profile.lead_seconds)

    @property
    def lower_at(self) -> datetime:
        return self.profile.starts_at + timedelta(seconds=self.profile.window_seconds)

    @property
    def verdict(self) -> str:
        return "warning" if self.warnings else "ok"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["profile"]["starts_at"] = self.profile.starts_at.isoformat()
        data["raise_at"] = self.raise_at.isoformat()
        data["lower_at"] = self.lower_at.isoformat()
        data["verdict"] = self.verdict
        data["warnings"] = list(self.warnings)
        data["functions"] = [asdict(f) for f in self.functions]
        return data


def default_cost(function: str, memory_mb: int = 0, connections: int = 1) -> FunctionCost:
    """The shipped default cost of ``function`` (zero for one no default covers)."""
    p50, p95 = DEFAULT_COSTS.get(function, (0.0, 0.0))
    return FunctionCost(function, p50, p95, 0, memory_mb, connections)


def plan_capacity(
    race: str, profile: RaceProfile, costs: Sequence[FunctionCost], machine: Machine
) -> CapacityPlan:
    """The plan for ``profile`` given what each function costs and the machine it may run on."""
    _check(profile, machine)
    peak_rate = profile.photos * profile.peak_share / profile.peak_seconds
    rest_seconds = profile.window_seconds - profile.peak_seconds
    later_rate = profile.photos * (1 - profile.peak_share) / rest_seconds if rest_seconds else 0.0
    functions = tuple(_function_plan(cost, peak_rate) for cost in costs)
    local = _local_plan(profile, costs, machine, peak_rate, later_rate)
    aws_connections = sum(f.reserved * c.connections for f, c in zip(functions, costs, strict=True))
    return CapacityPlan(
        race=race,
        profile=profile,
        peak_photos_per_second=peak_rate,
        later_photos_per_second=later_rate,
        functions=functions,
        local=local,
        aws_database_connections=aws_connections,
        warnings=tuple(_warnings(profile, local, machine)),
    )


def _check(profile: RaceProfile, machine: Machine) -> None:
    if profile.photos < 1:
        raise CapacityError(f"expected photos is {profile.photos}: give at least 1")
    if profile.starts_at.tzinfo is None:
        raise CapacityError("the race's start has no time zone: give it with its UTC offset")
    if profile.window_seconds <= 0:
        raise CapacityError("the window is empty: give a window such as 4h")
    if not 0 < profile.peak_share <= 1:
        raise CapacityError(
            f"the peak's share is {profile.peak_share:g}: give a fraction in (0, 1], e.g. 0.6"
        )
    if not 0 < profile.peak_seconds <= profile.window_seconds:
        raise CapacityError(
            f"the peak ({profile.peak_seconds / 60:g} min) must be within the window "
            f"({profile.window_seconds / 60:g} min)"
        )
    if profile.target_seconds <= 0:
        raise CapacityError("the target is empty: give the minutes within which a photo is ready")
    if machine.cores < 1 or machine.task_timeout_seconds <= 0:
        raise CapacityError("the machine needs at least one core and a positive task timeout")


def _function_plan(cost: FunctionCost, peak_rate: float) -> FunctionPlan:
    concurrency = max(1, math.ceil(peak_rate * cost.p95_seconds))
    return FunctionPlan(
        function=cost.function,
        p50_seconds=cost.p50_seconds,
        p95_seconds=cost.p95_seconds,
        source=cost.source,
        concurrency=concurrency,
        provisioned=concurrency,
        reserved=max(concurrency, math.ceil(concurrency * BURST_FACTOR)),
    )


def _local_plan(
    profile: RaceProfile,
    costs: Sequence[FunctionCost],
    machine: Machine,
    peak_rate: float,
    later_rate: float,
) -> LocalPlan:
    on_workers = [c for c in costs if c.function not in NOT_ON_WORKERS]
    photo_p50 = sum(c.p50_seconds for c in on_workers)
    photo_p95 = sum(c.p95_seconds for c in on_workers)
    needed = max(1, math.ceil(peak_rate * photo_p95))
    largest_mb = max((c.memory_mb for c in on_workers), default=0)
    by_memory = (
        max(1, int(machine.memory_mb * MEMORY_SHARE // largest_mb)) if largest_mb else needed
    )
    workers = max(1, min(needed, machine.cores * WORKERS_PER_CORE, by_memory))
    # A photo needs photo_p50 seconds of one core; the cores render at most this many per second.
    rate = machine.cores / photo_p50 if photo_p50 > 0 else math.inf
    if machine.measured_photos_per_second:  # saturated, it did no better than this
        rate = min(rate, machine.measured_photos_per_second)
    # Executions in flight wait for a worker inside their Task's timeout: keep that wait (the
    # executions ahead of it, sharing the workers) within TIMEOUT_SHARE of the shortest timeout.
    per_task = max(c.p95_seconds for c in on_workers) if on_workers else 1.0
    in_flight = int(workers * machine.task_timeout_seconds * TIMEOUT_SHARE / max(per_task, 1e-3))
    in_flight = max(workers, min(in_flight, MAX_IN_FLIGHT))
    db_workers = workers if any(c.connections for c in on_workers) else 0
    backlog, clear, worst, finishes = _backlog(profile, rate, peak_rate, later_rate, photo_p95)
    return LocalPlan(
        workers=workers,
        workers_needed=needed,
        max_running_executions=in_flight,
        db_max_connections=db_workers,
        database_connections=db_workers + machine.db_pool_size + machine.store_connections,
        photos_per_second=rate,
        backlog_photos=backlog,
        backlog_clear_seconds=clear,
        worst_wait_seconds=worst,
        finishes_within_window=finishes,
        machines_needed=max(1, math.ceil(peak_rate / rate)) if rate > 0 else 1,
    )


def _backlog(
    profile: RaceProfile, rate: float, peak_rate: float, later_rate: float, photo_p95: float
) -> tuple[int, float | None, float, bool]:
    """The photos waiting at the end of the peak, when they are all done (seconds from the start
    of the window, None if not before it closes), the longest upload-to-ready, and whether every
    photo is done by the window's end."""
    if peak_rate <= rate:
        late_ok = later_rate <= rate
        return 0, 0.0, photo_p95, late_ok
    backlog = (peak_rate - rate) * profile.peak_seconds
    # The last photo of the peak waits for everything ahead of it: the backlog at the cores' rate.
    worst = backlog / rate + photo_p95
    if later_rate >= rate:
        return math.ceil(backlog), None, worst, False
    clear = profile.peak_seconds + backlog / (rate - later_rate)
    return math.ceil(backlog), clear, worst, clear <= profile.window_seconds


def _warnings(profile: RaceProfile, local: LocalPlan, machine: Machine) -> list[str]:
    found = []
    if local.backlog_photos:
        cleared = (
            f"clears {local.backlog_clear_seconds / 60:.0f} min after the start"
            if local.backlog_clear_seconds is not None
            else "never clears while photos keep arriving"
        )
        found.append(
            f"one machine cannot keep up: the peak brings photos faster than its {machine.cores} "
            f"core(s) render them ({local.photos_per_second:.2f}/s), leaving "
            f"{local.backlog_photos} waiting after the peak; the backlog {cleared}, and the "
            f"last photo of the peak is ready {local.worst_wait_seconds / 60:.0f} min after its "
            f"upload. Use {local.machines_needed} machines like this one, or AWS"
        )
    if not local.finishes_within_window:
        found.append(
            f"one machine cannot finish {profile.photos} photos within the "
            f"{profile.window_seconds / 3600:g} h window"
        )
    if local.worst_wait_seconds > profile.target_seconds:
        found.append(
            f"the target is missed on one machine: a photo may wait "
            f"{local.worst_wait_seconds / 60:.0f} min, over {profile.target_seconds / 60:g} min"
        )
    if local.workers < local.workers_needed:
        found.append(
            f"the peak keeps {local.workers_needed} workers busy; this machine runs "
            f"{local.workers} (its cores and memory)"
        )
    return found


def plan_lines(plan: CapacityPlan, measured_rate: float | None = None) -> list[str]:
    """The plan for a person to read (``measured_rate``: the machine's rate from its history)."""
    p = plan.profile
    local = plan.local
    measured = (
        f" (measured with every worker busy: {measured_rate:.2f}/s)"
        if measured_rate is not None
        else " (its cores at the p50s)"
    )
    out = [
        f"race {plan.race}: {p.photos} photos from {p.starts_at.isoformat()} for "
        f"{p.window_seconds / 3600:g} h; {p.peak_share:.0%} within the first "
        f"{p.peak_seconds / 60:g} min; every photo ready within {p.target_seconds / 60:g} min",
        f"arrivals: peak {plan.peak_photos_per_second:.2f} photos/s "
        f"({plan.peak_photos_per_second * 60:.0f}/min), later "
        f"{plan.later_photos_per_second:.2f}/s",
        "per function (p50 / p95 per call; concurrency at the peak; AWS provisioned / reserved):",
    ]
    for f in plan.functions:
        out.append(
            f"  {f.function:<16} {f.p50_seconds * 1000:6.0f} / {f.p95_seconds * 1000:6.0f} ms  "
            f"concurrency {f.concurrency:>4}  provisioned {f.provisioned:>4}  "
            f"reserved {f.reserved:>4}  [{f.source}]"
        )
    clear = (
        "no backlog"
        if not local.backlog_photos
        else (
            f"backlog {local.backlog_photos} photos after the peak, clear "
            + (
                f"{local.backlog_clear_seconds / 60:.0f} min after the start"
                if local.backlog_clear_seconds is not None
                else "not within the window"
            )
        )
    )
    out += [
        f"one machine: {local.workers} workers (the peak needs {local.workers_needed}), "
        f"{local.max_running_executions} executions at once, db_max_connections "
        f"{local.db_max_connections} ({local.database_connections} connections in all); renders "
        f"{local.photos_per_second:.2f} photos/s{measured}; {clear}; longest upload to ready "
        f"{local.worst_wait_seconds:.0f} s",
        f"AWS: provisioned concurrency raised at {plan.raise_at.isoformat()}, lowered at "
        f"{plan.lower_at.isoformat()}; database connections at most "
        f"{plan.aws_database_connections} (reserved x connections each)",
        f"verdict: {plan.verdict}",
    ]
    out += [f"warning: {w}" for w in plan.warnings]
    return out


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, what: str) -> float:
    """``4h``, ``90m``, ``1h30m``, ``45s`` → seconds; CapacityError names ``what`` otherwise."""
    rest = text.strip().lower()
    total = 0.0
    number = ""
    for char in rest:
        if char.isdigit() or char == ".":
            number += char
        elif char in _UNITS and number:
            total += float(number) * _UNITS[char]
            number = ""
        else:
            number = "x"
            break
    if number or total <= 0:
        raise CapacityError(f"{what} {text!r} is not a duration: write 4h, 90m, 1h30m, 45s or 7d")
    return total


def race_start(text: str, race_date: str | None = None, timezone: str | None = None) -> datetime:
    """When photos start arriving: an ISO 8601 time with its offset, or a clock time (``09:30``)
    on the race's date in the race's time zone."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is not None and moment.tzinfo is not None:
        return moment
    if moment is None and race_date and timezone:
        try:
            clock = time_of_day(text)
            zone = ZoneInfo(timezone)
            day = date.fromisoformat(race_date)
        except (ValueError, ZoneInfoNotFoundError) as exc:
            raise CapacityError(f"the start {text!r} cannot be read: {exc}") from exc
        return datetime.combine(day, clock, tzinfo=zone)
    raise CapacityError(
        f"the start {text!r} needs its date and UTC offset (e.g. 2026-12-06T11:30+09:00), or a "
        "clock time such as 11:30 for a race whose date and time zone are set (PUT /v1/races)"
    )


def time_of_day(text: str) -> dt_time:
    parsed = dt_time.fromisoformat(text.strip())
    if parsed.tzinfo is not None:
        raise ValueError("give the clock time without an offset: the race's time zone applies")
    return parsed
