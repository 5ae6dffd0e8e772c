"""The slow-query report: normalising, the message, and the handler against the real servers.

The server tests run the handler as its schedule does, against this machine's MariaDB and
PostgreSQL, posting to a Slack stand-in on loopback. MariaDB's ``performance_schema`` can only be
switched on at server start, so its slow-log table is what is read here (switched on for the test
and restored after, with ``long_query_time`` 0 in the test's own session only); PostgreSQL's
``pg_stat_statements`` needs ``shared_preload_libraries`` and a restart, so the tests cover the
extension absent and created-but-not-loaded, and the message that says what to do for each.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from bakusoku.config import ConfigError
from bakusoku.ops.slow_queries import (
    SlowQueryReport,
    SlowStatement,
    handler,
    normalise,
    read_report,
    slack_report,
)
from tests.db.servers import ServerDatabase, create_database
from tests.ops.conftest import WebhookStandIn

SECRET = "hunter2-never-in-slack"
EVENT = {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}


# ---- unit ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "mysql", "expected"),
    [
        (
            f"SELECT * FROM photos WHERE album = '{SECRET}' AND id IN (1, 2, 3) LIMIT 10",
            True,
            "SELECT * FROM photos WHERE album = ? AND id IN (...) LIMIT ?",
        ),
        (
            'UPDATE t SET a = "x", b = -4.5e3 WHERE c = 0x1F',
            True,
            "UPDATE t SET a = ?, b = ? WHERE c = ?",
        ),
        ("INSERT INTO t VALUES ('a', 1), ('b', 2)", True, "INSERT INTO t VALUES (...)"),
        ("SELECT 1 /* card 4111 */ -- user 7\n# note 9\nFROM t2", True, "SELECT ? FROM t2"),
        ('SELECT "col1" FROM "t" WHERE x = $1', False, 'SELECT "col1" FROM "t" WHERE x = $1'),
        ("SELECT $$secret$$, E'it\\'s', data #> '{a}'", False, "SELECT ?, ?, data #> ?"),
    ],
)
def test_normalise_leaves_no_literal(sql: str, mysql: bool, expected: str) -> None:
    assert normalise(sql, double_quotes_are_strings=mysql) == expected


def test_the_message_lists_statements_or_says_why_there_are_none() -> None:
    report = SlowQueryReport(
        "postgresql",
        "pg_stat_statements",
        (SlowStatement("SELECT ? FROM t", calls=4, total_ms=2400.0, max_ms=900.0, rows=4),),
        note="totals since pg_stat_statements was last reset",
    )
    message = slack_report(report, service="enphoto", stage="prod")
    assert message["text"].startswith("[enphoto/prod] Slow queries of enphoto/prod (postgresql)")
    texts = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]
    assert texts == [
        "*1.* 4 calls · total 2.40 s · mean 600.0 ms · max 900.0 ms · 4 rows\n```SELECT ? FROM t```"
    ]

    empty = SlowQueryReport("sqlite", "", note="sqlite keeps no statement statistics")
    message = slack_report(empty, service="s", stage="local")
    texts = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]
    assert texts == ["sqlite keeps no statement statistics"]


def test_sqlite_says_it_keeps_no_statistics() -> None:
    engine = sa.create_engine("sqlite://")
    report = read_report(engine)
    assert (report.engine, report.source, report.statements) == ("sqlite", "", ())
    assert "no statement statistics" in report.note


# ---- against the servers -------------------------------------------------------------------------


@pytest.fixture
def mariadb() -> Iterator[ServerDatabase]:
    database = create_database("mariadb")
    yield database
    database.drop()


@pytest.fixture
def postgres() -> Iterator[ServerDatabase]:
    database = create_database("postgresql")
    yield database
    database.drop()


def _run_handler(
    database: ServerDatabase, slack: WebhookStandIn, monkeypatch: pytest.MonkeyPatch
) -> dict[str, object]:
    """The handler as its schedule invokes it, configured as `bakusoku up` hands settings over."""
    monkeypatch.setenv("BAKUSOKU_DATABASE_URL", database.url)
    monkeypatch.setenv("BAKUSOKU_SLACK_WEBHOOK_URL", slack.url)
    monkeypatch.setenv("BAKUSOKU_SERVICE_NAME", "enphoto")
    monkeypatch.setenv("BAKUSOKU_STAGE", "test")
    monkeypatch.setenv("BAKUSOKU_DB_MAX_CONNECTIONS", "0")
    monkeypatch.setenv("SLOW_QUERIES_TOP", "5")
    return handler(dict(EVENT), None)


@pytest.mark.integration
def test_mariadb_without_statistics_says_what_to_turn_on(
    mariadb: ServerDatabase, slack: WebhookStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = sa.create_engine(mariadb.admin_url, poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        status = {
            r[0]: r[1]
            for r in conn.exec_driver_sql(
                "SHOW GLOBAL VARIABLES WHERE Variable_name IN "
                "('performance_schema', 'slow_query_log', 'log_output')"
            )
        }
    admin.dispose()
    if status["performance_schema"] == "ON" or (
        status["slow_query_log"] == "ON" and "TABLE" in status["log_output"]
    ):
        pytest.skip(f"this server keeps statement statistics already: {status}")
    result = _run_handler(mariadb, slack, monkeypatch)
    assert result["source"] == "" and result["statements"] == 0
    (message,) = slack.wait_for(1)
    assert "performance_schema is OFF" in message["blocks"][-1]["text"]["text"]
    assert "log_output='TABLE'" in message["blocks"][-1]["text"]["text"]


@pytest.fixture
def slow_log_table(mariadb: ServerDatabase) -> Iterator[sa.Engine]:
    """The server's slow log as a table for the test, then as it was; a session logging all."""
    admin = sa.create_engine(mariadb.admin_url, poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        before = {
            r[0]: r[1]
            for r in conn.exec_driver_sql(
                "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('slow_query_log', 'log_output')"
            )
        }
        conn.exec_driver_sql("SET GLOBAL log_output = 'FILE,TABLE'")
        conn.exec_driver_sql("SET GLOBAL slow_query_log = ON")
    engine = sa.create_engine(mariadb.url, poolclass=sa.pool.NullPool)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f"SET GLOBAL slow_query_log = {before['slow_query_log']}")
            conn.exec_driver_sql(f"SET GLOBAL log_output = '{before['log_output']}'")
        admin.dispose()


@pytest.mark.integration
def test_mariadb_slow_log_is_reported_normalised(
    mariadb: ServerDatabase,
    slow_log_table: sa.Engine,
    slack: WebhookStandIn,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with slow_log_table.connect() as conn:
        conn.exec_driver_sql("SET SESSION long_query_time = 0")  # this session's statements only
        conn.exec_driver_sql("CREATE TABLE secrets (id INT PRIMARY KEY, word VARCHAR(64))")
        conn.exec_driver_sql(f"INSERT INTO secrets VALUES (1, '{SECRET}'), (2, 'other')")
        for n in range(3):
            conn.exec_driver_sql(
                f"SELECT word, SLEEP(0.05) FROM secrets WHERE word = '{SECRET}' AND id IN (1, {n})"
            )
        conn.commit()
    result = _run_handler(mariadb, slack, monkeypatch)
    assert result["source"] == "mysql.slow_log"
    (message,) = slack.wait_for(1)
    assert SECRET not in str(message)
    first = message["blocks"][2]["text"]["text"]
    assert first.startswith("*1.* 3 calls")  # the three SELECTs, one normalised statement
    assert "SELECT word, SLEEP(?) FROM secrets WHERE word = ? AND id IN (...)" in first
    assert message["text"].startswith("[enphoto/test] Slow queries of enphoto/test (mariadb)")


@pytest.mark.integration
def test_postgres_without_pg_stat_statements_says_so(
    postgres: ServerDatabase, slack: WebhookStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _run_handler(postgres, slack, monkeypatch)
    assert (result["engine"], result["source"], result["statements"]) == ("postgresql", "", 0)
    assert "not installed" in str(result["note"])
    (message,) = slack.wait_for(1)
    assert "CREATE EXTENSION pg_stat_statements" in message["blocks"][-1]["text"]["text"]


@pytest.mark.integration
def test_postgres_with_the_extension_created_but_not_loaded_says_so(
    postgres: ServerDatabase, slack: WebhookStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = sa.create_engine(postgres.url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        conn.commit()
        loaded = conn.exec_driver_sql("SHOW shared_preload_libraries").scalar() or ""
    engine.dispose()
    if "pg_stat_statements" in loaded:
        pytest.skip("this server preloads pg_stat_statements: the loaded path applies")
    result = _run_handler(postgres, slack, monkeypatch)
    assert (result["source"], result["statements"]) == ("", 0)
    (message,) = slack.wait_for(1)
    assert "shared_preload_libraries" in message["blocks"][-1]["text"]["text"]


@pytest.mark.integration
def test_a_refused_post_fails_the_invocation(
    slack: WebhookStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slack answering an error fails the handler, so Lambda tries the event again."""
    slack.failures_left = 1
    monkeypatch.setenv("BAKUSOKU_DATABASE_URL", "sqlite://")
    monkeypatch.setenv("BAKUSOKU_SLACK_WEBHOOK_URL", slack.url)
    with pytest.raises(Exception, match="HTTP 500"):
        handler(dict(EVENT), None)
    monkeypatch.delenv("BAKUSOKU_SLACK_WEBHOOK_URL")
    monkeypatch.setenv("BAKUSOKU_SLACK_WEBHOOK_SECRET_ARN", "")
    with pytest.raises(ConfigError, match="no Slack webhook"):
        handler(dict(EVENT), None)
