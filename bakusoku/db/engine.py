"""Creating SQLAlchemy engines with the right settings for each database."""

from pathlib import Path

import sqlalchemy as sa

from bakusoku.db.schema import metadata


def sqlite_url(data_dir: Path) -> str:
    """The embedded default database: one SQLite file in the data directory."""
    return f"sqlite:///{(data_dir / 'bakusoku.db').resolve()}"


def _tune_sqlite(dbapi_connection: object, _record: object) -> None:
    # WAL lets the API, the dispatcher and the worker processes read while one writes; the busy
    # timeout turns short lock waits into waits instead of "database is locked" errors.
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_db_engine(url: str, *, pool_size: int = 5) -> sa.Engine:
    """An engine for ``url``; SQLite gets WAL and a busy timeout, servers get a bounded pool."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        sa.event.listen(engine, "connect", _tune_sqlite)
        return engine
    return sa.create_engine(url, pool_size=pool_size, max_overflow=0, pool_pre_ping=True)


def create_schema(engine: sa.Engine) -> None:
    """Create every table that does not exist yet."""
    metadata.create_all(engine)
