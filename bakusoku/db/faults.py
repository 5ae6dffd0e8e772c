"""The database faults of a chaos experiment, acting inside an engine: ``db.cut`` and ``db.slow``.

A cut refuses new connections with the driver's own error for an unreachable server (so retries,
``is_transient`` and the API's 503 treat it as they treat a real outage) and drops pooled
connections as they are checked out; a slowdown makes every statement wait before it is sent.
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import ConnectionPoolEntry

from bakusoku.faults import FaultControl

# MySQL/MariaDB's "Can't connect to MySQL server" (CR_CONN_HOST_ERROR).
_MYSQL_CANNOT_CONNECT = 2003


def refused_connection(dialect: sa.Dialect) -> Exception:
    """The DBAPI error ``dialect``'s driver raises when the server refuses the connection."""
    message = "connection refused: the database is cut off by a fault injected (db.cut)"
    error_class = dialect.loaded_dbapi.OperationalError
    if dialect.name in ("mysql", "mariadb"):
        return error_class(_MYSQL_CANNOT_CONNECT, f"Can't connect to MySQL server ({message})")
    if dialect.name == "sqlite":
        return error_class(f"unable to open database file ({message})")
    return error_class(message)


def install_faults(engine: sa.Engine, faults: FaultControl) -> None:
    """Make ``engine`` obey the database faults in force (first among its connect hooks)."""

    def refuse(dialect: sa.Dialect, _record: ConnectionPoolEntry, _cargs: Any, _params: Any) -> Any:
        if faults.hit("db.cut") is not None:
            raise refused_connection(dialect)
        return None  # the next hook, or the driver, connects

    def drop_pooled(_dbapi_connection: Any, _record: ConnectionPoolEntry, _proxy: Any) -> None:
        if faults.hit("db.cut") is not None:  # the pool closes it and connects anew: refused
            raise sa.exc.DisconnectionError("the database is cut off by a fault injected (db.cut)")

    def slow(*_args: Any) -> None:
        fault = faults.hit("db.slow")
        if fault is not None:
            time.sleep(fault.latency_ms / 1000)

    sa.event.listen(engine, "do_connect", refuse, insert=True)
    sa.event.listen(engine.pool, "checkout", drop_pooled)
    sa.event.listen(engine, "before_cursor_execute", slow)
