"""Creating SQLAlchemy engines with the right settings for each database.

Supported: SQLite (embedded default), MySQL/MariaDB (PyMySQL) and PostgreSQL (psycopg 3), chosen by
a SQLAlchemy URL. Bare ``mysql://``, ``mariadb://``, ``postgres://`` and ``postgresql://`` URLs get
the driver bakusoku ships with. A server database may also get TLS (``TlsOptions``: verified
against a CA bundle, or encrypted only), a password source asked on every new connection (an IAM
token) and a credentials source asked once again after a refused login (a rotated secret).
"""

from __future__ import annotations

import functools
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import ConnectionPoolEntry

from bakusoku.db.errors import UnsupportedDatabaseError
from bakusoku.db.faults import install_faults
from bakusoku.db.gate import ConnectionGate
from bakusoku.faults import FaultControl

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


def _sqlite_tuning(durable: bool) -> Callable[[Any, object], None]:
    # WAL lets the API, the dispatcher and the worker processes read while one writes; the busy
    # timeout turns short lock waits into waits instead of "database is locked" errors. In WAL,
    # synchronous=NORMAL survives a crashed process but may lose the last commits to a power cut;
    # FULL syncs the log on every commit, for the connections whose commit acknowledges something
    # to a client (an upload's event). The setting belongs to each connection, not to the file.
    synchronous = "FULL" if durable else "NORMAL"

    def tune(dbapi_connection: Any, _record: object) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return tune


TLS_MODES = ("verify-full", "require", "off")


@dataclass(frozen=True)
class TlsOptions:
    """TLS to a server database: ``verify-full`` checks the certificate against ``ca_file`` and
    the host name, ``require`` encrypts without checking, ``off`` sends in the clear."""

    mode: str
    ca_file: str = ""

    def __post_init__(self) -> None:
        if self.mode not in TLS_MODES:
            raise UnsupportedDatabaseError(
                f"database TLS mode {self.mode!r} is unknown: use one of {', '.join(TLS_MODES)}"
            )
        if self.mode == "verify-full" and not Path(self.ca_file).is_file():
            raise UnsupportedDatabaseError(
                f"the CA bundle {self.ca_file!r} to verify the database's certificate is not a "
                "file: set database_ca_bundle to a PEM file, or database_tls to require or off"
            )


def tls_connect_args(backend: str, tls: TlsOptions) -> dict[str, Any]:
    """The driver's connect arguments for ``tls`` (PyMySQL's ``ssl``, libpq's ``sslmode``)."""
    if backend in ("mysql", "mariadb"):
        if tls.mode == "off":  # PyMySQL would otherwise take TLS when the server offers it
            return {"ssl_disabled": True}
        if tls.mode == "require":  # PyMySQL: no CA means encrypt without verifying
            return {"ssl": {"check_hostname": False}}
        return {"ssl": {"ca": tls.ca_file, "check_hostname": True}}
    if backend == "postgresql":
        if tls.mode == "off":
            return {"sslmode": "disable"}
        if tls.mode == "require":
            return {"sslmode": "require"}
        return {"sslmode": "verify-full", "sslrootcert": tls.ca_file}
    return {}


def _connect_args(url: sa.URL, tls: TlsOptions | None) -> dict[str, Any]:
    backend = url.get_backend_name()
    args: dict[str, Any] = {}
    if backend in ("mysql", "mariadb", "postgresql"):
        args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    if tls is not None:
        args |= tls_connect_args(backend, tls)
    return args


def _answer_timeout_args(url: sa.URL, answer_timeout: float | None) -> dict[str, Any]:
    """PyMySQL bounds each read and write of its socket itself; psycopg needs its own
    connection class (``bounded_postgres_connection``)."""
    if answer_timeout is None or url.get_backend_name() not in ("mysql", "mariadb"):
        return {}
    return {"read_timeout": answer_timeout, "write_timeout": answer_timeout}


@functools.cache
def bounded_postgres_connection(answer_timeout: float) -> Any:
    """A psycopg connection class whose every wait for the server ends after ``answer_timeout``
    seconds: psycopg waits without end by default. A connection that timed out is closed (its
    protocol state is unknown), so the pool drops it and the error reads as a lost connection.
    (``Connection.wait`` takes a timeout since psycopg 3.3: the lower bound in pyproject.toml.)"""
    import psycopg  # the postgres extra: imported only where a PostgreSQL URL is used

    class BoundedConnection(psycopg.Connection):
        def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
            started = time.monotonic()
            try:
                return super().wait(gen, interval, answer_timeout if timeout is None else timeout)
            except psycopg.OperationalError:
                if time.monotonic() - started < answer_timeout:
                    raise
                self.close()
                raise psycopg.OperationalError(
                    f"the database did not answer within {answer_timeout:g} s"
                ) from None

    return BoundedConnection


# MySQL/MariaDB's "Access denied" (1045) and PostgreSQL's invalid password / authorization.
_MYSQL_ACCESS_DENIED = 1045
_POSTGRES_AUTH_STATES = {"28P01", "28000"}


def is_authentication_failure(error: BaseException) -> bool:
    """Whether the server refused the login (wrong user or password), as the drivers say it."""
    args = getattr(error, "args", ())
    if args and args[0] == _MYSQL_ACCESS_DENIED:
        return True
    if getattr(error, "sqlstate", None) in _POSTGRES_AUTH_STATES:
        return True
    return "password authentication failed" in str(error)


@dataclass(frozen=True)
class Credentials:
    """Where a server engine's login comes from, besides its URL.

    ``password`` (if set) is asked on every new connection (an RDS IAM token lives 15 minutes);
    ``reread`` (if set) returns a fresh URL and is asked once when the server refuses the login,
    as after a secret's rotation, and the engine keeps the new login for later connections.
    """

    password: Callable[[], str] | None = None
    reread: Callable[[], str] | None = None


class _Connector:
    """The engine's ``do_connect``: a gate slot first, then the login, retried once if refused."""

    def __init__(
        self,
        gate: ConnectionGate | None,
        credentials: Credentials,
        extra: dict[str, Any],
        answer_timeout: float | None = None,
    ) -> None:
        self.gate = gate
        self.credentials = credentials
        self.extra = extra  # connect_args, kept when a re-read login replaces the URL's
        self.answer_timeout = answer_timeout  # PostgreSQL's: see bounded_postgres_connection
        self.rereads = 0  # how many refused logins were retried with fresh credentials
        self._fresh: tuple[list[Any], dict[str, Any]] | None = None

    def __call__(
        self, dialect: sa.Dialect, record: ConnectionPoolEntry, cargs: Any, cparams: Any
    ) -> Any:
        slot = self.gate.acquire() if self.gate is not None else None
        try:
            connection = self._login(dialect, cargs, cparams)
        except BaseException:
            if slot is not None and self.gate is not None:
                self.gate.release(slot)
            raise
        if slot is not None:
            record.info["gate_slot"] = slot
        return connection

    def _login(self, dialect: sa.Dialect, cargs: Any, cparams: Any) -> Any:
        if self._fresh is not None:  # a login re-read earlier replaces the URL's
            cargs, cparams = self._fresh
        try:
            return self._connect(dialect, cargs, cparams)
        except dialect.loaded_dbapi.Error as exc:
            if self.credentials.reread is None or not is_authentication_failure(exc):
                raise
        new_args, new_params = dialect.create_connect_args(normalize_url(self.credentials.reread()))
        self._fresh = (list(new_args), {**new_params, **self.extra})
        self.rereads += 1
        return self._connect(dialect, *self._fresh)

    def _connect(self, dialect: sa.Dialect, cargs: Any, cparams: dict[str, Any]) -> Any:
        if self.credentials.password is not None:
            cparams = {**cparams, "password": self.credentials.password()}
        if self.answer_timeout is not None:
            return bounded_postgres_connection(self.answer_timeout).connect(*cargs, **cparams)
        return dialect.connect(*cargs, **cparams)


_CONNECTORS: weakref.WeakKeyDictionary[sa.Engine, _Connector] = weakref.WeakKeyDictionary()


def _install_connector(
    engine: sa.Engine, gate: ConnectionGate | None, connector: _Connector
) -> None:
    """Every new DBAPI connection goes through ``connector``; closing it gives its slot back."""
    sa.event.listen(engine, "do_connect", connector)
    if gate is None:
        return

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
    tls: TlsOptions | None = None,
    credentials: Credentials | None = None,
    faults: FaultControl | None = None,
    durable: bool = False,
    answer_timeout: float | None = None,
) -> sa.Engine:
    """An engine for ``url``.

    SQLite gets WAL and a busy timeout; with ``durable``, every commit is synced to disk before it
    returns (what a server database does by default), not only at checkpoints. A server database
    gets a bounded pool of ``pool_size`` connections, ``tls`` if given, and its login from
    ``credentials`` if given. With a ``gate``,
    every connection also holds a slot of the machine-wide gate while it is open, and connections
    idle for ``idle_seconds`` are closed, so idle workers never hold slots the machine shares.
    With ``faults``, the engine obeys the database faults of a chaos experiment (``db.faults``).
    With ``answer_timeout``, a server database that does not answer a statement (or a pool's
    liveness check) within that many seconds fails it as a lost connection, which is transient:
    a server that hangs, or a network that swallows packets behind a proxy still answering TCP,
    would otherwise hold the caller forever, whatever connect_timeout says.
    """
    engine = _create_engine(
        url, pool_size, gate, idle_seconds, tls, credentials, durable, answer_timeout
    )
    if faults is not None:
        install_faults(engine, faults)
    return engine


def _create_engine(
    url: str,
    pool_size: int,
    gate: ConnectionGate | None,
    idle_seconds: float,
    tls: TlsOptions | None,
    credentials: Credentials | None,
    durable: bool,
    answer_timeout: float | None,
) -> sa.Engine:
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = sa.create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 30})
        sa.event.listen(engine, "connect", _sqlite_tuning(durable))
        return engine
    connect_args = _connect_args(parsed, tls) | _answer_timeout_args(parsed, answer_timeout)
    options: dict[str, Any] = {"connect_args": connect_args, "pool_pre_ping": True}
    if gate is not None:
        engine = sa.create_engine(
            parsed, pool_size=pool_size, max_overflow=0, pool_timeout=gate.timeout, **options
        )
        _IdleCloser(engine, idle_seconds)
    else:
        engine = sa.create_engine(
            parsed,
            pool_size=pool_size,
            max_overflow=0,
            pool_timeout=30,
            pool_recycle=1800,
            **options,
        )
    bounded = answer_timeout if parsed.get_backend_name() == "postgresql" else None
    if gate is not None or credentials is not None or bounded is not None:
        connector = _Connector(gate, credentials or Credentials(), dict(connect_args), bounded)
        _install_connector(engine, gate, connector)
        _CONNECTORS[engine] = connector
    return engine


def login_rereads(engine: sa.Engine) -> int:
    """How many refused logins ``engine`` retried with re-read credentials (reports, tests)."""
    connector = _CONNECTORS.get(engine)
    return connector.rereads if connector is not None else 0
