"""The engine of a deployment's own database, built from its settings.

Locally the settings' URL is used as it is. On AWS the URL comes from the database secret
(``bakusoku.secrets.database_url``), and the engine adds what RDS needs: TLS, verified against the
Amazon RDS certificate authorities shipped beside this module (``rds-ca-bundle.pem``, or the file
``database_ca_bundle`` names); the secret read once more when the server refuses the login, so a
rotated password works without waiting for new execution environments; and, with
``database_iam_auth``, an IAM authentication token as the password of each new connection (RDS
Proxy or RDS IAM database authentication).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import botocore.session
import sqlalchemy as sa

from bakusoku.config import Settings
from bakusoku.db.engine import Credentials, TlsOptions, create_db_engine, normalize_url
from bakusoku.db.errors import UnsupportedDatabaseError
from bakusoku.db.gate import ConnectionGate
from bakusoku.faults import FaultControl
from bakusoku.secrets import database_url

RDS_CA_BUNDLE = "rds-ca-bundle.pem"
_DEFAULT_PORTS = {"mysql": 3306, "mariadb": 3306, "postgresql": 5432}


def rds_ca_bundle() -> Path:
    """The Amazon RDS (and RDS Proxy) certificate authorities shipped in the package."""
    return Path(str(resources.files("bakusoku.db") / RDS_CA_BUNDLE))


def deployment_tls(settings: Settings) -> TlsOptions | None:
    """TLS to the database a secret names; None for a URL in the settings (it says its own)."""
    if not settings.database_secret_arn:
        return None
    return TlsOptions(settings.database_tls, settings.database_ca_bundle or str(rds_ca_bundle()))


def iam_token_source(settings: Settings, url: str) -> Callable[[], str]:
    """A new RDS IAM authentication token (valid 15 minutes) for the login ``url`` names."""
    if settings.database_tls == "off":
        raise UnsupportedDatabaseError(
            "database_iam_auth needs TLS: set database_tls to verify-full (or require)"
        )
    parsed = normalize_url(url)
    client: Any = botocore.session.get_session().create_client("rds", region_name=settings.region)
    port = parsed.port or _DEFAULT_PORTS[parsed.get_backend_name()]

    def token() -> str:
        return str(
            client.generate_db_auth_token(
                DBHostname=parsed.host,
                Port=port,
                DBUsername=parsed.username,
                Region=settings.region,
            )
        )

    return token


def deployment_engine(
    settings: Settings,
    *,
    pool_size: int = 5,
    gate: ConnectionGate | None = None,
    faults: FaultControl | None = None,
) -> sa.Engine:
    """The engine of the deployment's database (see the module's description); ``faults``: the
    chaos experiments' faults it obeys (``bakusoku up``'s workers)."""
    url = database_url(settings)
    if not settings.database_secret_arn:
        return create_db_engine(url, pool_size=pool_size, gate=gate, faults=faults)
    credentials = Credentials(
        password=iam_token_source(settings, url) if settings.database_iam_auth else None,
        reread=lambda: database_url(settings),
    )
    return create_db_engine(
        url,
        pool_size=pool_size,
        gate=gate,
        tls=deployment_tls(settings),
        credentials=credentials,
        faults=faults,
    )
