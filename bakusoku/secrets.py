"""AWS Secrets Manager: a secret's text, the database URL a secret describes, and the secret settings
kept in secrets on AWS (the one reader of all three)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote

import botocore.session
from botocore.exceptions import BotoCoreError, ClientError

from bakusoku.config import ConfigError, Settings


# Engines of RDS-managed secrets → SQLAlchemy dialects with pure-Python drivers (bundled).
class SecretError(ConfigError):
    """A secret cannot be read, or does not hold what it must (a URL or a database's fields)."""

    code = "config.secret"


_DIALECTS = {
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
    "aurora-mysql": "mysql+pymysql",
    "postgres": "postgresql+psycopg",
    "aurora-postgresql": "postgresql+psycopg",
}


def secret_string(arn: str, region: str) -> str:
    """The SecretString of ``arn``; SecretError says which secret and why it failed."""
    client: Any = botocore.session.get_session().create_client("secretsmanager", region_name=region)
    try:
        value = client.get_secret_value(SecretId=arn)
    except (ClientError, BotoCoreError) as exc:
        raise SecretError(
            f"cannot read the secret {arn}: {exc}; check that it exists and that the function's "
            "role may call secretsmanager:GetSecretValue on it"
        ) from exc
    text = value.get("SecretString")
    if not isinstance(text, str):
        raise SecretError(f"the secret {arn} holds no SecretString; store the value as text")
    return text


def database_url_from_secret(
    arn: str, region: str, connection: Mapping[str, Any] | None = None
) -> str:
    """A SQLAlchemy URL from a secret (see :func:`database_url_from_text`)."""
    return database_url_from_text(secret_string(arn, region).strip(), arn, connection)


def database_url_from_text(text: str, arn: str, connection: Mapping[str, Any] | None = None) -> str:
    """A SQLAlchemy URL from a secret's text: ``{"url": ...}``, a plain URL, or RDS's fields.

    A secret RDS manages for an instance holds only ``username`` and ``password``; ``connection``
    (``engine``, ``host``, ``port``, ``dbname`` from the settings) supplies the rest and wins over
    the secret's own fields, so the same secret can be used through an RDS Proxy endpoint.
    """
    if "://" in text and not text.startswith("{"):
        return text
    try:
        fields = json.loads(text)
    except ValueError:
        fields = None
    if not isinstance(fields, dict):
        raise SecretError(
            f"the secret {arn} is neither a database URL nor a JSON object with 'url' or "
            "'username' and 'password'"
        )
    if isinstance(fields.get("url"), str):
        return str(fields["url"])
    fields = {**fields, **{k: v for k, v in (connection or {}).items() if v}}
    dialect = _DIALECTS.get(str(fields.get("engine", "")))
    missing = [k for k in ("engine", "host", "username", "password") if k not in fields]
    if dialect is None or missing:
        raise SecretError(
            f"the secret {arn} and the settings do not name a database (missing: "
            f"{missing or ['a known engine']}): the secret holds 'username' and 'password' (or "
            "'url'); 'engine' (one of "
            f"{sorted(_DIALECTS)}), 'host', 'port' and 'dbname' come from the secret or from the "
            "settings database_engine, database_host, database_port, database_name"
        )
    user = quote(str(fields["username"]), safe="")
    password = quote(str(fields["password"]), safe="")
    port = f":{fields['port']}" if fields.get("port") else ""
    database = str(fields.get("dbname") or fields.get("dbInstanceIdentifier") or "bakusoku")
    return f"{dialect}://{user}:{password}@{fields['host']}{port}/{database}"


def database_url(settings: Settings) -> str:
    """The deployment's database URL: read from its secret when ``database_secret_arn`` is set (AWS)."""
    if settings.database_secret_arn:
        connection = {
            "engine": settings.database_engine,
            "host": settings.database_host,
            "port": settings.database_port,
            "dbname": settings.database_name,
        }
        return database_url_from_secret(settings.database_secret_arn, settings.region, connection)
    return settings.effective_database_url


def with_secrets(
    settings: Settings,
    names: Iterable[str],
    read: Callable[[str, str], str] = secret_string,
) -> Settings:
    """``settings`` with each secret setting of ``names`` read from the secret its
    ``{name}_secret_arn`` setting names (AWS: the template sets the ARNs, never the values).

    A name whose ARN is not set keeps its setting. A secret holds the value as its text; one that
    is empty is a SecretError naming the secret (never a value: no secret reaches a message).
    ``read`` is the reader of one secret's text (Secrets Manager's ``GetSecretValue``).
    """
    read_values: dict[str, Any] = {}
    for name in names:
        arn = getattr(settings, f"{name}_secret_arn")
        if not arn:
            continue
        text = read(arn, settings.region).strip()
        if not text:
            raise SecretError(f"the secret {arn} is empty: store the {name} as its text")
        read_values[name] = text
    return dataclasses.replace(settings, **read_values) if read_values else settings
