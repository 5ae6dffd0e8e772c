"""Fixtures for workflow tests: a temporary SQLite database and engines on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bakusoku.db.engine import create_db_engine
from bakusoku.workflow.clock import REAL_CLOCK
from bakusoku.workflow.engine import WorkflowEngine
from bakusoku.workflow.invoker import FunctionInvoker
from bakusoku.workflow.runner import MemoryHistory
from tests.schema import create_schema

REGION = "us-east-1"
ACCOUNT = "123456789012"


def fn_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'workflow.db'}")
    create_schema(engine)
    yield engine
    engine.dispose()


EngineFactory = Callable[[dict[str, Callable[..., Any]]], WorkflowEngine]


@pytest.fixture
def make_engine(db: sa.Engine) -> Iterator[EngineFactory]:
    engines: list[WorkflowEngine] = []

    def make(functions: dict[str, Callable[..., Any]]) -> WorkflowEngine:
        engine = WorkflowEngine(
            db, FunctionInvoker(functions), region=REGION, account=ACCOUNT, time_scale=0.001
        )
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.stop(timeout=5)


class MemorySink(MemoryHistory):
    """The in-process run's history on the real clock, for interpreter tests without a database."""

    def __init__(self) -> None:
        super().__init__(REAL_CLOCK)

    @property
    def types(self) -> list[str]:
        return [event.type for event in self.events]


def run_definition(
    definition: dict[str, Any] | str,
    state_input: Any,
    functions: dict[str, Callable[..., Any]] | None = None,
    *,
    sink: MemorySink | None = None,
) -> Any:
    """Run ``definition`` over ``state_input`` in this thread; return the output or raise."""
    from bakusoku.workflow.cancel import CancelScope
    from bakusoku.workflow.definition import load_definition
    from bakusoku.workflow.frames import ExecutionInfo
    from bakusoku.workflow.interpreter import Interpreter

    loaded = load_definition(definition)
    info = ExecutionInfo(
        arn=f"arn:aws:states:{REGION}:{ACCOUNT}:execution:test:exec-1",
        name="exec-1",
        input=state_input,
        start_time=1_700_000_000.0,
        state_machine_arn=f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:test",
        state_machine_name="test",
        region=REGION,
        account=ACCOUNT,
    )
    interpreter = Interpreter(
        loaded,
        info,
        FunctionInvoker(functions or {}),
        sink or MemorySink(),
        CancelScope(),
        time_scale=0.001,
    )
    return interpreter.run(state_input, previous_event_id=0)
