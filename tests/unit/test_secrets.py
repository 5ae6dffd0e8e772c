"""The database URL a secret describes, with the settings supplying what an RDS-managed secret
lacks, and the secret settings read from the secrets their ``*_secret_arn`` settings name (no
I/O: the secret's text is given)."""

from __future__ import annotations

import json

import pytest

from bakusoku.config import CHANNEL_SECRETS, Settings
from bakusoku.secrets import SecretError, database_url_from_text, with_secrets

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


class Vault:
    """Secrets Manager's GetSecretValue as :func:`with_secrets` calls it: ARN and region in, the
    SecretString out; it keeps which secrets were read, and where."""

    def __init__(self, texts: dict[str, str]) -> None:
        self.texts = texts
        self.read: list[tuple[str, str]] = []

    def __call__(self, arn: str, region: str) -> str:
        self.read.append((arn, region))
        return self.texts[arn]


def _arn(name: str) -> str:
    return f"arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:enphoto/{name}-AbCdEf"


def test_channel_secrets_are_read_from_the_secrets_their_settings_name() -> None:
    settings = Settings(
        region="ap-northeast-1",
        line_channel_access_token_secret_arn=_arn("line-token"),
        smtp_password_secret_arn=_arn("smtp"),
        vapid_private_key_secret_arn=_arn("vapid"),
        smtp_host="smtp.example.com",
    )
    vault = Vault(
        {_arn("line-token"): "tok-123\n", _arn("smtp"): " pw ", _arn("vapid"): "-----PEM-----"}
    )

    read = with_secrets(
        settings, ("line_channel_access_token", "smtp_password", "line_channel_secret"), vault
    )

    assert read.line_channel_access_token == "tok-123"  # white space around it trimmed
    assert read.smtp_password == "pw"
    assert read.line_channel_secret == ""  # its ARN is not set: the setting stays
    assert read.vapid_private_key == ""  # not asked for: not read
    assert read.smtp_host == "smtp.example.com"  # the rest as it was
    assert vault.read == [
        (_arn("line-token"), "ap-northeast-1"),
        (_arn("smtp"), "ap-northeast-1"),
    ]


def test_without_arns_nothing_is_read() -> None:
    settings = Settings(smtp_password="local")
    vault = Vault({})

    assert with_secrets(settings, CHANNEL_SECRETS, vault) is settings
    assert vault.read == []


def test_an_empty_secret_is_an_error_naming_the_secret_and_the_setting() -> None:
    settings = Settings(smtp_password_secret_arn=_arn("smtp"))

    with pytest.raises(SecretError) as raised:
        with_secrets(settings, ("smtp_password",), Vault({_arn("smtp"): "  \n"}))

    assert _arn("smtp") in str(raised.value) and "smtp_password" in str(raised.value)
