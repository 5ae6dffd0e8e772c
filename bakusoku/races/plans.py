"""Where a race's capacity plan is kept, and what reads it: ``bakusoku up`` and the AWS template.

``bakusoku race prepare`` writes one JSON file per race and target under ``race_plans_dir``
(default ``DATA_DIR/race-plans``): ``local/RACE.json`` for ``bakusoku up`` on this machine,
``SERVICE-STAGE/RACE.json`` for a stage on AWS. Each holds the plan's window (raise at, lower at),
what one machine needs (workers, executions at once, the workers' database ceiling) and what each
function needs on AWS (provisioned and reserved concurrency).

- ``bakusoku up`` takes the local plan in force when it starts (within its window) and never runs
  with less than it was configured for: a plan only raises.
- The stage's template gets, per function, Application Auto Scaling scheduled actions that raise
  its ``live`` alias's provisioned concurrency at the window's start and lower it to zero at its
  end, for every plan that has not ended when the stack is packaged; reserved concurrency, which
  Application Auto Scaling cannot schedule, is raised for as long as such a plan exists (deploy
  again after the race to lower it).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bakusoku.config import Settings
from bakusoku.errors import BakusokuError
from bakusoku.races.capacity import CapacityPlan

LOCAL = "local"


class RacePlanError(BakusokuError):
    """A stored plan that cannot be read; the message names the file."""

    code = "race.plan_invalid"


@dataclass(frozen=True)
class PlanWindow:
    """What one stored plan asks for, and when."""

    race: str
    raise_at: datetime
    lower_at: datetime
    workers: int
    max_running_executions: int
    db_max_connections: int
    provisioned: Mapping[str, int]  # function → provisioned concurrency during the window
    reserved: Mapping[str, int]  # function → reserved concurrency while the plan stands
    verdict: str = "ok"

    def in_force(self, now: datetime) -> bool:
        return self.raise_at <= now < self.lower_at


def plans_dir(settings: Settings) -> Path:
    return (
        Path(settings.race_plans_dir)
        if settings.race_plans_dir
        else settings.data_dir / ("race-plans")
    )


def target_name(service: str | None = None, stage: str | None = None) -> str:
    """``local`` for ``bakusoku up``, else ``SERVICE-STAGE``."""
    return f"{service}-{stage}" if service and stage else LOCAL


def write_plan(settings: Settings, target: str, plan: CapacityPlan) -> Path:
    """Store ``plan`` for ``target``, replacing that race's previous one; its path."""
    folder = plans_dir(settings) / target
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{plan.race}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(plan.as_dict(), indent=2, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    return path


def read_plans(settings: Settings, target: str) -> list[PlanWindow]:
    """Every plan stored for ``target``, by start."""
    folder = plans_dir(settings) / target
    if not folder.is_dir():
        return []
    return sorted(
        (_window(path) for path in folder.glob("*.json")), key=lambda w: (w.raise_at, w.race)
    )


def _window(path: Path) -> PlanWindow:
    try:
        data = json.loads(path.read_text())
        local = data["local"]
        return PlanWindow(
            race=str(data["race"]),
            raise_at=datetime.fromisoformat(data["raise_at"]),
            lower_at=datetime.fromisoformat(data["lower_at"]),
            workers=int(local["workers"]),
            max_running_executions=int(local["max_running_executions"]),
            db_max_connections=int(local["db_max_connections"]),
            provisioned={f["function"]: int(f["provisioned"]) for f in data["functions"]},
            reserved={f["function"]: int(f["reserved"]) for f in data["functions"]},
            verdict=str(data.get("verdict", "ok")),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RacePlanError(
            f"the race plan {str(path)!r} cannot be read ({exc}); run `bakusoku race prepare` "
            "again or delete the file"
        ) from exc


def current_plan(settings: Settings, now: datetime) -> PlanWindow | None:
    """The local plan in force at ``now`` (the one that started last, if windows overlap)."""
    found = [w for w in read_plans(settings, LOCAL) if w.in_force(now)]
    return found[-1] if found else None


def next_plan(settings: Settings, now: datetime) -> PlanWindow | None:
    """The next local plan to come into force after ``now``."""
    return next((w for w in read_plans(settings, LOCAL) if w.raise_at > now), None)


def apply_plan(settings: Settings, plan: PlanWindow | None) -> Settings:
    """``settings`` with the plan's workers and bounds, never below what they already were."""
    if plan is None:
        return settings
    ceiling = settings.db_max_connections  # 0: no ceiling (e.g. behind RDS Proxy) stays none
    return dataclasses.replace(
        settings,
        workers=max(settings.effective_workers, plan.workers),
        max_running_executions=max(settings.max_running_executions, plan.max_running_executions),
        db_max_connections=max(ceiling, plan.db_max_connections) if ceiling else 0,
    )


def stage_windows(
    settings: Settings, service: str, stage: str, now: datetime
) -> tuple[PlanWindow, ...]:
    """The stage's plans that have not ended at ``now`` (an ended one changes nothing)."""
    return tuple(w for w in read_plans(settings, target_name(service, stage)) if w.lower_at > now)


def raised_reservations(
    reserved: Mapping[str, int | None], windows: tuple[PlanWindow, ...]
) -> dict[str, int | None]:
    """Each function's reserved concurrency, raised to what the plans ask for. A function that
    reserves nothing keeps reserving nothing: it already draws on the account's unreserved pool."""
    raised: dict[str, int | None] = dict(reserved)
    for name, current in reserved.items():
        if current is None:
            continue
        asked = max((w.reserved.get(name, 0) for w in windows), default=0)
        raised[name] = max(current, asked)
    return raised


def window_summary(window: PlanWindow) -> dict[str, Any]:
    return {
        "race": window.race,
        "raise_at": window.raise_at.isoformat(),
        "lower_at": window.lower_at.isoformat(),
        "provisioned": dict(window.provisioned),
        "reserved": dict(window.reserved),
    }


def plan_banner(current: PlanWindow | None, upcoming: PlanWindow | None) -> list[str]:
    """What `bakusoku up` says of the race plans when it starts."""
    lines = []
    if current is not None:
        lines.append(
            f"  race plan:    {current.race} until {current.lower_at.isoformat()} "
            f"({current.workers} workers, {current.max_running_executions} executions at once, "
            f"db_max_connections {current.db_max_connections}; verdict {current.verdict})"
        )
    if upcoming is not None:
        lines.append(
            f"  next race:    {upcoming.race} from {upcoming.raise_at.isoformat()}: restart "
            "`bakusoku up` then to run with its plan"
        )
    return lines
