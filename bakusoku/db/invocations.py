"""Asynchronous invocations kept durably: Lambda's event queue and on-failure destination in one table.

``add`` queues an event for a function under an invocation key; a second ``add`` with the same key
(an event delivered twice) queues nothing. An invocation stays ``pending`` until it succeeds or
fails its last try, so invocations a crash interrupted are found again (``pending``). One that
failed every try is kept ``failed`` with its error: the dead-letter record the operator reads
(``failed``), as the deployed function's failure queue keeps it on AWS, until ``redrive`` makes it
pending again (its tries start over) once the cause is fixed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bakusoku.db.schema import async_invocations

PENDING = "pending"
SUCCEEDED = "succeeded"
FAILED = "failed"
MAX_MESSAGE = 4096


@dataclass(frozen=True)
class AsyncInvocation:
    key: str
    function: str
    source: str  # schedule | object
    event: dict[str, Any]
    status: str
    attempts: int = 0
    error_type: str | None = None
    error_message: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "function": self.function,
            "source": self.source,
            "status": self.status,
            "attempts": self.attempts,
            "error_type": self.error_type,
            "error_message": self.error_message,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "event": self.event,
        }


class AsyncInvocations:
    """The durable queue of asynchronous invocations and their outcomes."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def add(self, key: str, function: str, source: str, event: Mapping[str, Any]) -> bool:
        """Queue ``event`` for ``function``; False when ``key`` was queued before (a repeat)."""
        now = time.time()
        row = {
            "invocation_key": key,
            "function": function,
            "source": source,
            "event": dict(event),
            "status": PENDING,
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
        }
        try:
            with self._engine.begin() as conn:
                conn.execute(async_invocations.insert().values(row))
        except sa.exc.IntegrityError:
            return False
        return True

    def tried(self, key: str, attempts: int) -> None:
        self._update(key, attempts=attempts)

    def succeeded(self, key: str, attempts: int) -> None:
        self._update(key, status=SUCCEEDED, attempts=attempts)

    def failed(self, key: str, attempts: int, error_type: str, message: str) -> None:
        """Keep the invocation as a dead letter: every try failed, the last with this error."""
        self._update(
            key,
            status=FAILED,
            attempts=attempts,
            error_type=error_type[:128],
            error_message=message[:MAX_MESSAGE],
        )

    def redrive(self, keys: Sequence[str] = (), function: str | None = None) -> list[str]:
        """Make dead letters pending again, their tries counted afresh: those of ``keys``, of
        ``function``, or (neither given) every one; returns the keys made pending."""
        where = async_invocations.c.status == FAILED
        if keys:
            where = where & async_invocations.c.invocation_key.in_(list(keys))
        if function is not None:
            where = where & (async_invocations.c.function == function)
        with self._engine.begin() as conn:
            found = list(
                conn.execute(sa.select(async_invocations.c.invocation_key).where(where)).scalars()
            )
            if found:
                conn.execute(
                    async_invocations.update()
                    .where(where & async_invocations.c.invocation_key.in_(found))
                    .values(
                        status=PENDING,
                        attempts=0,
                        error_type=None,
                        error_message=None,
                        updated_at=time.time(),
                    )
                )
        return found

    def pending(self) -> list[AsyncInvocation]:
        """The invocations not finished, oldest first (after a crash: those to invoke again)."""
        return self._select(async_invocations.c.status == PENDING)

    def failed_invocations(
        self, function: str | None = None, limit: int = 100
    ) -> list[AsyncInvocation]:
        """The dead letters, newest first, of ``function`` or of every function."""
        where = async_invocations.c.status == FAILED
        if function is not None:
            where = where & (async_invocations.c.function == function)
        return self._select(where, newest_first=True, limit=limit)

    def get(self, key: str) -> AsyncInvocation | None:
        found = self._select(async_invocations.c.invocation_key == key)
        return found[0] if found else None

    def prune_succeeded(self, older_than_days: int) -> int:
        """Forget invocations that succeeded longer ago than the history is kept; how many. Dead
        letters stay until the operator has read them, pending ones until they are invoked."""
        cutoff = time.time() - older_than_days * 86400
        with self._engine.begin() as conn:
            result = conn.execute(
                async_invocations.delete().where(
                    (async_invocations.c.status == SUCCEEDED)
                    & (async_invocations.c.updated_at < cutoff)
                )
            )
        return int(result.rowcount or 0)

    def _update(self, key: str, **values: Any) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                async_invocations.update()
                .where(async_invocations.c.invocation_key == key)
                .values(updated_at=time.time(), **values)
            )

    def _select(
        self, where: Any, *, newest_first: bool = False, limit: int | None = None
    ) -> list[AsyncInvocation]:
        order = async_invocations.c.created_at
        query = (
            sa.select(async_invocations)
            .where(where)
            .order_by(order.desc() if newest_first else order)
        )
        if limit is not None:
            query = query.limit(limit)
        with self._engine.connect() as conn:
            return [
                AsyncInvocation(
                    key=row.invocation_key,
                    function=row.function,
                    source=row.source,
                    event=row.event,
                    status=row.status,
                    attempts=row.attempts,
                    error_type=row.error_type,
                    error_message=row.error_message,
                    created_at=row.created_at,
                    updated_at=row.updated_at,
                )
                for row in conn.execute(query)
            ]
