"""Group commit: the database writes of many running executions share one transaction.

Each execution writes its history before every task it calls; with many executions running, one
transaction per write spends most of the time beginning and committing (and, on SQLite, waiting
on the file's single write lock). Here the first writer to find no transaction under way commits
everything queued until then in one transaction, with one statement per kind of write
(executemany); the others wait for that commit, so a write still returns only once it is
durable. The waiting writers are woken one after another rather than all at once, and a write
nobody needs to wait for (an execution's end) is queued with a callback instead. A write of an
execution on the hub (see hub.py) never leads: its greenlet is suspended, the hub commits the
queue once its ready executions have all queued theirs (``lead_pending``), and resumes them.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import greenlet
import sqlalchemy as sa

from bakusoku.workflow import jsontext
from bakusoku.workflow.hub import Hub, current_hub
from bakusoku.workflow.tables import execution_events, executions

log = logging.getLogger(__name__)

# Bounds one transaction, so a leader does not keep a long queue's writers waiting on it alone.
MAX_BATCH = 256
_PENDING: Any = object()

# Built once; the columns an update sets come with its parameters.
_UPDATE = executions.update().where(executions.c.name == sa.bindparam("b_name"))
_UPDATE_OWNED = executions.update().where(
    executions.c.name == sa.bindparam("b_name"),
    executions.c.status == "RUNNING",
    executions.c.owner == sa.bindparam("b_owner"),
)
_INSERT_EXECUTIONS = executions.insert()
_INSERT_EVENTS = execution_events.insert()

# On SQLite the history rows go straight to the driver (executemany), JSON columns serialised as
# SQLAlchemy's JSON type stores them there (JSON text, None as 'null'): building each row's
# parameters through the statement compiler cost more than writing it.
_EVENT_COLUMNS = (
    "execution_name",
    "event_id",
    "previous_event_id",
    "type",
    "timestamp",
    "state_name",
    "details",
)
_SQLITE_INSERT_EVENTS = (
    f"INSERT INTO execution_events ({', '.join(_EVENT_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _EVENT_COLUMNS)})"
)
_JSON_COLUMNS = frozenset(
    column.name for column in executions.columns if isinstance(column.type, sa.JSON)
)


@dataclass
class HistoryWrite:
    """One execution's progress: new values of its row and its new history events.

    With an ``owner``, written only while the execution is RUNNING under that owner; the update
    comes before the events, so it also locks the row against a concurrent abort.
    """

    name: str
    owner: str | None
    values: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class NewExecution:
    """A started execution: its row and its first event."""

    row: dict[str, Any]
    events: list[dict[str, Any]]


Write = Callable[[sa.Connection], Any] | HistoryWrite | NewExecution


class _Lost(Exception):
    """Internal: a guarded update matched no row in a shared transaction."""


Written = Callable[[Any, BaseException | None], None]


class _Job:
    __slots__ = ("chain", "done", "error", "hub", "lead", "result", "task", "then", "write")

    def __init__(self, write: Write, then: Written | None = None, hub: Hub | None = None) -> None:
        self.write = write
        # A write of a hub greenlet: the greenlet is suspended, and resumed once written.
        self.hub = hub
        self.task = greenlet.getcurrent() if hub is not None else None
        # A thread waiting for the write: released once written (cheaper than an Event).
        self.done: threading.Lock | None = None
        if hub is None and then is None:
            self.done = threading.Lock()
            self.done.acquire()
        self.lead = False  # woken to commit the queue rather than with a result
        self.result: Any = _PENDING
        self.error: BaseException | None = None
        # A write nobody waits for (``write_later``): told of its outcome by the committing thread.
        self.then = then
        # The next writer of the same transaction to wake, once this one is awake.
        self.chain: _Job | None = None

    def wait(self) -> None:
        """Block the waiting thread until ``wake``."""
        assert self.done is not None
        self.done.acquire()

    def wake(self) -> None:
        assert self.done is not None
        self.done.release()


class GroupWriter:
    """Runs writes on ``db`` in shared transactions.

    ``write(HistoryWrite)`` returns False when the guarded update found the execution no longer
    this owner's (nothing of it is written); ``run(apply)`` runs ``apply(conn)`` and returns its
    result. When anything in a shared transaction fails, it is rolled back and every write of it
    runs again alone, so one execution's failed write never fails another's.
    """

    def __init__(self, db: sa.Engine) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._queue: list[_Job] = []
        self._writing = False
        self._idle = threading.Condition(self._lock)
        # SQLite: the leader of the moment keeps one connection between transactions (taking one
        # from the pool and resetting it on return costs more than a small transaction).
        self._hold = db.dialect.name == "sqlite"
        self._held: sa.Connection | None = None

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sa.Connection]:
        if not self._hold:
            with self.db.begin() as conn:
                yield conn
            return
        held, self._held = self._held, None
        conn = held if held is not None and not held.closed else self.db.connect()
        try:
            with conn.begin():
                yield conn
        except BaseException:
            with contextlib.suppress(Exception):  # whatever failed starts on a fresh connection
                conn.close()
            raise
        self._held = conn

    @contextlib.contextmanager
    def _driver_transaction(self) -> Iterator[Any]:
        """SQLite: a driver cursor on the kept connection, in a transaction the driver commits.

        History writes need none of SQLAlchemy's transaction bookkeeping, which cost more than
        SQLite's own work on a small transaction.
        """
        held, self._held = self._held, None
        conn = held if held is not None and not held.closed else self.db.connect()
        driver: Any = conn.connection.driver_connection
        try:
            yield driver.cursor()
            driver.commit()
        except BaseException:
            with contextlib.suppress(Exception):  # whatever failed starts on a fresh connection
                driver.rollback()
                conn.close()
            raise
        self._held = conn

    def close(self) -> None:
        """Give back the connection kept between transactions (a later write takes another)."""
        with self._lock:
            if self._writing:
                return  # in use; given back when the engine's database is disposed
            conn, self._held = self._held, None
        if conn is not None:
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                conn.close()

    def run(self, apply: Callable[[sa.Connection], Any]) -> Any:
        """``apply(conn)`` inside a transaction; returns its result once that has committed."""
        return self._submit(apply)

    def write(self, write: HistoryWrite | NewExecution) -> bool:
        return bool(self._submit(write))

    def write_later(self, write: HistoryWrite, then: Written) -> None:
        """Queue ``write`` without waiting for it; ``then(result, error)`` once it is committed.

        ``then`` runs in the thread that committed it, after that thread has handed the queue
        on. An execution's last write needs nobody waiting: sparing its thread the wait (and the
        wake-up) is worth ~10 % of the engine's throughput with many executions running.
        """
        job = _Job(write, then)
        with self._lock:
            self._queue.append(job)
            # The transaction under way takes it next; in a hub greenlet, the hub's next commit.
            if self._writing or current_hub() is not None:
                return
            self._writing = True
        self._lead(job)

    def lead_pending(self) -> None:
        """Commit what is queued now, in this thread, unless a transaction is under way.

        The hub calls it once its greenlets have each run to their next wait, so that all the
        writes they queued share one transaction.
        """
        with self._lock:
            if self._writing or not self._queue:
                return
            self._writing = True
        self._lead(None)

    def drain(self, timeout: float) -> bool:
        """Wait until every queued write is committed (or failed); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._writing or self._queue:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def _submit(self, write: Write) -> Any:
        hub = current_hub()
        if hub is not None:
            # Queued for the hub's next commit (or the transaction under way); the greenlet is
            # resumed once it is written.
            job = _Job(write, hub=hub)
            with self._lock:
                self._queue.append(job)
            hub.suspend()
            if job.error is not None:
                raise job.error
            return job.result
        job = _Job(write)
        with self._lock:
            self._queue.append(job)
            lead = not self._writing
            self._writing = True
        if not lead:
            try:
                job.wait()
            finally:  # even interrupted, the writers woken after this one must be
                if job.chain is not None:
                    job.chain.wake()
            lead = job.lead
        if lead:
            self._lead(job)
        if job.error is not None:
            raise job.error
        return job.result

    def _lead(self, own: _Job | None) -> None:
        told: list[_Job] = []
        while self._lead_once(told, own):
            pass
        # Only now, with the queue handed on: a callback may write (and wait) itself.
        for job in told:
            try:
                job.then(job.result, job.error)  # type: ignore[misc]
            except Exception:
                log.exception("a write's completion callback failed")

    def _lead_once(self, told: list[_Job], own: _Job | None) -> bool:
        """Commit the queue's head; True when this thread must commit the next batch too (it
        starts with a write nobody waits for). Writes nobody waits for go to ``told``."""
        again = False
        with self._lock:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
        try:
            self._commit(batch)
        finally:
            with self._lock:
                if not self._queue:
                    self._writing = False
                    self._idle.notify_all()
                elif self._queue[0].then is not None:
                    again = True
                else:
                    # A waiting thread commits the queue; failing one, the hub of the first
                    # write does, once its ready greenlets have queued theirs.
                    successor = next((job for job in self._queue if job.done is not None), None)
                    if successor is not None:
                        successor.lead = True
                        successor.wake()
                    else:
                        self._writing = False
                        self._idle.notify_all()
                        self._queue[0].hub.poke()  # type: ignore[union-attr]
            waiting = []
            for job in batch:
                if job.result is _PENDING and job.error is None:
                    job.error = RuntimeError("the transaction carrying this write was interrupted")
                if job.hub is not None:
                    job.hub.resume(job.task)
                elif job is not own and job.then is None:
                    waiting.append(job)
            # Woken one after another, each by the one before once it runs: a crowd woken at
            # once would only queue for the interpreter lock, each wake-up costing switches.
            for earlier, later in itertools.pairwise(waiting):
                earlier.chain = later
            if waiting:
                waiting[0].wake()
            told.extend(job for job in batch if job.then is not None)
        return again

    def _commit(self, batch: list[_Job]) -> None:
        # On SQLite, history writes go to the driver directly (functions need a Connection).
        direct = self._hold and not any(callable(job.write) for job in batch)
        if len(batch) > 1 or direct:
            try:
                results = self._together([job.write for job in batch], direct)
            except Exception:
                # Rolled back: each runs again alone below, to find whose write failed (a
                # duplicate start, an execution no longer this owner's) and report it as usual.
                pass
            else:
                for job, result in zip(batch, results, strict=True):
                    job.result = result
                return
        for job in batch:
            try:
                with self._transaction() as conn:
                    job.result = _apply_alone(conn, job.write)
            except BaseException as exc:
                job.error = exc

    def _together(self, writes: list[Write], direct: bool) -> list[Any]:
        if direct:
            with self._driver_transaction() as cursor:
                return _sqlite_together(cursor, writes)
        with self._transaction() as conn:
            return _apply_together(conn, writes)


def _sqlite(conn: sa.Connection) -> bool:
    return conn.dialect.name == "sqlite"


def _cursor(conn: sa.Connection) -> Any:
    """A driver cursor in ``conn``'s transaction."""
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]


def _insert_events(conn: sa.Connection, events: list[dict[str, Any]]) -> None:
    if not _sqlite(conn):
        conn.execute(_INSERT_EVENTS, events)
        return
    _sqlite_insert_events(_cursor(conn), events)


def _sqlite_insert_events(cursor: Any, events: list[dict[str, Any]]) -> None:
    dumps = jsontext.dumps
    cursor.executemany(
        _SQLITE_INSERT_EVENTS,
        [
            (
                e["execution_name"],
                e["event_id"],
                e["previous_event_id"],
                e["type"],
                e["timestamp"],
                e["state_name"],
                dumps(e["details"]),
            )
            for e in events
        ],
    )


def _update(conn: sa.Connection, guarded: bool, group: list[dict[str, Any]]) -> int:
    """Run one update (parameters with the same keys) per entry; the rows they matched."""
    if not _sqlite(conn):
        return int(conn.execute(_UPDATE_OWNED if guarded else _UPDATE, group).rowcount)
    return _sqlite_update(_cursor(conn), guarded, group)


def _sqlite_update(cursor: Any, guarded: bool, group: list[dict[str, Any]]) -> int:
    columns = [key for key in group[0] if not key.startswith("b_")]
    where = "name = ? AND status = 'RUNNING' AND owner = ?" if guarded else "name = ?"
    sql = f"UPDATE executions SET {', '.join(f'{c} = ?' for c in columns)} WHERE {where}"
    dumps = jsontext.dumps
    rows = []
    for params in group:
        row = [dumps(params[c]) if c in _JSON_COLUMNS else params[c] for c in columns]
        row.append(params["b_name"])
        if guarded:
            row.append(params["b_owner"])
        rows.append(tuple(row))
    cursor.executemany(sql, rows)
    return int(cursor.rowcount)


def _params(write: HistoryWrite) -> dict[str, Any]:
    params = {**write.values, "b_name": write.name}
    if write.owner is not None:
        params["b_owner"] = write.owner
    return params


def _apply_alone(conn: sa.Connection, write: Write) -> Any:
    if isinstance(write, NewExecution):
        conn.execute(_INSERT_EXECUTIONS, write.row)
        conn.execute(_INSERT_EVENTS, write.events)
        return True
    if isinstance(write, HistoryWrite):
        if _update(conn, write.owner is not None, [_params(write)]) != 1:
            return False  # aborted, or taken over by another engine: write nothing of it
        if write.events:
            _insert_events(conn, write.events)
        return True
    return write(conn)


def _apply_together(conn: sa.Connection, writes: list[Write]) -> list[Any]:
    """Every write in one transaction, one statement per kind; raises if any would fail alone."""
    results: list[Any] = []
    new_rows: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    updates: dict[tuple[bool, frozenset[str]], list[dict[str, Any]]] = {}
    for write in writes:
        if isinstance(write, NewExecution):
            new_rows.append(write.row)
            events.extend(write.events)
            results.append(True)
        elif isinstance(write, HistoryWrite):
            params = _params(write)
            updates.setdefault((write.owner is None, frozenset(params)), []).append(params)
            events.extend(write.events)
            results.append(True)
        else:
            results.append(write(conn))
    if new_rows:
        conn.execute(_INSERT_EXECUTIONS, new_rows)
    for (unguarded, _keys), group in updates.items():
        if _update(conn, not unguarded, group) != len(group):
            raise _Lost  # some execution is no longer its writer's: find which, one by one
    if events:
        _insert_events(conn, events)
    return results


def _sqlite_together(cursor: Any, writes: list[Write]) -> list[Any]:
    """``_apply_together`` through the SQLite driver, for history writes only."""
    new_rows: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    events: list[dict[str, Any]] = []
    updates: dict[tuple[bool, frozenset[str]], list[dict[str, Any]]] = {}
    dumps = jsontext.dumps
    for write in writes:
        if isinstance(write, NewExecution):
            columns = tuple(write.row)
            new_rows.setdefault(columns, []).append(
                tuple(dumps(v) if c in _JSON_COLUMNS else v for c, v in write.row.items())
            )
            events.extend(write.events)
        elif isinstance(write, HistoryWrite):
            params = _params(write)
            updates.setdefault((write.owner is None, frozenset(params)), []).append(params)
            events.extend(write.events)
        else:
            raise TypeError("functions run on a SQLAlchemy connection")
    for columns, rows in new_rows.items():
        cursor.executemany(
            f"INSERT INTO executions ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})",
            rows,
        )
    for (unguarded, _keys), group in updates.items():
        if _sqlite_update(cursor, not unguarded, group) != len(group):
            raise _Lost  # some execution is no longer its writer's: find which, one by one
    if events:
        _sqlite_insert_events(cursor, events)
    return [True] * len(writes)
