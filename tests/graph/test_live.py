"""Each edge's traffic over a window, read from real history rows in a real (SQLite) database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bakusoku.db.schema import alert_outbox, object_events
from bakusoku.graph.live import UnknownWindowError, edge_stats, window_seconds
from bakusoku.graph.model import EdgeStats, SystemGraph
from bakusoku.ops.recent import AnsweredRequest
from bakusoku.pipeline.functions import STATE_MACHINE_NAME
from bakusoku.workflow.tables import execution_events, executions
from tests.graph.maps import local_map
from tests.schema import create_schema

pytestmark = pytest.mark.integration  # a real SQLite database file

NOW = 1_800_000_000.0
WINDOW = 300


@pytest.fixture
def db(tmp_path: Path) -> sa.Engine:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'graph.db'}")
    create_schema(engine)
    return engine


def run(
    conn: sa.Connection,
    name: str,
    started: float,
    path: list[tuple[str, str, float, float]],
    status: str,
) -> None:
    """One execution through ``path``: (state, Task outcome or "", entered at, left at)."""
    conn.execute(
        executions.insert().values(
            name=name,
            state_machine=STATE_MACHINE_NAME,
            status=status,
            input={},
            started_at=started,
            stopped_at=path[-1][3],
        )
    )
    rows: list[dict[str, Any]] = []

    def event(kind: str, at: float, state: str) -> None:
        rows.append(
            dict(
                execution_name=name,
                event_id=len(rows) + 1,
                type=kind,
                timestamp=at,
                state_name=state,
            )
        )

    for state, outcome, entered, left in path:
        event("TaskStateEntered", entered, state)
        if outcome:
            family = "LambdaFunction" if name.startswith("ok") else "Task"  # both are recorded
            event(f"{family}Scheduled", entered, state)
            event(family + outcome, left, state)
        if outcome != "Failed":  # a caught error leaves no StateExited
            event("TaskStateExited", left, state)
    conn.execute(execution_events.insert(), rows)


def photo_run(
    conn: sa.Connection,
    name: str,
    started: float,
    *,
    store_seconds: float,
    mark_seconds: float,
    failed: bool = False,
) -> None:
    """StorePhoto, then MarkReady; or, when StorePhoto fails (the error caught), MarkFailed."""
    stored = started + store_seconds
    path = [
        ("StorePhoto", "Failed" if failed else "Succeeded", started, stored),
        ("MarkFailed" if failed else "MarkReady", "Succeeded", stored, stored + mark_seconds),
    ]
    run(conn, name, started, path, "FAILED" if failed else "SUCCEEDED")


def stats_between(
    graph: SystemGraph, found: dict[str, EdgeStats], source: str, target: str
) -> EdgeStats:
    by_label = {n.id: n.label for n in graph.nodes}
    (edge,) = [
        e for e in graph.edges if (by_label[e.source], by_label[e.target]) == (source, target)
    ]
    return found[edge.key]


def test_tasks_transitions_starts_and_deliveries_are_measured(db: sa.Engine) -> None:
    t = NOW - 60
    with db.begin() as conn:
        photo_run(conn, "ok-1", t, store_seconds=0.1, mark_seconds=0.2)
        photo_run(conn, "ok-2", t, store_seconds=0.3, mark_seconds=0.1)
        photo_run(conn, "bad", t, store_seconds=0.2, mark_seconds=0.3, failed=True)
        old = NOW - 2 * WINDOW  # outside the window: not counted
        photo_run(conn, "old", old, store_seconds=1, mark_seconds=1, failed=True)
        for index, dispatched in enumerate([t + 0.05, t + 0.15, None]):
            conn.execute(
                object_events.insert().values(
                    bucket="b",
                    object_key=f"uploads/a/{index}.jpg",
                    etag="e",
                    sequencer=str(index),
                    payload={},
                    created_at=t if dispatched else NOW - 120,
                    dispatched_at=dispatched,
                )
            )
        conn.execute(
            alert_outbox.insert().values(
                dedupe_key="bad",
                channel="slack",
                kind="failure",
                execution_name="bad",
                payload={},
                status="delivered",
                next_attempt_at=t,
                created_at=t + 1,
                delivered_at=t + 1.5,
            )
        )
    graph = local_map()
    found = edge_stats(db, graph, WINDOW, now=NOW)

    store = stats_between(graph, found, "StorePhoto", "store-photo")
    assert (store.count, store.errors) == (3, 1)
    assert store.p50_ms == pytest.approx(200.0)
    assert store.per_minute == pytest.approx(3 * 60 / WINDOW)
    caught = stats_between(graph, found, "StorePhoto", "MarkFailed")
    assert (caught.count, caught.error_share) == (1, 1.0)
    # MarkReady is reached through IsDuplicate, MakeRenditions and the Parallel state Finish in the
    # ASL; these rows skip them, so no such edge counts.
    assert stats_between(graph, found, "MakeRenditions", "Finish").count == 0
    started = stats_between(graph, found, "photo-pipeline", "StorePhoto")
    assert (started.count, started.errors) == (3, 1)
    assert stats_between(graph, found, "photo-pipeline", "execution-failed").count == 1
    delivered = stats_between(graph, found, "object-created", "photo-pipeline")
    assert (delivered.count, delivered.errors) == (3, 1)  # the one left undispatched for 2 minutes
    assert delivered.p50_ms == pytest.approx(100.0)
    assert stats_between(graph, found, "PhotoBucket/uploads/", "object-created").count == 3
    alerted = stats_between(graph, found, "execution-failed", "notifier")
    assert (alerted.count, alerted.p50_ms) == (1, pytest.approx(500.0))


def test_an_empty_history_measures_every_edge_it_can_as_idle(db: sa.Engine) -> None:
    graph = local_map()
    found = edge_stats(db, graph, WINDOW, now=NOW)
    assert found and all(s.count == 0 for s in found.values())
    assert all(graph.node(e.source).kind != "database" for e in graph.edges if e.key in found)


def test_only_the_offered_windows_are_measured() -> None:
    assert window_seconds("5m") == 300 and window_seconds("60m") == 3600
    with pytest.raises(UnknownWindowError, match="use one of 5m, 60m"):
        window_seconds("1d")


def test_the_http_edge_is_measured_from_the_apis_answered_requests(db: sa.Engine) -> None:
    graph = local_map()
    answered = [
        AnsweredRequest(NOW - 10, "/v1/photos", 200, 0.010),
        AnsweredRequest(NOW - 20, "/v1/uploads", 201, 0.030),
        AnsweredRequest(NOW - 30, "/v1/photos", 503, 0.020),
        AnsweredRequest(NOW - 2 * WINDOW, "/v1/photos", 500, 9.0),  # before the window
    ]
    found = edge_stats(db, graph, WINDOW, now=NOW, requests=answered)
    served = stats_between(graph, found, "HTTP API", "api")
    assert (served.count, served.errors, served.p50_ms) == (3, 1, pytest.approx(20.0))
    without = edge_stats(db, graph, WINDOW, now=NOW)
    http = [e.key for e in graph.edges if graph.node(e.source).kind == "api"]
    assert http and not set(http) & set(without)  # no request log: not measured, not idle
