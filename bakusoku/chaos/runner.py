"""Running one experiment: the hypothesis before, the method with the hypothesis during, rollbacks,
the hypothesis after; bounded by the experiment's ``duration_seconds``.

If the hypothesis does not hold before, no fault is injected (the system was not steady to begin
with). The faults are injected through the deployment, each with its own duration, so they end by
themselves even if this process dies; the rollbacks run whatever happens (an error, Ctrl-C).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from bakusoku.chaos.deployment import Deployment, DeploymentError
from bakusoku.chaos.experiment import Experiment
from bakusoku.chaos.probe import Probe, ProbeResult
from bakusoku.chaos.report import Report, checked
from bakusoku.utc import iso_seconds, now


def run_experiment(
    experiment: Experiment,
    deployment: Deployment,
    photo_bytes: Callable[[int], bytes],
    *,
    client_retry_seconds: float = 30.0,
    progress: Callable[[str], None] = lambda _line: None,
) -> Report:
    """Run ``experiment`` against ``deployment``; the report says what held."""
    started = time.monotonic()
    report = Report(experiment, started_at=iso_seconds(now()))
    probe = Probe(
        deployment,
        photo_bytes,
        album=experiment.hypothesis.album,
        final_within_seconds=experiment.hypothesis.final_within_seconds,
        client_retry_seconds=client_retry_seconds,
    )
    _phases(experiment, deployment, probe, report, started + experiment.duration_seconds, progress)
    report.ended_at = iso_seconds(now())
    report.seconds = time.monotonic() - started
    return report


def _phases(
    experiment: Experiment,
    deployment: Deployment,
    probe: Probe,
    report: Report,
    deadline: float,
    progress: Callable[[str], None],
) -> None:
    hypothesis = experiment.hypothesis
    progress("before: checking the steady state")
    report.phases["before"] = checked(probe.run(hypothesis.photos, deadline=deadline), hypothesis)
    if not report.phases["before"].held:
        note = "no fault was injected: the hypothesis did not hold before"
        report.phases["during"].note = report.phases["after"].note = note
        return
    injected: list[dict[str, Any]] = []
    try:
        progress("method: injecting the faults")
        during = _During(probe, hypothesis.photos, _window(experiment), deadline)
        during.start()
        for action in experiment.method:
            if time.monotonic() >= deadline:
                report.stopped = "the experiment's duration_seconds ran out during the method"
                break
            step = _act(action.name, action.fault, action.pause_seconds, deployment, injected)
            report.method.append(step)
        _sleep_until(max((_ends(f) for f in injected), default=0.0), deadline)
        result = during.join()
        note = f"{len(injected)} fault(s) in force while these uploaded"
        if result is not None:
            report.phases["during"] = checked(result, hypothesis, note=note)
        else:
            report.phases["during"].note = f"the probe failed: {during.error}"
    finally:
        progress("rollbacks: ending the faults")
        report.rollbacks = _roll_back(experiment, deployment, injected)
    if report.stopped:
        return
    if time.monotonic() >= deadline:
        report.stopped = "the experiment's duration_seconds ran out before the last check"
        return
    progress("after: checking the steady state again")
    report.phases["after"] = checked(probe.run(hypothesis.photos, deadline=deadline), hypothesis)


def _window(experiment: Experiment) -> float:
    """How long the method keeps faults in force: the during probe spreads its uploads over it."""
    total = 0.0
    longest = 0.0
    for action in experiment.method:
        if action.fault:
            longest = max(longest, total + float(action.fault["duration_seconds"]))
        total += action.pause_seconds
    return max(longest, total)


class _During:
    """The probe of the during phase, in a thread, uploading while the faults are in force."""

    def __init__(self, probe: Probe, photos: int, window: float, deadline: float) -> None:
        self._result: ProbeResult | None = None
        self.error = ""
        self._thread = threading.Thread(
            target=self._run, args=(probe, photos, window, deadline), daemon=True
        )

    def _run(self, probe: Probe, photos: int, window: float, deadline: float) -> None:
        # The last upload starts before the faults end, so that each one meets them.
        try:
            self._result = probe.run(photos, spread_seconds=window * 0.8, deadline=deadline)
        except Exception as exc:  # reported as the phase's note; the rollbacks still run
            self.error = f"{type(exc).__name__}: {exc}"

    def start(self) -> None:
        self._thread.start()

    def join(self) -> ProbeResult | None:
        self._thread.join()
        return self._result


def _act(
    name: str,
    fault: dict[str, Any] | None,
    pause_seconds: float,
    deployment: Deployment,
    injected: list[dict[str, Any]],
) -> dict[str, Any]:
    if fault is None:
        time.sleep(pause_seconds)
        return {"name": name, "outcome": f"paused {pause_seconds:g} s"}
    recorded = deployment.inject(fault)
    recorded["_ends"] = time.monotonic() + float(fault["duration_seconds"])
    injected.append(recorded)
    return {"name": name, "fault": {k: v for k, v in recorded.items() if not k.startswith("_")}}


def _ends(fault: dict[str, Any]) -> float:
    return float(fault["_ends"])


def _sleep_until(moment: float, deadline: float) -> None:
    pause = min(moment, deadline) - time.monotonic()
    if pause > 0:
        time.sleep(pause)


def _roll_back(
    experiment: Experiment, deployment: Deployment, injected: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    done = []
    for rollback in experiment.rollbacks:
        try:
            if rollback.end_faults == "all":
                outcome = f"ended {deployment.end_all_faults()} fault(s)"
            else:
                ended = sum(deployment.end_fault(str(f["id"])) for f in injected)
                outcome = f"ended {ended} fault(s) still in force, of {len(injected)} injected"
        except DeploymentError as exc:  # each fault still ends by itself at its expiry
            outcome = f"failed ({exc.message}); every fault still ends at its expiry"
        done.append({"name": rollback.name, "outcome": outcome})
    return done
