"""Settings: every name in one place, resolved argument → environment → file → default.

``bakusoku up`` works with no file at all; a ``bakusoku.yml`` (or ``--config``) and ``BAKUSOKU_*``
environment variables override the defaults, and command-line arguments override both.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bakusoku.errors import BakusokuError

MIB = 1024 * 1024


class ConfigError(BakusokuError):
    """Raised when a setting has a bad value; the message quotes the key and the value."""

    code = "config.invalid"


@dataclass(frozen=True)
class Settings:
    """Everything a bakusoku deployment needs to know, with embedded defaults."""

    data_dir: Path = Path(".bakusoku")
    host: str = "127.0.0.1"
    port: int = 8080
    store_port: int = 0  # 0: the port after the API's
    workers: int = 0  # 0: one per CPU core
    store_processes: int = 1  # processes serving the object store endpoint
    database_url: str = ""  # empty: SQLite in data_dir
    # Ceiling on database connections of all worker processes together (RDS Proxy's role locally;
    # 0: none, e.g. on AWS behind RDS Proxy); the API/engine process adds at most db_pool_size.
    db_max_connections: int = 10
    db_wait_seconds: int = 10  # wait for a free connection slot, then a retryable error
    db_pool_size: int = 5
    db_retry_seconds: int = 10  # how long a task retries a lost database before failing the try
    bucket: str = "bakusoku"
    region: str = "us-east-1"
    upload_prefix: str = "uploads/"
    rendition_prefix: str = "renditions/"
    max_upload_bytes: int = 20 * MIB
    presign_expiry_seconds: int = 15 * 60  # the default; a request may ask for less, at most 1 h
    rendition_url_expiry_seconds: int = 10 * 60
    access_key_id: str = ""  # empty: generated once and kept in data_dir
    secret_access_key: str = ""
    public_api_url: str = ""  # empty: http://host:port
    public_store_url: str = ""  # empty: http://host:store_port
    # Access control (bakusoku/auth): the operators' admin token (a secret; empty: `bakusoku up`
    # keeps a generated one in data_dir/admin-token) and presign requests allowed per key.
    admin_token: str = ""
    presign_rate_per_minute: int = 600  # 0: no limit
    presign_burst: int = 120
    # Triggers: the route upload events take to the pipeline (bakusoku/local/routes.py), the
    # stuck-photo sweep's schedule (rate(...) or cron(...); empty: no sweep) and its threshold.
    trigger_route: str = "eventbridge"
    sweep_schedule: str = "rate(5 minutes)"
    sweep_threshold_seconds: int = 900
    # Operations (bakusoku/ops): names in alerts and traces, history retention, alerts, telemetry.
    service_name: str = "bakusoku"
    stage: str = "local"
    history_retention_days: int = 90  # executions ended longer ago are deleted (0: keep forever)
    slack_webhook_url: str = ""  # a secret: never logged
    alert_webhook_url: str = ""  # generic JSON webhook, signed with alert_webhook_secret
    alert_webhook_secret: str = ""
    alert_burst_threshold: int = 5  # failures in one minute past which a summary replaces them
    slack_webhook_secret_arn: str = ""  # Secrets Manager secret holding the Slack webhook URL (AWS)
    otlp_endpoint: str = ""  # e.g. http://127.0.0.1:4318: export traces over OTLP/HTTP
    log_format: str = "auto"  # auto (text on a terminal, else json) | json | text
    # Imaging: see bakusoku/pipeline/handlers/imaging_settings.py for how these are read.
    max_image_pixels: int = 100_000_000  # decompression-bomb limit, checked on the header
    min_print_short_edge: int = 300  # px; smaller photos fail image.too_small (0: no check)
    allow_tiff: bool = False
    store_gps: bool = False  # GPS position on the photo row; never in any rendition
    mark_duplicates: bool = True  # same sha256 in the same album: status duplicate, no work
    face_detection: bool = True  # face-aware print trim when the 'faces' extra is installed
    square_print: str = "portrait"  # or landscape: the print orientation of square photos
    extra_prints: str = ""  # e.g. "print-2l=127:178,print-6x4=4:6"
    browsing_renditions: str = "preview=1600,thumb=400"  # name=long edge, ...
    browsing_formats: str = "jpeg,webp"
    object_store: str = "local"  # local: files under data_dir; s3: Amazon S3 (boto3)
    database_secret_arn: str = ""  # Secrets Manager secret holding the database URL (AWS)
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def effective_store_port(self) -> int:
        return self.store_port or self.port + 1

    @property
    def api_url(self) -> str:
        return self.public_api_url or f"http://{_url_host(self.host)}:{self.port}"

    @property
    def store_url(self) -> str:
        return self.public_store_url or f"http://{_url_host(self.host)}:{self.effective_store_port}"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'bakusoku.db').resolve()}"

    @property
    def effective_workers(self) -> int:
        return self.workers or max(os.cpu_count() or 1, 1)


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


_FIELDS = {f.name: f for f in dataclasses.fields(Settings) if f.name != "extra"}


def _coerce(name: str, value: Any) -> Any:
    kind = type(getattr(Settings(), name))
    try:
        if kind is bool:
            if isinstance(value, str):
                if value.lower() not in ("1", "true", "yes", "on", "0", "false", "no", "off", ""):
                    raise ValueError(value)
                return value.lower() in ("1", "true", "yes", "on")
            return bool(value)
        if kind is int:
            number = int(value)
            if number < 0:
                raise ValueError(value)
            return number
        if kind is Path or name == "data_dir":
            return Path(value).expanduser()
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"setting {name!r} has the bad value {value!r}: expected a {kind.__name__}"
            + (" (not negative)" if kind is int else "")
        ) from None


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    values = {}
    for name in _FIELDS:
        env_name = f"BAKUSOKU_{name.upper()}"
        if env_name in environ:
            values[name] = environ[env_name]
    return values


def _from_file(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the configuration file {str(path)!r}: {exc}") from exc
    if not isinstance(loaded, dict):
        raise ConfigError(f"configuration file {str(path)!r} must hold a mapping of settings")
    unknown = sorted(set(loaded) - set(_FIELDS) - {"services", "functions"})
    if unknown:
        raise ConfigError(
            f"configuration file {str(path)!r} has unknown settings {unknown}; "
            f"known settings are {sorted(_FIELDS)}"
        )
    return dict(loaded)


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve settings: ``overrides`` (arguments) → environment → file → defaults."""
    environ = os.environ if environ is None else environ
    if config_file is None and environ.get("BAKUSOKU_CONFIG"):
        config_file = Path(environ["BAKUSOKU_CONFIG"])
    if config_file is None and Path("bakusoku.yml").is_file():
        config_file = Path("bakusoku.yml")
    file_values = _from_file(config_file) if config_file else {}
    extra: dict[str, Any] = {
        k: file_values.pop(k) for k in ("services", "functions") if k in file_values
    }
    merged: dict[str, Any] = {**file_values, **_from_env(environ)}
    merged.update({k: v for k, v in (overrides or {}).items() if v is not None})
    values = {name: _coerce(name, value) for name, value in merged.items()}
    return Settings(**values, extra=extra)


def ensure_credentials(settings: Settings) -> Settings:
    """Give the local store an access key pair, generated once and kept in the data directory."""
    if settings.access_key_id and settings.secret_access_key:
        return settings
    path = settings.data_dir / "credentials.yml"
    if path.is_file():
        stored = yaml.safe_load(path.read_text()) or {}
    else:
        stored = {
            "access_key_id": "BKSK" + secrets.token_hex(8).upper(),
            "secret_access_key": secrets.token_urlsafe(30),
        }
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(yaml.safe_dump(stored))
        tmp.chmod(0o600)
        os.replace(tmp, path)
    return dataclasses.replace(
        settings,
        access_key_id=stored["access_key_id"],
        secret_access_key=stored["secret_access_key"],
    )


# Settings that are secrets of the process that sends alerts or checks the admin token. They are
# never handed to a worker, the store's process or a deployed function's environment.
SECRET_VARIABLES = frozenset(
    {
        "BAKUSOKU_SLACK_WEBHOOK_URL",
        "BAKUSOKU_ALERT_WEBHOOK_URL",
        "BAKUSOKU_ALERT_WEBHOOK_SECRET",
        "BAKUSOKU_ADMIN_TOKEN",
    }
)


def settings_to_environment(settings: Settings) -> dict[str, str]:
    """The environment that reproduces ``settings`` in another process (worker processes, Lambda)."""
    env = {}
    for name in _FIELDS:
        if name == "admin_token":  # only the API checks it: never handed to other processes
            continue
        value = getattr(settings, name)
        env[f"BAKUSOKU_{name.upper()}"] = (
            ("1" if value else "0") if isinstance(value, bool) else str(value)
        )
    env["BAKUSOKU_DATA_DIR"] = str(settings.data_dir.resolve())
    env["BAKUSOKU_DATABASE_URL"] = settings.effective_database_url
    return env
