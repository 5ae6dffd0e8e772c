"""Retrying short transactions through deadlocks and brief database outages.

Deadlocks and serialization failures (two deliveries of one event racing) are retried at once;
lost or refused connections are retried with backoff for ``budget`` seconds, then surface as
DatabaseUnavailableError, which the pipeline's Retry rules retry again later.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa

from bakusoku.db.errors import DatabaseBusyError, DatabaseUnavailableError

log = logging.getLogger(__name__)

T = TypeVar("T")

# MySQL/MariaDB: deadlock, lock wait timeout; PostgreSQL: serialization failure, deadlock.
_CONFLICT_CODES = {1213, 1205}
_CONFLICT_STATES = {"40001", "40P01"}
# MySQL/MariaDB: too many connections, shutdown, lock wait, deadlock, killed, can't connect, gone
# away, lost during query, lost at handshake.
_MYSQL_TRANSIENT = {1040, 1053, 1205, 1213, 1927, 2002, 2003, 2006, 2013, 2055}
MAX_CONFLICT_RETRIES = 8


def _sqlstate(exc: sa.exc.DBAPIError) -> str | None:
    orig = exc.orig
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return str(state) if state else None


def _mysql_code(exc: sa.exc.DBAPIError) -> int | None:
    args = getattr(exc.orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def is_conflict(exc: BaseException) -> bool:
    """A deadlock or serialization failure: the transaction can run again right away."""
    if not isinstance(exc, sa.exc.DBAPIError):
        return False
    return _mysql_code(exc) in _CONFLICT_CODES or _sqlstate(exc) in _CONFLICT_STATES


def is_transient(exc: BaseException) -> bool:
    """An error that can go away by itself: connection lost or refused, busy, pool exhausted.

    Errors in the statement itself (an unknown column, a constraint) are not transient.
    """
    if isinstance(exc, DatabaseUnavailableError | sa.exc.TimeoutError | sa.exc.DisconnectionError):
        return True
    if not isinstance(exc, sa.exc.DBAPIError):
        return False
    if exc.connection_invalidated or isinstance(exc, sa.exc.InterfaceError):
        return True
    if not isinstance(exc, sa.exc.OperationalError):
        return False
    code = _mysql_code(exc)
    if code is not None:
        return code in _MYSQL_TRANSIENT
    state = _sqlstate(exc)
    if state is not None:
        return state[:2] in ("08", "53", "57", "40") or state in _CONFLICT_STATES
    message = str(exc.orig).lower()
    if "sqlite" in type(exc.orig).__module__:  # busy, or its file out of reach for a moment
        return "locked" in message or "busy" in message or "unable to open" in message
    return True  # a driver error with no code: failing to connect at all (psycopg)


def unavailable(exc: BaseException) -> DatabaseUnavailableError:
    """The typed, retryable error for a transient database failure."""
    if isinstance(exc, DatabaseUnavailableError):
        return exc
    detail = str(getattr(exc, "orig", None) or exc).splitlines()[0][:300]
    return DatabaseUnavailableError(
        f"the database could not be reached ({type(exc).__name__}: {detail}); "
        "the task is retried: check the database is running and reachable if this persists"
    )


def run_with_retry(work: Callable[[], T], *, budget: float = 10.0) -> T:
    """Run ``work`` (one whole transaction), retrying conflicts and transient failures."""
    deadline = time.monotonic() + budget
    conflicts = 0
    pause = 0.1
    while True:
        try:
            return work()
        except Exception as exc:
            if is_conflict(exc) and conflicts < MAX_CONFLICT_RETRIES:
                conflicts += 1
                time.sleep(random.uniform(0, 0.02 * conflicts))
                continue
            if not is_transient(exc):
                raise
            remaining = deadline - time.monotonic()
            if remaining <= 0 or isinstance(exc, DatabaseBusyError):
                raise unavailable(exc) from exc
            log.warning("database unavailable, retrying in %.1f s: %s", pause, exc)
            time.sleep(min(pause, remaining))
            pause = min(pause * 2, 2.0)
