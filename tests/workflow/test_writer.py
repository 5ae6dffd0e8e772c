"""Group commit: concurrent execution writes share transactions, yet each fails on its own."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from bakusoku.workflow.tables import executions
from bakusoku.workflow.writer import GroupWriter


def insert(name: str) -> dict[str, object]:
    return {
        "name": name,
        "state_machine": "m",
        "status": "RUNNING",
        "input": {},
        "started_at": time.time(),
        "redrive_count": 0,
    }


def stored(db: sa.Engine) -> set[str]:
    with db.connect() as conn:
        return set(conn.execute(sa.select(executions.c.name)).scalars())


def test_writes_queued_behind_a_transaction_commit_together_and_fail_alone(
    db: sa.Engine,
) -> None:
    writer = GroupWriter(db)
    commits: list[int] = []
    sa.event.listen(db, "commit", lambda _conn: commits.append(1))
    with db.begin() as conn:
        conn.execute(executions.insert(), insert("taken"))
    commits.clear()

    release = threading.Event()

    def slow(conn: sa.Connection) -> str:
        release.wait(5)
        conn.execute(executions.insert(), insert("first"))
        return "first"

    results: dict[str, object] = {}

    def run(name: str) -> None:
        try:
            results[name] = writer.run(
                lambda conn: conn.execute(executions.insert(), insert(name)).rowcount
            )
        except sa.exc.IntegrityError as exc:
            results[name] = exc

    leader = threading.Thread(target=lambda: results.setdefault("first", writer.run(slow)))
    leader.start()
    time.sleep(0.1)  # the leader's transaction is open
    names = [f"w{i}" for i in range(10)] + ["taken"]  # "taken" exists: that write fails
    threads = [threading.Thread(target=run, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    time.sleep(0.2)  # all queued behind the leader
    release.set()
    for thread in [leader, *threads]:
        thread.join(10)

    assert results["first"] == "first"
    assert all(results[f"w{i}"] == 1 for i in range(10))
    assert isinstance(results["taken"], sa.exc.IntegrityError)
    assert stored(db) == {"taken", "first", *(f"w{i}" for i in range(10))}
    # The leader's own, then the queued batch (rolled back for the failing write) one by one.
    assert len(commits) == 1 + 10


def test_queued_writes_share_one_transaction(db: sa.Engine) -> None:
    writer = GroupWriter(db)
    commits: list[int] = []
    sa.event.listen(db, "commit", lambda _conn: commits.append(1))
    release = threading.Event()

    def slow(conn: sa.Connection) -> None:
        release.wait(5)
        conn.execute(executions.insert(), insert("first"))

    leader = threading.Thread(target=writer.run, args=(slow,))
    leader.start()
    time.sleep(0.1)
    threads = [
        threading.Thread(
            target=writer.run,
            args=(lambda conn, n=f"w{i}": conn.execute(executions.insert(), insert(n)),),
        )
        for i in range(20)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    release.set()
    for thread in [leader, *threads]:
        thread.join(10)
    assert len(stored(db)) == 21
    assert len(commits) == 2


def test_an_error_is_raised_in_the_writer_that_caused_it(db: sa.Engine) -> None:
    writer = GroupWriter(db)

    def broken(conn: sa.Connection) -> None:
        raise ValueError("bad write")

    with pytest.raises(ValueError, match="bad write"):
        writer.run(broken)
    assert writer.run(lambda conn: 7) == 7


def test_an_execution_no_longer_owned_is_not_written_and_the_others_are(db: sa.Engine) -> None:
    from bakusoku.workflow.tables import execution_events
    from bakusoku.workflow.writer import HistoryWrite

    with db.begin() as conn:
        conn.execute(
            executions.insert(),
            [{**insert(f"x{i}"), "owner": "me"} for i in range(5)],
        )
        # Aborted meanwhile from elsewhere: no longer RUNNING under "me".
        conn.execute(executions.update().where(executions.c.name == "x3").values(status="ABORTED"))
    writer = GroupWriter(db)
    release = threading.Event()
    leader = threading.Thread(target=writer.run, args=(lambda conn: release.wait(5),))
    leader.start()
    time.sleep(0.1)
    results: dict[str, bool] = {}

    def write(name: str) -> None:
        event = {
            "execution_name": name,
            "event_id": 2,
            "previous_event_id": 1,
            "type": "PassStateEntered",
            "timestamp": time.time(),
            "state_name": "P",
            "details": {"name": "P"},
        }
        results[name] = writer.write(
            HistoryWrite(name, "me", {"checkpoint": {"state": "P"}, "lease_until": 1.0}, [event])
        )

    threads = [threading.Thread(target=write, args=(f"x{i}",)) for i in range(5)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)  # queued together behind the leader
    release.set()
    for thread in [leader, *threads]:
        thread.join(10)
    assert results == {"x0": True, "x1": True, "x2": True, "x3": False, "x4": True}
    with db.connect() as conn:
        written = set(conn.execute(sa.select(execution_events.c.execution_name)).scalars())
        checkpoints = {
            row.name: row.checkpoint
            for row in conn.execute(sa.select(executions.c.name, executions.c.checkpoint))
        }
    assert written == {"x0", "x1", "x2", "x4"}
    assert checkpoints["x3"] is None and checkpoints["x0"] == {"state": "P"}
