"""What a chaos run found: per phase (before, during, after) what was measured and whether each
check of the hypothesis held; as JSON and as text for a person."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bakusoku.chaos.experiment import Experiment, Hypothesis
from bakusoku.chaos.probe import ProbeResult

PHASES = ("before", "during", "after")


@dataclass
class Check:
    name: str
    held: bool
    measured: float | int | None
    tolerance: float | int


@dataclass
class PhaseReport:
    """One phase: not run (``ran`` False, with ``note``), or measured and checked."""

    ran: bool = False
    note: str = ""
    measured: dict[str, Any] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)

    @property
    def held(self) -> bool | None:
        return all(c.held for c in self.checks) if self.ran else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ran": self.ran,
            "held": self.held,
            "note": self.note,
            "measured": self.measured,
            "checks": [c.__dict__ for c in self.checks],
        }


def checked(result: ProbeResult, hypothesis: Hypothesis, note: str = "") -> PhaseReport:
    """The phase of ``result``, each check of ``hypothesis`` held or not."""
    measured = result.measured()
    slowest = measured["seconds_to_final"]["max"]
    accepted = [o for o in result.outcomes if o.accepted]
    return PhaseReport(
        ran=True,
        note=note,
        measured=measured,
        checks=[
            Check(
                f"every accepted photo is final within {hypothesis.final_within_seconds:g} s",
                held=result.late == 0,
                measured=slowest if all(o.seconds_to_final is not None for o in accepted) else None,
                tolerance=hypothesis.final_within_seconds,
            ),
            Check(
                f"failure rate at most {hypothesis.max_failure_percent:g} %",
                held=result.failure_percent <= hypothesis.max_failure_percent,
                measured=measured["failure_percent"],
                tolerance=hypothesis.max_failure_percent,
            ),
        ],
    )


@dataclass
class Report:
    experiment: Experiment
    started_at: str
    ended_at: str = ""
    seconds: float = 0.0
    phases: dict[str, PhaseReport] = field(
        default_factory=lambda: {p: PhaseReport() for p in PHASES}
    )
    method: list[dict[str, Any]] = field(default_factory=list)
    rollbacks: list[dict[str, Any]] = field(default_factory=list)
    stopped: str = ""  # why the run stopped before its end, if it did

    @property
    def held(self) -> bool:
        """Whether the hypothesis held in every phase, each of which ran."""
        return not self.stopped and all(p.held for p in self.phases.values())

    @property
    def status(self) -> str:
        if self.stopped:
            return "aborted"
        return "completed" if self.held else "deviated"

    def as_dict(self) -> dict[str, Any]:
        e = self.experiment
        return {
            "experiment": {
                "name": e.name,
                "title": e.title,
                "hypothesis": e.hypothesis.__dict__,
                "duration_seconds": e.duration_seconds,
            },
            "status": self.status,
            "held": self.held,
            "stopped": self.stopped,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "seconds": round(self.seconds, 1),
            "phases": {name: phase.as_dict() for name, phase in self.phases.items()},
            "method": self.method,
            "rollbacks": self.rollbacks,
        }

    def lines(self) -> list[str]:
        e = self.experiment
        out = [
            f"experiment {e.name or '(file)'}: {e.title}",
            f"hypothesis: {e.hypothesis.title}",
        ]
        for name in PHASES:
            phase = self.phases[name]
            if not phase.ran:
                out.append(f"  {name:<7} not run: {phase.note or 'the run stopped before it'}")
                continue
            m = phase.measured
            verdict = "held" if phase.held else "NOT HELD"
            out.append(
                f"  {name:<7} {verdict:<8} {m['accepted']}/{m['attempted']} accepted, "
                f"{m['ready']} ready, {m['failed']} failed, {m['late']} not final in time; "
                f"upload p95 {_seconds(m['seconds_to_accept']['p95'])}, "
                f"to final p95 {_seconds(m['seconds_to_final']['p95'])}"
            )
            for check in phase.checks:
                mark = "ok " if check.held else "FAIL"
                out.append(f"      {mark} {check.name} (measured: {_value(check.measured)})")
            if m["task_errors"]:
                out.append(f"      tasks retried after: {_counts(m['task_errors'])}")
            if m["error_codes"] or m["refusals"]:
                out.append(f"      errors: {_counts({**m['error_codes'], **m['refusals']})}")
            if phase.note:
                out.append(f"      {phase.note}")
            if name == "before":
                out.extend(_method_lines(self.method))
        out.extend(f"  rollback: {r['name']}: {r['outcome']}" for r in self.rollbacks)
        if self.stopped:
            out.append(f"result: ABORTED: {self.stopped}")
        elif self.held:
            out.append(
                f"result: the hypothesis held before, during and after ({self.seconds:.1f} s)"
            )
        else:
            failed = [n for n in PHASES if self.phases[n].held is False]
            out.append(
                f"result: the hypothesis did NOT hold {', '.join(failed)} ({self.seconds:.1f} s)"
            )
        return out


def _method_lines(method: list[dict[str, Any]]) -> list[str]:
    lines = []
    for step in method:
        fault = step.get("fault")
        if fault:
            lines.append(
                f"  method: {step['name']}: {fault['kind']} on {fault.get('target') or 'everything'} "
                f"for {fault['expires_at'] - fault['started_at']:g} s (fault {fault['id']})"
            )
        else:
            lines.append(f"  method: {step['name']}: {step.get('outcome', '')}")
    return lines


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} x{n}" for name, n in sorted(counts.items()))


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def _value(value: Any) -> str:
    return "none in time" if value is None else f"{value:g}"
