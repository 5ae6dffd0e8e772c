"""ListExecutions pagination: maxResults pages, opaque nextToken, newest first, stable cursors."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import sqlalchemy as sa

from bakusoku.workflow.engine import WorkflowEngine
from bakusoku.workflow.errors import InvalidToken, ValidationError
from bakusoku.workflow.pages import Cursor, decode_token, encode_token
from bakusoku.workflow.tables import executions

from .conftest import EngineFactory

T0 = 1_700_000_000.0


def add(db: sa.Engine, rows: list[tuple[str, str, float, str]]) -> None:
    """Store executions (name, status, started_at, state machine) as the engine records them."""
    with db.begin() as conn:
        conn.execute(
            executions.insert(),
            [
                {
                    "name": name,
                    "state_machine": machine,
                    "status": status,
                    "input": {},
                    "started_at": started,
                    "redrive_count": 0,
                }
                for name, status, started, machine in rows
            ],
        )


def page_through(engine: WorkflowEngine, **filters: Any) -> tuple[list[str], int]:
    names: list[str] = []
    pages = 0
    token = None
    while True:
        page = engine.list_executions(next_token=token, **filters)
        pages += 1
        names.extend(d.name for d in page.executions)
        if page.next_token is None:
            return names, pages
        token = page.next_token


@pytest.fixture
def engine(make_engine: EngineFactory) -> WorkflowEngine:
    return make_engine({})


def test_pages_through_250_filtered_executions_once_each_newest_first(
    engine: WorkflowEngine, db: sa.Engine
) -> None:
    rows = []
    for i in range(300):
        # Pairs share a start time, so the name breaks ties; every sixth one failed.
        status = "FAILED" if i % 6 == 5 else "SUCCEEDED"
        rows.append((f"run-{i:03d}", status, T0 + i // 2, "photos"))
    rows += [(f"other-{i}", "SUCCEEDED", T0 + i, "other") for i in range(20)]
    add(db, rows)
    expected = sorted(
        ((started, name) for name, status, started, machine in rows[:300] if status == "SUCCEEDED"),
        reverse=True,
    )
    assert len(expected) == 250

    names, pages = page_through(
        engine, state_machine="photos", status_filter="SUCCEEDED", max_results=40
    )
    assert names == [name for _, name in expected]
    assert pages == 7  # 6 full pages of 40 and one of 10

    arn = engine.state_machine_arn("photos")
    first = engine.list_executions(arn, status_filter="FAILED", max_results=1000)
    assert len(first.executions) == 50 and first.next_token is None
    assert {d.status for d in first.executions} == {"FAILED"}


def test_default_page_is_100(engine: WorkflowEngine, db: sa.Engine) -> None:
    add(db, [(f"e{i}", "SUCCEEDED", T0 + i, "m") for i in range(150)])
    page = engine.list_executions("m")
    assert len(page.executions) == 100 and page.next_token is not None
    assert len(engine.list_executions("m", max_results=0).executions) == 100  # AWS: 0 = default
    rest = engine.list_executions("m", next_token=page.next_token)
    assert len(rest.executions) == 50 and rest.next_token is None


def test_executions_started_while_paging_neither_shift_nor_repeat(
    engine: WorkflowEngine, db: sa.Engine
) -> None:
    add(db, [(f"old-{i:02d}", "SUCCEEDED", T0 + i, "m") for i in range(30)])
    page = engine.list_executions("m", max_results=10)
    seen = [d.name for d in page.executions]
    while page.next_token is not None:
        # Newer executions arrive between calls, as they do while an operator pages.
        add(db, [(f"new-{len(seen)}", "SUCCEEDED", T0 + 1000 + len(seen), "m")])
        page = engine.list_executions("m", max_results=10, next_token=page.next_token)
        seen += [d.name for d in page.executions]
    assert seen == [f"old-{i:02d}" for i in reversed(range(30))]


@pytest.mark.parametrize("size", [-1, 1001, 5000])
def test_max_results_out_of_range(engine: WorkflowEngine, size: int) -> None:
    with pytest.raises(ValidationError, match="maxResults"):
        engine.list_executions(max_results=size)


def test_unknown_status_filter(engine: WorkflowEngine) -> None:
    with pytest.raises(ValidationError, match="statusFilter"):
        engine.list_executions(status_filter="DONE")


def test_invalid_tokens(engine: WorkflowEngine, db: sa.Engine) -> None:
    add(db, [(f"e{i}", "SUCCEEDED", T0 + i, "m") for i in range(5)])
    token = engine.list_executions("m", max_results=2).next_token
    assert token is not None
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    tampered = base64.urlsafe_b64encode(raw.replace(b'"n":"e', b'"n":"x')).decode()
    for bad in ["", "garbage", "!!!", token[:-3], tampered]:
        with pytest.raises(InvalidToken):
            engine.list_executions("m", max_results=2, next_token=bad)
    with pytest.raises(InvalidToken, match="other filters"):
        engine.list_executions("m", status_filter="FAILED", next_token=token)
    with pytest.raises(InvalidToken, match="other filters"):
        engine.list_executions("other", next_token=token)
    # The same token with the same filters still works, and a smaller page size is allowed.
    assert [d.name for d in engine.list_executions("m", next_token=token).executions] == [
        "e2",
        "e1",
        "e0",
    ]


def test_tokens_expire_after_24_hours() -> None:
    filters = ("m", None)
    token = encode_token(Cursor(T0, "e1"), filters, now=T0)
    assert decode_token(token, filters, now=T0 + 23 * 3600) == Cursor(T0, "e1")
    with pytest.raises(InvalidToken, match="expired"):
        decode_token(token, filters, now=T0 + 25 * 3600)
