"""The database URL a secret describes, with the settings supplying what an RDS-managed secret
lacks (no I/O: the secret's text is given)."""

from __future__ import annotations

import json

import pytest

from bakusoku.secrets import SecretError, database_url_from_text

ARN = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:rds!db-1234-AbCdEf"
MANAGED = json.dumps({"username": "photo", "password": "p@ss/word"})  # what RDS keeps


def test_an_rds_managed_secret_takes_where_from_the_settings() -> None:
    connection = {"engine": "postgres", "host": "db.internal", "port": 5432, "dbname": "photos"}
    assert (
        database_url_from_text(MANAGED, ARN, connection)
        == "postgresql+psycopg://photo:p%40ss%2Fword@db.internal:5432/photos"
    )
    mysql = {"engine": "mysql", "host": "db.internal", "port": 0, "dbname": ""}
    assert database_url_from_text(MANAGED, ARN, mysql) == (
        "mysql+pymysql://photo:p%40ss%2Fword@db.internal/bakusoku"
    )


def test_the_settings_win_over_the_secret_fields() -> None:
    """The same secret through an RDS Proxy: the proxy's host, the instance's credentials."""
    full = json.dumps(
        {
            "engine": "mariadb",
            "host": "instance.rds.example",
            "port": 3306,
            "username": "u",
            "password": "p",
            "dbname": "photos",
        }
    )
    assert (
        database_url_from_text(full, ARN) == "mysql+pymysql://u:p@instance.rds.example:3306/photos"
    )
    proxy = {"engine": "", "host": "proxy.rds.example", "port": 0, "dbname": ""}
    assert database_url_from_text(full, ARN, proxy) == (
        "mysql+pymysql://u:p@proxy.rds.example:3306/photos"
    )


def test_a_managed_secret_without_settings_says_what_to_set() -> None:
    with pytest.raises(SecretError) as raised:
        database_url_from_text(MANAGED, ARN)
    message = str(raised.value)
    assert "missing: ['engine', 'host']" in message
    assert "database_engine, database_host" in message


def test_a_url_secret_is_used_as_it_is() -> None:
    url = "postgresql+psycopg://a:b@h/d"
    assert database_url_from_text(url, ARN, {"host": "other"}) == url
    assert database_url_from_text(json.dumps({"url": url}), ARN, {"host": "other"}) == url
