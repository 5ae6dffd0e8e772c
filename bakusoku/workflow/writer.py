"""Group commit: the database writes of many running executions share one transaction.

Each execution writes its history before every task it calls; with many executions running, one
transaction per write spends most of the time beginning and committing (and, on SQLite, waiting
on the file's single write lock). Here the first writer to find no transaction under way commits
everything queued until then in one transaction; the others wait for that commit, so a write
still returns only once it is durable.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

T = TypeVar("T")

# Bounds one transaction, so a leader does not keep a long queue's writers waiting on it alone.
MAX_BATCH = 256
_PENDING: Any = object()


class _Job(Generic[T]):
    __slots__ = ("apply", "done", "error", "lead", "result")

    def __init__(self, apply: Callable[[sa.Connection], T]) -> None:
        self.apply = apply
        self.done = threading.Event()
        self.lead = False  # woken to commit the queue rather than with a result
        self.result: T = _PENDING
        self.error: BaseException | None = None


class GroupWriter:
    """Runs write functions ``apply(conn)`` in shared transactions on ``db``.

    When one function raises, its transaction is rolled back and every function of it runs again
    alone, so one execution's failed write never fails another's.
    """

    def __init__(self, db: sa.Engine) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._queue: list[_Job[Any]] = []
        self._writing = False

    def run(self, apply: Callable[[sa.Connection], T]) -> T:
        """``apply(conn)`` inside a transaction; returns its result once that has committed."""
        job: _Job[T] = _Job(apply)
        with self._lock:
            self._queue.append(job)
            lead = not self._writing
            self._writing = True
        if not lead:
            job.done.wait()
            lead = job.lead
        if lead:
            self._lead()
        if job.error is not None:
            raise job.error
        return job.result

    def _lead(self) -> None:
        with self._lock:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
        try:
            self._commit(batch)
        finally:
            with self._lock:
                if self._queue:
                    successor = self._queue[0]
                    successor.lead = True
                    successor.done.set()
                else:
                    self._writing = False
            for job in batch:
                if job.result is _PENDING and job.error is None:
                    job.error = RuntimeError("the transaction carrying this write was interrupted")
                job.done.set()

    def _commit(self, batch: list[_Job[Any]]) -> None:
        if len(batch) > 1:
            try:
                results = []
                with self.db.begin() as conn:
                    for job in batch:
                        results.append(job.apply(conn))
            except Exception:
                pass  # rolled back: each runs again alone below, to find whose write failed
            else:
                for job, result in zip(batch, results, strict=True):
                    job.result = result
                return
        for job in batch:
            try:
                with self.db.begin() as conn:
                    job.result = job.apply(conn)
            except BaseException as exc:
                job.error = exc
