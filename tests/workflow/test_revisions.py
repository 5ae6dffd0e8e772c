"""A new release registers a changed definition: executions in flight finish on the one they
started with, new ones run on the new one, and executions of a release that recorded nothing run
on the current one."""

from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa

from bakusoku.workflow.engine import WorkflowEngine
from bakusoku.workflow.invoker import FunctionInvoker
from bakusoku.workflow.revisions import revision_of
from bakusoku.workflow.tables import executions, state_machine_definitions
from tests.workflow.conftest import ACCOUNT, REGION, fn_arn

# Release N: One → Two (a task) → Three, which says which release's definition ran.
RELEASE_N = {
    "StartAt": "One",
    "States": {
        "One": {"Type": "Pass", "Result": "n", "ResultPath": "$.one", "Next": "Two"},
        "Two": {"Type": "Task", "Resource": fn_arn("work"), "ResultPath": "$.two", "Next": "Three"},
        "Three": {"Type": "Pass", "Result": "N", "ResultPath": "$.release", "End": True},
    },
}
# Release N+1 renamed every state: an execution of N resumed on it would not find its state.
RELEASE_N1 = {
    "StartAt": "Begin",
    "States": {
        "Begin": {"Type": "Pass", "Result": "n+1", "ResultPath": "$.one", "Next": "Work"},
        "Work": {"Type": "Task", "Resource": fn_arn("work"), "ResultPath": "$.two", "Next": "End"},
        "End": {"Type": "Pass", "Result": "N+1", "ResultPath": "$.release", "End": True},
    },
}


def _engine(db: sa.Engine, work: Any) -> WorkflowEngine:
    return WorkflowEngine(
        db, FunctionInvoker({fn_arn("work"): work}), region=REGION, account=ACCOUNT
    )


def _stop_in_flight(db: sa.Engine, name: str) -> None:
    """Release N starts ``name`` and stops while its task runs: the execution stays RUNNING."""
    entered = threading.Event()

    def stuck(event: Any) -> str:
        entered.set()
        threading.Event().wait(1)  # outlives the engine's stop
        return "late"

    release_n = _engine(db, stuck)
    arn = release_n.register_state_machine("pipeline", RELEASE_N)
    release_n.start()
    release_n.start_execution(arn, {"photo": 1}, name=name)
    assert entered.wait(5)
    release_n.stop(timeout=5)
    assert release_n.describe_execution(name).status == "RUNNING"


def test_the_revision_is_the_definition_not_its_formatting() -> None:
    reordered = {"States": dict(reversed(RELEASE_N["States"].items())), "StartAt": "One"}
    assert revision_of(reordered) == revision_of(RELEASE_N)
    assert revision_of(RELEASE_N1) != revision_of(RELEASE_N)
    assert len(revision_of(RELEASE_N)) == 64


def test_in_flight_executions_finish_on_their_definition_and_new_ones_use_the_new(
    db: sa.Engine,
) -> None:
    _stop_in_flight(db, "in-flight")

    release_n1 = _engine(db, lambda event: "done")
    arn = release_n1.register_state_machine("pipeline", RELEASE_N1)
    release_n1.start()
    try:
        old = release_n1.wait_for("in-flight", timeout=5)
        release_n1.start_execution(arn, {"photo": 2}, name="new")
        new = release_n1.wait_for("new", timeout=5)
    finally:
        release_n1.stop()
    assert old.status == "SUCCEEDED", old
    assert old.output == {"photo": 1, "one": "n", "two": "done", "release": "N"}
    assert new.output == {"photo": 2, "one": "n+1", "two": "done", "release": "N+1"}
    with db.connect() as conn:
        query = sa.select(executions.c.name, executions.c.definition_revision)
        recorded = {row.name: row.definition_revision for row in conn.execute(query)}
        kept = set(conn.execute(sa.select(state_machine_definitions.c.revision)).scalars())
    assert recorded == {"in-flight": revision_of(RELEASE_N), "new": revision_of(RELEASE_N1)}
    assert kept == {revision_of(RELEASE_N), revision_of(RELEASE_N1)}


def test_a_redrive_after_the_upgrade_runs_on_the_definition_the_execution_started_with(
    db: sa.Engine,
) -> None:
    def broken(event: Any) -> str:
        raise RuntimeError("release N's handler fails")

    release_n = _engine(db, broken)
    arn = release_n.register_state_machine("pipeline", RELEASE_N)
    release_n.start()
    try:
        release_n.start_execution(arn, {"photo": 3}, name="failed-on-n")
        assert release_n.wait_for("failed-on-n", timeout=5).status == "FAILED"
    finally:
        release_n.stop()

    release_n1 = _engine(db, lambda event: "fixed")
    release_n1.register_state_machine("pipeline", RELEASE_N1)
    release_n1.start()
    try:
        release_n1.redrive_execution("failed-on-n")
        done = release_n1.wait_for("failed-on-n", timeout=5)
    finally:
        release_n1.stop()
    assert done.status == "SUCCEEDED", done
    assert done.output == {"photo": 3, "one": "n", "two": "fixed", "release": "N"}


def test_an_execution_a_previous_release_started_without_a_revision_runs_on_the_current(
    db: sa.Engine,
) -> None:
    _stop_in_flight(db, "unrecorded")
    with db.begin() as conn:  # as a release before revisions were recorded wrote it
        conn.execute(
            executions.update()
            .where(executions.c.name == "unrecorded")
            .values(definition_revision=None, checkpoint=None)
        )
    release_n1 = _engine(db, lambda event: "done")
    release_n1.register_state_machine("pipeline", RELEASE_N1)
    release_n1.start()
    try:
        done = release_n1.wait_for("unrecorded", timeout=5)
    finally:
        release_n1.stop()
    assert done.output == {"photo": 1, "one": "n+1", "two": "done", "release": "N+1"}


def test_engines_registering_the_same_definition_store_it_once(db: sa.Engine) -> None:
    for _ in range(3):
        _engine(db, lambda event: None).register_state_machine("pipeline", RELEASE_N)
    with db.connect() as conn:
        rows = conn.execute(sa.select(state_machine_definitions)).all()
    assert [(r.state_machine, r.revision) for r in rows] == [("pipeline", revision_of(RELEASE_N))]
