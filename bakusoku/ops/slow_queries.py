"""The slow-query report: the database's slowest statements, posted to Slack every hour.

The example of a function a configuration declares (``bakusoku.example.yml``, docs/functions.md):
``handler`` runs on a schedule in Lambda or ``bakusoku up``'s workers, reads the statistics the
database server keeps and posts the top statements through the alerts' delivery
(``ops.alerts.post_message``). Where they come from:

- MariaDB / MySQL: ``performance_schema.events_statements_summary_by_digest`` when
  ``performance_schema`` is on (statements seen in the window, totals since the statistics were
  last reset), else the ``mysql.slow_log`` table when ``slow_query_log`` is on and ``log_output``
  includes ``TABLE`` (statements that ended in the window, over ``long_query_time``).
- PostgreSQL: the ``pg_stat_statements`` view of the current database (totals since its last
  reset) when the extension is created and loaded.
- Otherwise (SQLite, or neither source on) the report says which setting to turn on.

Only normalised statements ever leave the database: every literal (strings, numbers, lists) is
replaced by ``?`` and comments are dropped, even where the server already normalised the text, so
no value of any row can reach the channel.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa

from bakusoku import utc
from bakusoku.config import Settings, load_settings
from bakusoku.db.deployment import deployment_engine
from bakusoku.db.gate import deployment_gate
from bakusoku.ops.alerts import SLACK, post_message, slack_webhook_url

TOP_VARIABLE = "SLOW_QUERIES_TOP"  # how many statements the report lists (default 10)
WINDOW_VARIABLE = "SLOW_QUERIES_WINDOW_SECONDS"  # the slow log's window (default an hour)
DEFAULT_TOP = 10
DEFAULT_WINDOW_SECONDS = 3600
MAX_TEXT = 600  # characters of one statement in the message (Slack's section limit is 3000)
_SLOW_LOG_ROWS = 10_000  # the slow log is read up to this many entries per report


@dataclass(frozen=True)
class SlowStatement:
    """One normalised statement and what it cost."""

    text: str
    calls: int
    total_ms: float
    max_ms: float | None = None
    rows: int | None = None  # rows examined (MySQL) or returned (PostgreSQL)

    @property
    def mean_ms(self) -> float:
        return self.total_ms / self.calls if self.calls else 0.0


@dataclass(frozen=True)
class SlowQueryReport:
    engine: str  # mariadb | mysql | postgresql | sqlite
    source: str  # the table or view read; empty when none could be
    statements: tuple[SlowStatement, ...] = ()
    note: str = ""  # why there are no statistics, or what the numbers cover


# ---- normalising ---------------------------------------------------------------------------------

_COMMENTS = re.compile(r"/\*.*?\*/|--[^\n]*", re.S)
_HASH_COMMENT = re.compile(r"#[^\n]*")  # MySQL only: in PostgreSQL '#' is an operator
_DOLLAR_QUOTED = re.compile(r"\$([A-Za-z_]*)\$.*?\$\1\$", re.S)
_SINGLE_QUOTED = re.compile(r"(?:\b[xXbBnNeE])?'(?:[^'\\]|\\.|'')*'", re.S)
_DOUBLE_QUOTED = re.compile(r'"(?:[^"\\]|\\.|"")*"', re.S)
_NUMBER = re.compile(r"(?<![\w$.?])[-+]?(?:0[xX][0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\b")
_LIST = re.compile(r"\(\s*\?(?:\s*,\s*\?)+\s*\)")  # two or more values
_ROWS = re.compile(r"\(\.\.\.\)(?:\s*,\s*\(\.\.\.\))+")
_SPACE = re.compile(r"\s+")


def normalise(sql: str, *, double_quotes_are_strings: bool) -> str:
    """``sql`` with every literal as ``?``, lists as ``(...)``, no comments, one-line spaced.

    In MySQL ``"text"`` is a string (replaced); in PostgreSQL it is an identifier (kept).
    """
    text = _COMMENTS.sub(" ", sql)
    if double_quotes_are_strings:
        text = _HASH_COMMENT.sub(" ", text)
    text = _DOLLAR_QUOTED.sub("?", text)
    text = _SINGLE_QUOTED.sub("?", text)
    if double_quotes_are_strings:
        text = _DOUBLE_QUOTED.sub("?", text)
    text = _NUMBER.sub("?", text)
    text = _LIST.sub("(...)", text)
    text = _ROWS.sub("(...)", text)
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


# ---- reading -------------------------------------------------------------------------------------


def read_report(
    engine: sa.Engine, *, top: int = DEFAULT_TOP, window_seconds: int = DEFAULT_WINDOW_SECONDS
) -> SlowQueryReport:
    """The ``top`` statements by total time, from whatever the engine's server keeps."""
    dialect = engine.dialect.name
    with engine.connect() as conn:
        if dialect == "postgresql":
            return _postgres(conn, top)
        if dialect in ("mysql", "mariadb"):
            flavour = (
                "mariadb" if "mariadb" in _scalar(conn, "SELECT VERSION()").lower() else "mysql"
            )
            return _mysql(conn, flavour, top, window_seconds)
    return SlowQueryReport(
        dialect, "", note=f"{dialect} keeps no statement statistics: nothing to report"
    )


def _scalar(conn: sa.Connection, sql: str) -> str:
    return str(conn.execute(sa.text(sql)).scalar() or "")


def _variable(conn: sa.Connection, name: str) -> str:
    row = conn.execute(sa.text("SHOW GLOBAL VARIABLES LIKE :name"), {"name": name}).first()
    return str(row[1]) if row else ""


def _mysql(conn: sa.Connection, flavour: str, top: int, window_seconds: int) -> SlowQueryReport:
    if _variable(conn, "performance_schema").upper() == "ON":
        rows = conn.execute(
            sa.text(
                "SELECT DIGEST_TEXT, COUNT_STAR, SUM_TIMER_WAIT, MAX_TIMER_WAIT, SUM_ROWS_EXAMINED"
                " FROM performance_schema.events_statements_summary_by_digest"
                " WHERE DIGEST_TEXT IS NOT NULL AND (SCHEMA_NAME = DATABASE() OR"
                " SCHEMA_NAME IS NULL) AND LAST_SEEN >= NOW() - INTERVAL :window SECOND"
                " ORDER BY SUM_TIMER_WAIT DESC LIMIT :top"
            ),
            {"window": window_seconds, "top": top},
        ).all()
        statements = [
            SlowStatement(
                normalise(str(r[0]), double_quotes_are_strings=True),
                int(r[1]),
                int(r[2]) / 1e9,  # picoseconds
                int(r[3]) / 1e9,
                int(r[4]),
            )
            for r in rows
        ]
        return SlowQueryReport(
            flavour,
            "performance_schema.events_statements_summary_by_digest",
            tuple(statements),
            note="statements seen in the window; totals since the statistics were last reset",
        )
    slow_log = _variable(conn, "slow_query_log").upper() in ("ON", "1")
    if slow_log and "TABLE" in _variable(conn, "log_output").upper():
        rows = conn.execute(
            sa.text(
                "SELECT sql_text, TIME_TO_SEC(query_time) AS seconds, rows_examined"
                " FROM mysql.slow_log WHERE start_time >= NOW() - INTERVAL :window SECOND"
                " AND db = DATABASE() ORDER BY query_time DESC LIMIT :limit"
            ),
            {"window": window_seconds, "limit": _SLOW_LOG_ROWS},
        ).all()
        statements = _grouped((_text(r[0]), float(r[1]) * 1000.0, int(r[2])) for r in rows)
        threshold = _variable(conn, "long_query_time")
        return SlowQueryReport(
            flavour,
            "mysql.slow_log",
            tuple(statements[:top]),
            note=f"statements over long_query_time ({threshold} s) that ended in the window",
        )
    return SlowQueryReport(
        flavour,
        "",
        note=(
            f"{flavour} keeps no statement statistics here: performance_schema is OFF (set "
            "performance_schema=ON in the server's configuration and restart), and the slow "
            "log is not a table (SET GLOBAL slow_query_log=ON, log_output='TABLE')"
        ),
    )


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes | bytearray) else str(value)


def _grouped(entries: Iterable[tuple[str, float, int]]) -> list[SlowStatement]:
    """Slow-log entries of one normalised statement added up, the costliest first."""
    totals: dict[str, list[float]] = {}
    for sql, ms, examined in entries:
        key = normalise(sql, double_quotes_are_strings=True)
        calls, total, worst, rows = totals.get(key, [0, 0.0, 0.0, 0])
        totals[key] = [calls + 1, total + ms, max(worst, ms), rows + examined]
    statements = [
        SlowStatement(text, int(c), total, worst, int(rows))
        for text, (c, total, worst, rows) in totals.items()
    ]
    return sorted(statements, key=lambda s: s.total_ms, reverse=True)


_PG_ABSENT = (
    "pg_stat_statements is not installed in this database: add it to the server's "
    "shared_preload_libraries, restart, then CREATE EXTENSION pg_stat_statements"
)
_PG_NOT_LOADED = (
    "pg_stat_statements is created but not loaded: add it to the server's "
    "shared_preload_libraries and restart PostgreSQL"
)


def _postgres(conn: sa.Connection, top: int) -> SlowQueryReport:
    installed = conn.execute(
        sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'")
    ).first()
    if installed is None:
        return SlowQueryReport("postgresql", "", note=_PG_ABSENT)
    try:
        with conn.begin_nested():  # a failure must not spoil the connection's transaction
            rows = conn.execute(
                sa.text(
                    "SELECT query, calls, total_exec_time, max_exec_time, rows"
                    " FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database"
                    " WHERE datname = current_database()) AND query <> '<insufficient privilege>'"
                    " ORDER BY total_exec_time DESC LIMIT :top"
                ),
                {"top": top},
            ).all()
    except sa.exc.DBAPIError as exc:
        if "shared_preload_libraries" in str(exc.orig):
            return SlowQueryReport("postgresql", "", note=_PG_NOT_LOADED)
        raise
    statements = [
        SlowStatement(
            normalise(str(r[0]), double_quotes_are_strings=False),
            int(r[1]),
            float(r[2]),
            float(r[3]),
            int(r[4]),
        )
        for r in rows
    ]
    return SlowQueryReport(
        "postgresql",
        "pg_stat_statements",
        tuple(statements),
        note="totals since pg_stat_statements was last reset",
    )


# ---- the message ---------------------------------------------------------------------------------


def _duration(ms: float | None) -> str:
    if ms is None:
        return "-"
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.1f} ms"


def slack_report(report: SlowQueryReport, *, service: str, stage: str) -> dict[str, Any]:
    """The report as a Slack message (Block Kit, with a plain-text fallback)."""
    title = f"Slow queries of {service}/{stage} ({report.engine})"
    source = f"`{report.source}`" if report.source else "no statistics"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"{source} · {report.note} · {utc.iso_seconds(utc.now())}",
                }
            ],
        },
    ]
    if not report.statements:
        text = report.note if not report.source else "No statement in the window."
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    for n, s in enumerate(report.statements, start=1):
        rows = "" if s.rows is None else f" · {s.rows} rows"
        line = (
            f"*{n}.* {s.calls} calls · total {_duration(s.total_ms)} · mean "
            f"{_duration(s.mean_ms)} · max {_duration(s.max_ms)}{rows}\n```{s.text}```"
        )
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": line}})
    count = len(report.statements)
    summary = f"{count} slowest statements" if count else report.note
    return {"text": f"[{service}/{stage}] {title}: {summary}", "blocks": blocks}


# ---- the handler ---------------------------------------------------------------------------------


_ENGINES: dict[tuple[str, str], sa.Engine] = {}


def _engine(settings: Settings) -> sa.Engine:
    """One engine per execution environment, as the pipeline's handlers keep theirs."""
    key = (settings.effective_database_url, settings.database_secret_arn)
    if key not in _ENGINES:
        gate = deployment_gate(
            settings.data_dir, settings.db_max_connections, settings.db_wait_seconds
        )
        _ENGINES[key] = deployment_engine(settings, pool_size=1, gate=gate)
    return _ENGINES[key]


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Read the report and post it; raise (so the invocation is retried) if Slack refuses it."""
    settings = load_settings()
    report = read_report(
        _engine(settings),
        top=int(os.environ.get(TOP_VARIABLE, DEFAULT_TOP)),
        window_seconds=int(os.environ.get(WINDOW_VARIABLE, DEFAULT_WINDOW_SECONDS)),
    )
    message = slack_report(report, service=settings.service_name, stage=settings.stage)
    with httpx.Client(timeout=5.0) as client:
        post_message(client, slack_webhook_url(settings), message, channel=SLACK)
    return {
        "engine": report.engine,
        "source": report.source,
        "statements": len(report.statements),
        "note": report.note,
    }
