"""EngineExecutions, the API's executions on the embedded engine, over a real engine and SQLite."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bakusoku.api.executions import EngineExecutions
from bakusoku.db.engine import create_db_engine
from bakusoku.ops.history import ExecutionQuery
from bakusoku.ops.redrive import REDRIVEN
from bakusoku.storage.notifications import object_created_event
from bakusoku.workflow.engine import WorkflowEngine
from bakusoku.workflow.errors import ExecutionDoesNotExistError, WorkflowError
from bakusoku.workflow.invoker import FunctionInvoker
from tests.schema import create_schema

pytestmark = pytest.mark.integration

PREFIX = "uploads/"
PASS = {"StartAt": "Store", "States": {"Store": {"Type": "Pass", "End": True}}}
FAIL = {"StartAt": "Stop", "States": {"Stop": {"Type": "Fail", "Error": "Broken", "Cause": "x"}}}


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'executions.db'}")
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(db: sa.Engine) -> Iterator[WorkflowEngine]:
    workflow = WorkflowEngine(db, FunctionInvoker({}), time_scale=0.01)
    workflow.register_state_machine("passes", PASS)
    workflow.register_state_machine("fails", FAIL)
    workflow.start()
    yield workflow
    workflow.stop()


@pytest.fixture
def executions(engine: WorkflowEngine) -> EngineExecutions:
    return EngineExecutions(engine, PREFIX)


def run(engine: WorkflowEngine, machine: str) -> tuple[str, str]:
    """One ended execution of ``machine`` for a new photo of album ``day``: (name, photo_id)."""
    photo_id = str(uuid.uuid4())
    event: dict[str, Any] = object_created_event(
        bucket="bakusoku",
        key=f"{PREFIX}day/{photo_id}.jpg",
        size=1234,
        etag="0" * 32,
        sequencer="0055AED6DCD90281E5",
        region="us-east-1",
        event_time=datetime.now(UTC),
    )
    name = f"photo-{photo_id}"
    engine.start_execution(machine, event, name=name)
    engine.wait_for(name)
    return name, photo_id


def test_describes_and_reads_histories_as_the_engine_does(
    executions: EngineExecutions, engine: WorkflowEngine
) -> None:
    name, _ = run(engine, "passes")
    assert executions.describe_execution(name) == engine.describe_execution(name)
    assert executions.get_execution_history(name) == engine.get_execution_history(name)
    assert executions.describe_execution(name).status == "SUCCEEDED"


def test_searches_and_summarises_the_engine_s_history_tables(
    executions: EngineExecutions, engine: WorkflowEngine
) -> None:
    passed, photo_id = run(engine, "passes")
    failed, _ = run(engine, "fails")
    found = executions.search_executions(ExecutionQuery(statuses=("SUCCEEDED",)))
    assert [row["name"] for row in found] == [passed]
    assert found[0]["photo_id"] == photo_id and found[0]["album"] == "day"
    assert executions.execution_summary(passed) == found[0]
    assert executions.execution_summary(failed)["status"] == "FAILED"


def test_an_unknown_execution_does_not_exist(executions: EngineExecutions) -> None:
    for read in (
        executions.describe_execution,
        executions.get_execution_history,
        executions.execution_summary,
    ):
        with pytest.raises(ExecutionDoesNotExistError):
            read("no-such-execution")


def test_re_drives_an_unhandled_failure_in_place(
    executions: EngineExecutions, engine: WorkflowEngine
) -> None:
    name, photo_id = run(engine, "fails")
    outcome = executions.redrive(name)
    assert (outcome.action, outcome.requested, outcome.photo_id) == (REDRIVEN, name, photo_id)
    assert engine.wait_for(name).redrive_count == 1
    assert executions.reprocessed_as(name) == []  # restarted in place: no new execution


def test_the_status_report_counts_the_engine_s_executions(
    executions: EngineExecutions, engine: WorkflowEngine
) -> None:
    run(engine, "passes")
    run(engine, "fails")
    report = executions.status_report()
    assert report["executions"]["last_hour"]["ended"] == {"SUCCEEDED": 1, "FAILED": 1}
    assert report["executions"]["running"] == 0


def test_is_ready_only_while_the_engine_runs(db: sa.Engine) -> None:
    engine = WorkflowEngine(db, FunctionInvoker({}))
    executions = EngineExecutions(engine, PREFIX)
    with pytest.raises(WorkflowError, match="not started"):
        executions.check_ready()
    engine.start()
    try:
        executions.check_ready()
    finally:
        engine.stop()
    with pytest.raises(WorkflowError, match="not started"):
        executions.check_ready()
