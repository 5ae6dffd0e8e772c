"""Creating SQLAlchemy engines with the right settings for each database.

Supported: SQLite (embedded default), MySQL/MariaDB (PyMySQL) and PostgreSQL (psycopg 3), chosen by
a SQLAlchemy URL. Bare ``mysql://``, ``mariadb://``, ``postgres://`` and ``postgresql://`` URLs get
the driver bakusoku ships with.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import ConnectionPoolEntry

from bakusoku.db.errors import UnsupportedDatabaseError
from bakusoku.db.gate import ConnectionGate

_DRIVERS = {"mysql": "pymysql", "mariadb": "pymysql", "postgresql": "psycopg"}
CONNECT_TIMEOUT_SECONDS = 5


def sqlite_url(data_dir: Path) -> str:
    """The embedded default database: one SQLite file in the data directory."""
    return f"sqlite:///{(data_dir / 'bakusoku.db').resolve()}"


def normalize_url(url: str) -> sa.URL:
    """``url`` as a SQLAlchemy URL with bakusoku's driver for its database; raises if unsupported."""
    try:
        parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    except sa.exc.ArgumentError as exc:
        raise UnsupportedDatabaseError(
            f"database_url {url!r} is not a SQLAlchemy URL; use e.g. sqlite:///path.db, "
            "mysql://user:pass@host/db or postgresql://user@host/db"
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed
    if backend not in _DRIVERS:
        raise UnsupportedDatabaseError(
            f"database_url {parsed.render_as_string(hide_password=True)!r} uses {backend!r}; "
            "bakusoku supports sqlite, mysql/mariadb and postgresql"
        )
    if "+" not in parsed.drivername:
        parsed = parsed.set(drivername=f"{backend}+{_DRIVERS[backend]}")
    if backend in ("mysql", "mariadb") and "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    return parsed


def _tune_sqlite(dbapi_connection: Any, _record: object) -> None:
    # WAL lets the API, the dispatcher and the worker processes read while one writes; the busy
    # timeout turns short lock waits into waits instead of "database is locked" errors.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _connect_args(url: sa.URL) -> dict[str, Any]:
    backend = url.get_backend_name()
    if backend in ("mysql", "mariadb"):
        return {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    if backend == "postgresql":
        return {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    return {}


def _install_gate(engine: sa.Engine, gate: ConnectionGate) -> None:
    """Every new DBAPI connection takes a gate slot first; closing it gives the slot back."""

    @sa.event.listens_for(engine, "do_connect")
    def _connect(dialect: sa.Dialect, record: ConnectionPoolEntry, cargs: Any, cparams: Any) -> Any:
        slot = gate.acquire()
        try:
            connection = dialect.connect(*cargs, **cparams)
        except BaseException:
            gate.release(slot)
            raise
        record.info["gate_slot"] = slot
        return connection

    def _release(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        slot = record.info.pop("gate_slot", None)
        if slot is not None:
            gate.release(slot)

    sa.event.listen(engine.pool, "close", _release)
    sa.event.listen(engine.pool, "close_detached", _release)


class _IdleCloser:
    """Closes a pool's idle connections once nothing used it for ``idle_seconds``.

    A warm worker keeps its connection between the queries of one task and across back-to-back
    tasks, but an idle worker gives its gate slot back quickly.
    """

    def __init__(self, engine: sa.Engine, idle_seconds: float) -> None:
        self._pool = engine.pool
        self._idle = idle_seconds
        self._lock = threading.Lock()
        self._out = 0
        self._last = time.monotonic()
        sa.event.listen(self._pool, "checkout", self._checkout)
        sa.event.listen(self._pool, "checkin", self._checkin)
        threading.Thread(target=self._run, name="db-idle-closer", daemon=True).start()

    def _checkout(self, *_args: Any) -> None:
        with self._lock:
            self._out += 1

    def _checkin(self, *_args: Any) -> None:
        with self._lock:
            self._out = max(0, self._out - 1)
            self._last = time.monotonic()

    def _run(self) -> None:
        while True:
            time.sleep(self._idle / 2)
            with self._lock:
                idle = self._out == 0 and time.monotonic() - self._last >= self._idle
            if idle and self._pool.checkedin():  # type: ignore[attr-defined]
                self._pool.dispose()  # closes idle connections only; checked-out ones stay


def create_db_engine(
    url: str,
    *,
    pool_size: int = 5,
    gate: ConnectionGate | None = None,
    idle_seconds: float = 0.25,
) -> sa.Engine:
    """An engine for ``url``.

    SQLite gets WAL and a busy timeout. A server database gets a bounded pool of ``pool_size``
    connections. With a ``gate``, every connection also holds a slot of the deployment-wide gate
    while it is open, and connections idle for ``idle_seconds`` are closed, so idle workers never
    hold slots the deployment shares.
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = sa.create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 30})
        sa.event.listen(engine, "connect", _tune_sqlite)
        return engine
    options: dict[str, Any] = {"connect_args": _connect_args(parsed), "pool_pre_ping": True}
    if gate is not None:
        engine = sa.create_engine(
            parsed, pool_size=pool_size, max_overflow=0, pool_timeout=gate.timeout, **options
        )
        _install_gate(engine, gate)
        _IdleCloser(engine, idle_seconds)
        return engine
    return sa.create_engine(
        parsed, pool_size=pool_size, max_overflow=0, pool_timeout=30, pool_recycle=1800, **options
    )
