"""Fixtures for workflow tests: a temporary SQLite database and engines on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bakusoku.db.engine import create_db_engine, create_schema
from bakusoku.workflow.engine import WorkflowEngine
from bakusoku.workflow.invoker import FunctionInvoker

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
