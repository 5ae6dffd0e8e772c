"""The experiment file: steady-state hypothesis, method and rollbacks, in the Chaos Toolkit's spirit.

```yaml
title: The database is cut off for a few seconds
description: What it shows.
duration_seconds: 120          # the bound of the whole run: past it the runner stops and rolls back
steady-state-hypothesis:
  title: Every accepted photo is final within 30 s, none fails
  probe:
    photos: 3                  # uploaded in each phase (before, during, after)
    final_within_seconds: 30   # from the store's acknowledgement to ready, failed or duplicate
    max_failure_percent: 0     # refused uploads, failed photos and late ones, of those attempted
method:
  - name: cut the database
    fault: {kind: db.cut, duration_seconds: 5}
  - name: let it last
    pause_seconds: 5
rollbacks:
  - name: end every fault this experiment injected
    end_faults: injected       # or: all
```

A fault takes ``kind``, ``duration_seconds`` and, as the kind needs, ``target``, ``percentage``,
``latency_ms`` and ``interval_seconds`` (``bakusoku.faults.KINDS``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from bakusoku.errors import BakusokuError
from bakusoku.faults import KINDS
from bakusoku.faults.model import DEFAULT_INTERVAL_SECONDS

_FAULT_KEYS = {"kind", "duration_seconds", "target", "percentage", "latency_ms", "interval_seconds"}
_ACTION_KEYS = {"name", "fault", "pause_seconds"}
_ROLLBACK_KEYS = {"name", "end_faults"}
_PROBE_KEYS = {"photos", "final_within_seconds", "max_failure_percent", "album", "megapixels"}
_TOP_KEYS = {
    "title",
    "description",
    "duration_seconds",
    "steady-state-hypothesis",
    "method",
    "rollbacks",
    "tags",
}
MAX_PHOTOS = 100


class ExperimentError(BakusokuError):
    """An experiment that cannot run as written: the message names the key and what to write."""

    code = "chaos.invalid"


@dataclass(frozen=True)
class Hypothesis:
    """What must hold in every phase: each photo final in time, and few failures."""

    title: str
    photos: int = 3
    final_within_seconds: float = 30.0
    max_failure_percent: float = 0.0
    album: str = "chaos"
    megapixels: float = 0.3


@dataclass(frozen=True)
class Action:
    """One step of the method: inject a fault (``fault``), or wait (``pause_seconds``)."""

    name: str
    fault: dict[str, Any] | None = None
    pause_seconds: float = 0.0


@dataclass(frozen=True)
class Rollback:
    name: str
    end_faults: str = "injected"  # injected | all


@dataclass(frozen=True)
class Experiment:
    title: str
    hypothesis: Hypothesis
    method: tuple[Action, ...]
    rollbacks: tuple[Rollback, ...] = (Rollback("end every fault this experiment injected"),)
    description: str = ""
    duration_seconds: float = 300.0
    name: str = ""  # the built-in's name, or the file's
    tags: tuple[str, ...] = field(default_factory=tuple)

    def with_overrides(
        self,
        *,
        fault_seconds: float | None = None,
        photos: int | None = None,
        final_within_seconds: float | None = None,
        max_failure_percent: float | None = None,
        duration_seconds: float | None = None,
    ) -> Experiment:
        """The experiment with its numbers changed (the command's options): every fault's and
        pause's duration, the probe's photos and tolerances, the run's bound."""
        changes: dict[str, Any] = {
            "photos": photos,
            "final_within_seconds": final_within_seconds,
            "max_failure_percent": max_failure_percent,
        }
        hypothesis = replace(self.hypothesis, **{k: v for k, v in changes.items() if v is not None})
        method = self.method
        if fault_seconds is not None:
            method = tuple(
                replace(
                    a,
                    fault=None if a.fault is None else _resized(a.fault, fault_seconds),
                    pause_seconds=fault_seconds if a.pause_seconds else 0.0,
                )
                for a in method
            )
        changed = replace(self, hypothesis=hypothesis, method=method)
        if duration_seconds is not None:
            changed = replace(changed, duration_seconds=duration_seconds)
        return _checked(changed)


def _resized(fault: dict[str, Any], seconds: float) -> dict[str, Any]:
    """``fault`` lasting ``seconds``; a repeated fault (``workers.kill``) still acts at least twice."""
    resized = {**fault, "duration_seconds": seconds}
    if fault.get("kind") == "workers.kill":
        interval = float(fault.get("interval_seconds", DEFAULT_INTERVAL_SECONDS))
        resized["interval_seconds"] = max(0.1, min(interval, seconds / 2))
    return resized


def parse_experiment(data: Any, *, name: str = "") -> Experiment:
    """An experiment from the file's parsed YAML or JSON; ExperimentError names what is wrong."""
    top = _mapping(data, "the experiment", _TOP_KEYS)
    steady = _mapping(
        top.get("steady-state-hypothesis"), "steady-state-hypothesis", {"title", "probe"}
    )
    probe = _mapping(steady.get("probe", {}), "steady-state-hypothesis.probe", _PROBE_KEYS)
    hypothesis = Hypothesis(
        title=_text(steady.get("title"), "steady-state-hypothesis.title"),
        photos=int(_number(probe.get("photos", 3), "probe.photos")),
        final_within_seconds=_number(
            probe.get("final_within_seconds", 30), "probe.final_within_seconds"
        ),
        max_failure_percent=_number(
            probe.get("max_failure_percent", 0), "probe.max_failure_percent"
        ),
        album=str(probe.get("album", "chaos")),
        megapixels=_number(probe.get("megapixels", 0.3), "probe.megapixels"),
    )
    method = tuple(
        _action(item, f"method[{i}]") for i, item in enumerate(_list(top.get("method"), "method"))
    )
    rollbacks_given = top.get("rollbacks")
    rollbacks = (
        Experiment.rollbacks
        if rollbacks_given is None
        else tuple(
            _rollback(item, f"rollbacks[{i}]")
            for i, item in enumerate(_list(rollbacks_given, "rollbacks"))
        )
    )
    experiment = Experiment(
        title=_text(top.get("title"), "title"),
        description=str(top.get("description", "")).strip(),
        hypothesis=hypothesis,
        method=method,
        rollbacks=rollbacks,
        duration_seconds=_number(top.get("duration_seconds", 300), "duration_seconds"),
        name=name,
        tags=tuple(str(t) for t in _list(top.get("tags", []), "tags")),
    )
    return _checked(experiment)


def _checked(experiment: Experiment) -> Experiment:
    h = experiment.hypothesis
    if not 1 <= h.photos <= MAX_PHOTOS:
        raise ExperimentError(
            f"probe.photos is {h.photos}: upload from 1 to {MAX_PHOTOS} per phase"
        )
    if h.final_within_seconds <= 0:
        raise ExperimentError("probe.final_within_seconds must be above 0")
    if not 0 <= h.max_failure_percent <= 100:
        raise ExperimentError("probe.max_failure_percent must be from 0 to 100")
    if not 0.05 <= h.megapixels <= 24:
        raise ExperimentError("probe.megapixels must be from 0.05 to 24")
    if not experiment.method:
        raise ExperimentError("method is empty: give at least one fault to inject")
    if experiment.duration_seconds <= 0:
        raise ExperimentError("duration_seconds must be above 0: it bounds the whole run")
    for action in experiment.method:
        fault = action.fault or {}
        if fault and fault.get("kind") not in KINDS:
            raise ExperimentError(
                f"{action.name}: fault kind {fault.get('kind')!r} is unknown: use one of "
                f"{', '.join(KINDS)}"
            )
        if fault and not _positive(fault.get("duration_seconds")):
            raise ExperimentError(f"{action.name}: the fault needs duration_seconds above 0")
    return experiment


def _positive(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def _action(item: Any, where: str) -> Action:
    action = _mapping(item, where, _ACTION_KEYS)
    name = str(action.get("name", where))
    if ("fault" in action) == ("pause_seconds" in action):
        raise ExperimentError(f"{where}: give either fault or pause_seconds")
    if "fault" in action:
        fault = dict(_mapping(action["fault"], f"{where}.fault", _FAULT_KEYS))
        return Action(name=name, fault=fault)
    return Action(
        name=name, pause_seconds=_number(action["pause_seconds"], f"{where}.pause_seconds")
    )


def _rollback(item: Any, where: str) -> Rollback:
    rollback = _mapping(item, where, _ROLLBACK_KEYS)
    scope = rollback.get("end_faults", "injected")
    if scope not in ("injected", "all"):
        raise ExperimentError(f"{where}.end_faults is {scope!r}: use injected or all")
    return Rollback(name=str(rollback.get("name", where)), end_faults=scope)


def _mapping(value: Any, where: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ExperimentError(f"{where} must be a mapping of keys to values")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise ExperimentError(f"{where} has unknown keys {unknown}: known are {sorted(allowed)}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ExperimentError(f"{where} must be a list")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ExperimentError(f"{where} must be a non-empty text")
    return value.strip()


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ExperimentError(f"{where} must be a number, not {value!r}")
    return float(value)


# -- built-in experiments and files ------------------------------------------------------------


def builtin_names() -> list[str]:
    """The names of the built-in experiments (``chaos/experiments/NAME.yaml``)."""
    folder = resources.files("bakusoku.chaos") / "experiments"
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def load_experiment(name_or_path: str) -> Experiment:
    """A built-in experiment by name, or one from a YAML or JSON file."""
    if name_or_path in builtin_names():
        text = (
            resources.files("bakusoku.chaos") / "experiments" / f"{name_or_path}.yaml"
        ).read_text()
        return parse_experiment(yaml.safe_load(text), name=name_or_path)
    path = Path(name_or_path)
    if not path.is_file():
        raise ExperimentError(
            f"{name_or_path!r} is neither a built-in experiment ({', '.join(builtin_names())}) "
            "nor a file"
        )
    try:
        data = yaml.safe_load(path.read_text())  # JSON is YAML too
    except yaml.YAMLError as exc:
        raise ExperimentError(f"{path} is not valid YAML or JSON: {exc}") from exc
    return parse_experiment(data, name=path.stem)
