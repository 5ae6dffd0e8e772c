"""The one delivery loop of the outboxes (alerts, runner notifications): due rows claimed, sent,
retried with exponential back-off.

An outbox table has ``id``, ``status`` (``pending`` | ``delivered`` | ``failed``), ``attempts``,
``next_attempt_at``, ``last_error`` and ``delivered_at``. Each outbox hands the dispatcher its
table and a function that sends one row (raising when it could not); the dispatcher owns the rest:

- a row is claimed before it is sent (its ``next_attempt_at`` moved past the send's longest
  time), so another process on the same database that read the same row does not send it too;
- a failed send is retried after 1 s, 2 s, 4 s … up to ``max_backoff_seconds``; after
  ``max_attempts`` tries the row is ``failed`` with the reason in ``last_error``;
  :class:`Undeliverable` fails a row at once (nobody left to send it to);
- a background thread delivers what is due every ``poll_seconds`` (or at once after
  :meth:`OutboxDispatcher.wake`), and :meth:`OutboxDispatcher.deliver_due` is the whole of one
  pass, which a scheduled function calls alone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bakusoku.errors import BakusokuError

log = logging.getLogger("bakusoku.db.dispatch")

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"
_BATCH = 50  # rows read per pass: a pass ends soon enough for stop() to be prompt


class Undeliverable(BakusokuError):
    """The row can never be sent (e.g. its subscription ended): failed at once, not retried."""

    code = "outbox.undeliverable"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    max_backoff_seconds: float = 300.0
    claim_seconds: float = 60.0  # longer than one send may take

    def delay(self, attempts: int) -> float:
        """Seconds before try ``attempts + 1``: 1, 2, 4 … capped."""
        return float(min(self.max_backoff_seconds, 2.0 ** (attempts - 1)))


Send = Callable[[Any], None]  # sends one row; raises when it could not
Outcome = Callable[[Any, bool], None]  # a row, and whether it was delivered


class OutboxDispatcher:
    """Delivers the due rows of one outbox ``table`` through ``send``."""

    def __init__(
        self,
        db: sa.Engine,
        table: sa.Table,
        send: Send,
        *,
        name: str,
        policy: RetryPolicy,
        poll_seconds: float = 1.0,
        on_outcome: Outcome | None = None,
    ) -> None:
        self.db = db
        self.table = table
        self.name = name  # in log lines and the thread's name, e.g. "alert"
        self.policy = policy
        self.poll_seconds = poll_seconds
        self._send = send
        self._on_outcome = on_outcome
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"{self.name}-dispatcher", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wake(self) -> None:
        """Deliver now rather than at the next poll (a row due at once was added)."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
            try:
                self.deliver_due()
            except Exception:
                log.exception("the %s dispatcher could not read its outbox; retrying", self.name)

    def deliver_due(self, now: float | None = None) -> int:
        """Send every row that is due; returns how many were delivered."""
        now = time.time() if now is None else now
        t = self.table
        with self.db.connect() as conn:
            rows = conn.execute(
                sa.select(t)
                .where(t.c.status == PENDING, t.c.next_attempt_at <= now)
                .order_by(t.c.id)
                .limit(_BATCH)
            ).all()
        delivered = 0
        for row in rows:
            if self._stopping.is_set():
                break
            if self._claim(row, now):
                delivered += self._deliver(row)
        return delivered

    def _claim(self, row: Any, now: float) -> bool:
        # Another dispatcher (another process on the same database) may have taken it.
        t = self.table
        with self.db.begin() as conn:
            taken = conn.execute(
                t.update()
                .where(
                    t.c.id == row.id,
                    t.c.status == PENDING,
                    t.c.next_attempt_at == row.next_attempt_at,
                )
                .values(next_attempt_at=now + self.policy.claim_seconds)
            ).rowcount
        return bool(taken == 1)

    def _deliver(self, row: Any) -> int:
        try:
            self._send(row)
        except Exception as exc:
            self._failed(row, exc)
            return 0
        self._update(row, status=DELIVERED, delivered_at=time.time(), last_error=None)
        self._report(row, True)
        return 1

    def _failed(self, row: Any, exc: Exception) -> None:
        attempts = row.attempts + 1
        # A typed error says what was wrong without secrets; anything else is named by its type
        # only (an HTTP client's message may hold a webhook's URL).
        reason = exc.message if isinstance(exc, BakusokuError) else type(exc).__name__
        give_up = isinstance(exc, Undeliverable) or attempts >= self.policy.max_attempts
        delay = self.policy.delay(attempts)
        self._update(
            row,
            status=FAILED if give_up else PENDING,
            next_attempt_at=time.time() + delay,
            last_error=reason[:256],
        )
        log.warning(
            "%s %s (%s) not delivered on attempt %d: %s; %s",
            self.name,
            row.id,
            getattr(row, "kind", "-"),
            attempts,
            reason,
            "giving up" if give_up else f"retrying in {delay:.0f} s",
        )
        self._report(row, False)

    def _update(self, row: Any, **values: Any) -> None:
        t = self.table
        with self.db.begin() as conn:
            conn.execute(
                t.update().where(t.c.id == row.id).values(attempts=row.attempts + 1, **values)
            )

    def _report(self, row: Any, delivered: bool) -> None:
        if self._on_outcome is not None:
            self._on_outcome(row, delivered)

    def counts(self, *where: sa.ColumnElement[bool]) -> dict[str, int]:
        """Rows by status, of the rows ``where`` selects (all without it)."""
        t = self.table
        query = sa.select(t.c.status, sa.func.count()).group_by(t.c.status)
        if where:
            query = query.where(*where)
        with self.db.connect() as conn:
            return {status: int(n) for status, n in conn.execute(query).all()}
