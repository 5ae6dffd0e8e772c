"""The engine process is killed (SIGKILL) mid-execution and restarted on the same database.

The execution finishes with the right output, and no step that was recorded as done runs again:
only the step the process died in runs a second time (tasks are at-least-once, as in Step
Functions).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bakusoku.db.engine import create_db_engine
from bakusoku.workflow.tables import execution_events, executions
from tests.schema import create_schema
from tests.workflow.crash_worker import EXECUTION, WAIT_SECONDS

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.integration,  # an engine process killed mid-execution
    pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL"),
]


def _spawn(
    db: Path, markers: Path, scenario: str, mode: str, *, block: bool
) -> subprocess.Popen[str]:
    args = [
        sys.executable,
        "-m",
        "tests.workflow.crash_worker",
        str(db),
        str(markers),
        scenario,
        mode,
    ]
    if block:
        args.append("--block")
    return subprocess.Popen(
        args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _until(
    condition: Callable[[], bool], process: subprocess.Popen[str], timeout: float = 15
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"the engine process ended early: {process.communicate()}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"timed out waiting; engine output: {process.communicate()}")
        time.sleep(0.02)


def _runs(markers: Path, step: str) -> int:
    path = markers / f"{step}.runs"
    return len(path.read_text().splitlines()) if path.exists() else 0


def _checkpoint_state(db: Path) -> str | None:
    engine = create_db_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            row = conn.execute(
                sa.select(executions.c.checkpoint).where(executions.c.name == EXECUTION)
            ).one_or_none()
    finally:
        engine.dispose()
    return None if row is None or not row.checkpoint else str(row.checkpoint.get("state"))


def _crash_and_resume(
    tmp_path: Path, scenario: str, ready: Callable[[Path, Path], bool]
) -> tuple[dict[str, Any], Path, Path]:
    db, markers = tmp_path / "engine.db", tmp_path / "markers"
    markers.mkdir()
    setup = create_db_engine(f"sqlite:///{db}")
    create_schema(setup)
    setup.dispose()
    first = _spawn(db, markers, scenario, "start", block=True)
    _until(lambda: ready(db, markers), first)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    assert first.returncode == -signal.SIGKILL
    second = _spawn(db, markers, scenario, "resume", block=False)
    out, err = second.communicate(timeout=30)
    assert second.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1]), db, markers


def _history(db: Path) -> list[Any]:
    engine = create_db_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    sa.select(execution_events)
                    .where(execution_events.c.execution_name == EXECUTION)
                    .order_by(execution_events.c.event_id)
                ).all()
            )
    finally:
        engine.dispose()


def test_killed_in_a_task_resumes_at_that_task(tmp_path: Path) -> None:
    result, db, markers = _crash_and_resume(tmp_path, "task", lambda _db, m: _runs(m, "slow") == 1)
    assert result == {
        "status": "SUCCEEDED",
        "output": {"n": 1, "first": "first", "slow": "slow", "last": "last"},
        "error": None,
    }
    # "first" was recorded before the crash: it does not run again; "slow" was cut short.
    assert (_runs(markers, "first"), _runs(markers, "slow"), _runs(markers, "last")) == (1, 2, 1)
    events = _history(db)
    assert [e.event_id for e in events] == list(range(1, len(events) + 1))
    assert [e.type for e in events].count("ExecutionSucceeded") == 1


def test_killed_in_a_wait_waits_only_for_what_remains(tmp_path: Path) -> None:
    result, db, markers = _crash_and_resume(
        tmp_path, "wait", lambda d, _m: _checkpoint_state(d) == "pause"
    )
    assert result["status"] == "SUCCEEDED"
    assert result["output"] == {"n": 2, "first": "first", "last": "last"}
    assert (_runs(markers, "first"), _runs(markers, "last")) == (1, 1)
    events = _history(db)
    entered = [e.timestamp for e in events if e.type == "WaitStateEntered"]
    exited = [e.timestamp for e in events if e.type == "WaitStateExited"]
    assert len(exited) == 1
    # Measured from when the Wait was first entered, before the crash.
    assert WAIT_SECONDS - 0.05 <= exited[0] - entered[0] < WAIT_SECONDS + 3


def test_killed_inside_a_map_reruns_only_unfinished_iterations(tmp_path: Path) -> None:
    result, _db, markers = _crash_and_resume(
        tmp_path, "map", lambda _d, m: _runs(m, "item-4") == 1 and _runs(m, "item-5") == 1
    )
    assert result["status"] == "SUCCEEDED"
    assert result["output"]["doubled"] == [2, 4, 6, 8, 10, 12]
    runs = {i: _runs(markers, f"item-{i}") for i in range(1, 7)}
    # Items 1-3 had succeeded (and were recorded); 4 and 5 were running; 6 had not started.
    assert runs == {1: 1, 2: 1, 3: 1, 4: 2, 5: 2, 6: 1}
    assert (_runs(markers, "first"), _runs(markers, "last")) == (1, 1)
