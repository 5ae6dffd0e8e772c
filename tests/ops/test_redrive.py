"""Re-driving failed executions over a real engine and database: in place or as a new execution."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from bakusoku.db.photos import PhotoRepository
from bakusoku.domain.keys import photo_ref
from bakusoku.events import object_created_records
from bakusoku.ops.history import ExecutionHistory, ExecutionQuery
from bakusoku.ops.redrive import (
    REDRIVEN,
    REPROCESSED,
    AlreadyReprocessedError,
    Redriver,
    failure_was_handled,
    redrive_name,
)
from bakusoku.workflow.engine import WorkflowEngine, validate_name
from bakusoku.workflow.errors import ExecutionNotRedrivableError
from bakusoku.workflow.invoker import FunctionInvoker
from tests.ops.conftest import arn, photo_key, s3_event

PREFIX = "uploads/"


class TransientError(Exception):
    pass


def _definition(*, catch: bool) -> dict[str, Any]:
    process: dict[str, Any] = {
        "Type": "Task",
        "Resource": arn("Process"),
        "ResultPath": "$.result",
        "Retry": [{"ErrorEquals": ["Nothing.Matches"], "MaxAttempts": 1}],
        "End": True,
    }
    if not catch:
        return {"StartAt": "Process", "States": {"Process": process}}
    process["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Note"}]
    return {
        "StartAt": "Process",
        "States": {
            "Process": process,
            "Note": {"Type": "Task", "Resource": arn("Note"), "Next": "Stop"},
            "Stop": {"Type": "Fail", "ErrorPath": "$.Error", "CausePath": "$.Cause"},
        },
    }


class World:
    """A failing-until-fixed task over real photo rows; ``hold`` keeps the task running."""

    def __init__(self, db: sa.Engine) -> None:
        self.repo = PhotoRepository(db)
        self.fixed = False
        self.hold = threading.Event()
        self.hold.set()
        self.calls = 0

    def _photo_id(self, event: dict[str, Any]) -> str:
        record = object_created_records(event)[0]
        return photo_ref(record.bucket, record.key, PREFIX).photo_id

    def process(self, state: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        assert self.hold.wait(30)
        if not self.fixed:
            raise TransientError("the store answered 503")
        self.repo.mark_ready(self._photo_id(state), {})
        return {"ok": True}

    def note(self, state: dict[str, Any]) -> dict[str, Any]:
        self.repo.mark_failed(self._photo_id(state), "storage.unavailable", "the store was down")
        return {"Error": "storage.unavailable", "Cause": "the store was down"}

    def invoker(self) -> FunctionInvoker:
        return FunctionInvoker(
            {arn("Process"): lambda state: self.process(state), arn("Note"): lambda s: self.note(s)}
        )

    def new_photo(self) -> tuple[str, dict[str, Any]]:
        photo_id = str(uuid.uuid4())
        event = s3_event(photo_key("sports-day", photo_id))
        record = object_created_records(event)[0]
        self.repo.record_received(
            photo_id=photo_id,
            album="sports-day",
            bucket=record.bucket,
            object_key=record.key,
            etag=record.etag or "etag",
            byte_size=1234,
            sha256="0" * 64,
            content_type="image/jpeg",
            execution_name=None,
        )
        return photo_id, event


@pytest.fixture
def world(db: sa.Engine) -> World:
    return World(db)


@pytest.fixture
def engine(db: sa.Engine, world: World) -> Iterator[WorkflowEngine]:
    workflow = WorkflowEngine(db, world.invoker(), time_scale=0.01)
    workflow.register_state_machine("caught", _definition(catch=True))
    workflow.register_state_machine("uncaught", _definition(catch=False))
    workflow.start()
    yield workflow
    workflow.stop()


def failed_execution(engine: WorkflowEngine, world: World, machine: str) -> tuple[str, str]:
    photo_id, event = world.new_photo()
    name = f"photo-{photo_id}"
    engine.start_execution(machine, event, name=name)
    assert engine.wait_for(name).status == "FAILED"
    return name, photo_id


def test_a_handled_failure_is_reprocessed_by_a_new_execution(
    db: sa.Engine, engine: WorkflowEngine, world: World
) -> None:
    name, photo_id = failed_execution(engine, world, "caught")
    assert world.repo.get(photo_id)["status"] == "failed"
    assert failure_was_handled(engine.get_execution_history(name))
    redriver = Redriver(engine, db, PREFIX)

    world.fixed = True
    world.hold.clear()  # the new execution stays in its task until released
    first = redriver.redrive(name)
    assert first.action == REPROCESSED and first.started
    assert first.execution.name == f"{name}-redrive-1"
    photo = world.repo.get(photo_id)
    assert photo["status"] == "processing" and photo["execution_name"] == first.execution.name
    assert photo["error_code"] is None

    # Asked again while the first re-drive runs: the same execution, nothing new started.
    again = redriver.redrive(name)
    assert again.execution.name == first.execution.name and not again.started
    world.hold.set()
    assert engine.wait_for(first.execution.name).status == "SUCCEEDED"
    assert world.repo.get(photo_id)["status"] == "ready"
    assert engine.describe_execution(name).status == "FAILED"  # the old run is history
    assert world.calls == 2  # the failed run once, the re-drive once

    history = ExecutionHistory(db, engine, PREFIX)
    found = {e["name"] for e in history.search(ExecutionQuery(photo_id=photo_id))}
    assert found == {name, first.execution.name}
    assert redriver.reprocessed_as(name) == [first.execution.name]
    with pytest.raises(AlreadyReprocessedError, match="succeeded"):
        redriver.redrive(name)


def test_a_reprocessing_that_fails_again_is_reprocessed_under_the_next_number(
    db: sa.Engine, engine: WorkflowEngine, world: World
) -> None:
    name, photo_id = failed_execution(engine, world, "caught")
    redriver = Redriver(engine, db, PREFIX)
    first = redriver.redrive(name)
    assert engine.wait_for(first.execution.name).status == "FAILED"
    assert world.repo.get(photo_id)["status"] == "failed"
    world.fixed = True
    second = redriver.redrive(first.execution.name)  # re-driving the re-drive: same family
    assert second.execution.name == f"{name}-redrive-2" and second.started
    assert engine.wait_for(second.execution.name).status == "SUCCEEDED"
    assert world.repo.get(photo_id)["status"] == "ready"
    assert redriver.reprocessed_as(name) == [first.execution.name, second.execution.name]
    assert redriver.reprocessed_as(first.execution.name) == [second.execution.name]


def test_an_unhandled_failure_is_redriven_in_place(
    db: sa.Engine, engine: WorkflowEngine, world: World
) -> None:
    name, _ = failed_execution(engine, world, "uncaught")
    assert not failure_was_handled(engine.get_execution_history(name))
    world.fixed = True
    outcome = Redriver(engine, db, PREFIX).redrive(name)
    assert outcome.action == REDRIVEN and outcome.execution.name == name
    finished = engine.wait_for(name)
    assert finished.status == "SUCCEEDED" and finished.redrive_count == 1


def test_only_failed_executions_are_redriven(
    db: sa.Engine, engine: WorkflowEngine, world: World
) -> None:
    world.fixed = True
    photo_id, event = world.new_photo()
    engine.start_execution("caught", event, name=f"ok-{photo_id}")
    engine.wait_for(f"ok-{photo_id}")
    with pytest.raises(ExecutionNotRedrivableError, match="SUCCEEDED"):
        Redriver(engine, db, PREFIX).redrive(f"ok-{photo_id}")


def test_a_fail_state_reached_without_an_error_is_not_a_handled_failure(
    db: sa.Engine, world: World
) -> None:
    workflow = WorkflowEngine(db, world.invoker(), time_scale=0.01)
    workflow.register_state_machine(
        "choice",
        {
            "StartAt": "Check",
            "States": {
                "Check": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.go", "BooleanEquals": True, "Next": "Done"}],
                    "Default": "Stop",
                },
                "Done": {"Type": "Succeed"},
                "Stop": {"Type": "Fail", "Error": "NotWanted"},
            },
        },
    )
    with workflow:
        workflow.start_execution("choice", {"go": False}, name="no-go")
        assert workflow.wait_for("no-go").status == "FAILED"
        assert not failure_was_handled(workflow.get_execution_history("no-go"))


def test_redrive_names_keep_to_the_step_functions_rules() -> None:
    long = "IMG_0001-jpg-" + "a" * 67
    assert len(long) == 80
    for n in (1, 9, 10, 123):
        name = redrive_name(long, n)
        validate_name(name)
        assert len(name) <= 80 and name.endswith(f"-redrive-{n}")
    assert redrive_name("photo-abc", 2) == "photo-abc-redrive-2"
