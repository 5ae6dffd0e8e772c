"""The deployment's engine on AWS: TLS to the database, and a rotated secret re-read once.

Real servers on loopback: a private MariaDB with TLS (tests/db/tls_server.py) and the machine's
MariaDB; the database secret lives in moto's Secrets Manager, served on loopback. The shared
PostgreSQL trusts every loopback login (pg_hba ``trust``), so a password change cannot be seen
there and the rotation runs on MariaDB only.
"""

from __future__ import annotations

import json
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning
from moto.server import ThreadedMotoServer

from bakusoku.config import Settings
from bakusoku.db.deployment import deployment_engine, deployment_tls, rds_ca_bundle
from bakusoku.db.engine import TlsOptions, create_db_engine, login_rereads
from tests.conftest import free_port
from tests.db.servers import MARIADB_ADMIN, create_database
from tests.db.tls_server import CertificateAuthority, TlsMariaDB, start_tls_mariadb

REGION = "ap-northeast-1"


def test_the_shipped_rds_bundle_is_the_default_authority_of_a_secrets_database() -> None:
    tls = deployment_tls(Settings(database_secret_arn="arn:aws:secretsmanager:x:1:secret:db"))
    assert tls == TlsOptions("verify-full", str(rds_ca_bundle()))
    with warnings.catch_warnings():  # one RDS root has a serial number RFC 5280 disallows
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        certificates = x509.load_pem_x509_certificates(rds_ca_bundle().read_bytes())
    subjects = [c.subject.rfc4514_string() for c in certificates]
    assert any("Amazon RDS ap-northeast-1 Root CA RSA2048 G1" in s for s in subjects)
    assert any("CN=Amazon Root CA 1" in s for s in subjects)  # RDS Proxy's certificates


def test_a_url_in_the_settings_keeps_its_own_tls_options() -> None:
    assert deployment_tls(Settings(database_url="postgresql://u@h/db")) is None


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsMariaDB]:
    server = start_tls_mariadb(tmp_path_factory.mktemp("tls-mariadb"))
    server.admin(
        "CREATE DATABASE app; CREATE USER 'app'@'%' IDENTIFIED BY 'first-password' REQUIRE SSL; "
        "GRANT ALL ON app.* TO 'app'@'%'"
    )
    yield server
    server.stop()


def _tls_url(server: TlsMariaDB, password: str = "first-password") -> str:
    return f"mysql+pymysql://app:{password}@127.0.0.1:{server.port}/app"


def _cipher(engine: sa.Engine) -> str:
    try:
        with engine.connect() as conn:
            row = conn.exec_driver_sql("SHOW SESSION STATUS LIKE 'Ssl_cipher'").one()
            return str(row[1])
    finally:
        engine.dispose()


@pytest.mark.integration
def test_verify_full_connects_to_a_server_its_authority_signed(tls_server: TlsMariaDB) -> None:
    tls = TlsOptions("verify-full", str(tls_server.authority.path))
    assert _cipher(create_db_engine(_tls_url(tls_server), tls=tls))


@pytest.mark.integration
def test_verify_full_refuses_a_server_another_authority_signed(
    tls_server: TlsMariaDB, tmp_path: Path
) -> None:
    stranger = CertificateAuthority.create(tmp_path, "stranger")
    engine = create_db_engine(
        _tls_url(tls_server), tls=TlsOptions("verify-full", str(stranger.path))
    )
    with pytest.raises(sa.exc.OperationalError, match="CERTIFICATE_VERIFY_FAILED"):
        _cipher(engine)


@pytest.mark.integration
def test_require_encrypts_and_off_is_refused_by_a_user_that_requires_tls(
    tls_server: TlsMariaDB,
) -> None:
    assert _cipher(create_db_engine(_tls_url(tls_server), tls=TlsOptions("require")))
    with pytest.raises(sa.exc.OperationalError, match="1045"):
        _cipher(create_db_engine(_tls_url(tls_server), tls=TlsOptions("off")))


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto's Secrets Manager on loopback; the code under test reaches it through AWS_ENDPOINT_URL."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for name, value in {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    yield boto3.client("secretsmanager", region_name=REGION, endpoint_url=endpoint)
    server.stop()


@dataclass
class Login:
    """A database user whose password the test changes, as RDS rotation does."""

    settings: Settings
    change_password: Any  # (new password) -> None


def _rds_secret(client: Any, username: str, password: str) -> str:
    # What RDS manages: username and password only; where the database is comes from settings.
    secret = json.dumps({"username": username, "password": password})
    return str(client.create_secret(Name=f"rds-{uuid.uuid4().hex[:8]}", SecretString=secret)["ARN"])


@pytest.fixture(params=["mariadb", "mariadb-tls"])
def login(request: pytest.FixtureRequest, secrets: Any, tmp_path_factory: Any) -> Iterator[Login]:
    user, password = f"rot_{uuid.uuid4().hex[:8]}", "first-password"
    arn = _rds_secret(secrets, user, password)
    if request.param == "mariadb":
        database = create_database("mariadb")
        admin = sa.create_engine(MARIADB_ADMIN, isolation_level="AUTOCOMMIT")  # '%%': DBAPI
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE USER '{user}'@'%%' IDENTIFIED BY '{password}'")
            conn.exec_driver_sql(f"GRANT ALL ON {database.name}.* TO '{user}'@'%%'")
        host = sa.make_url(MARIADB_ADMIN)
        settings = Settings(
            database_secret_arn=arn,
            region=REGION,
            database_engine="mariadb",
            database_host=host.host or "127.0.0.1",
            database_port=host.port or 3306,
            database_name=database.name,
            database_tls="off",  # the shared server has no TLS
        )

        def change(new: str) -> None:
            with admin.connect() as conn:
                conn.exec_driver_sql(f"ALTER USER '{user}'@'%%' IDENTIFIED BY '{new}'")

        yield Login(settings, change)
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP USER '{user}'@'%%'")
        admin.dispose()
        database.drop()
        return
    server: TlsMariaDB = request.getfixturevalue("tls_server")
    server.admin(
        f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}' REQUIRE SSL; "
        f"GRANT ALL ON app.* TO '{user}'@'%'"
    )
    settings = Settings(
        database_secret_arn=arn,
        region=REGION,
        database_engine="mysql",
        database_host="127.0.0.1",
        database_port=server.port,
        database_name="app",
        database_ca_bundle=str(server.authority.path),  # verify-full, the default
    )
    yield Login(
        settings, lambda new: server.admin(f"ALTER USER '{user}'@'%' IDENTIFIED BY '{new}'")
    )
    server.admin(f"DROP USER '{user}'@'%'")


def _select_one(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT 1").scalar_one())


@pytest.mark.integration
def test_a_rotated_password_is_read_again_after_one_refused_login(
    login: Login, secrets: Any
) -> None:
    engine = deployment_engine(login.settings, pool_size=1)
    try:
        assert _select_one(engine) == 1 and login_rereads(engine) == 0
        login.change_password("second-password")  # the rotation's setSecret step...
        secrets.put_secret_value(  # ...and its finishSecret: the secret's current version
            SecretId=login.settings.database_secret_arn,
            SecretString=json.dumps(
                {"username": _user(secrets, login), "password": "second-password"}
            ),
        )
        engine.dispose()  # a new connection, as a new invocation would open
        assert _select_one(engine) == 1
        assert login_rereads(engine) == 1
        engine.dispose()
        assert _select_one(engine) == 1 and login_rereads(engine) == 1  # the new login is kept
    finally:
        engine.dispose()


@pytest.mark.integration
def test_a_password_the_secret_does_not_know_fails_after_one_reread(
    login: Login, secrets: Any
) -> None:
    engine = deployment_engine(login.settings, pool_size=1)
    try:
        login.change_password("changed-behind-the-secrets-back")
        with pytest.raises(sa.exc.OperationalError, match="1045"):
            _select_one(engine)
        assert login_rereads(engine) == 1
    finally:
        engine.dispose()


def _user(client: Any, login: Login) -> str:
    value = client.get_secret_value(SecretId=login.settings.database_secret_arn)
    return str(json.loads(value["SecretString"])["username"])


def test_iam_auth_signs_a_token_for_the_secrets_user_and_needs_tls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bakusoku.db.deployment import iam_token_source
    from bakusoku.db.errors import UnsupportedDatabaseError

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    settings = Settings(region=REGION, database_iam_auth=True)
    url = "postgresql://app:unused@proxy.example.internal/photos"
    token = iam_token_source(settings, url)()
    assert token.startswith("proxy.example.internal:5432/?Action=connect&DBUser=app&")
    assert "X-Amz-Signature=" in token
    with pytest.raises(UnsupportedDatabaseError, match="needs TLS"):
        iam_token_source(Settings(region=REGION, database_tls="off"), url)
