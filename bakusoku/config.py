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
    database_url: str = ""  # empty: SQLite in data_dir
    bucket: str = "bakusoku"
    region: str = "us-east-1"
    upload_prefix: str = "uploads/"
    rendition_prefix: str = "renditions/"
    max_upload_bytes: int = 20 * MIB
    presign_expiry_seconds: int = 15 * 60
    rendition_url_expiry_seconds: int = 10 * 60
    access_key_id: str = ""  # empty: generated once and kept in data_dir
    secret_access_key: str = ""
    public_api_url: str = ""  # empty: http://host:port
    public_store_url: str = ""  # empty: http://host:store_port
    bench_routes: bool = False
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


def settings_to_environment(settings: Settings) -> dict[str, str]:
    """The environment that reproduces ``settings`` in another process (worker processes, Lambda)."""
    env = {}
    for name in _FIELDS:
        value = getattr(settings, name)
        env[f"BAKUSOKU_{name.upper()}"] = (
            ("1" if value else "0") if isinstance(value, bool) else str(value)
        )
    env["BAKUSOKU_DATA_DIR"] = str(settings.data_dir.resolve())
    env["BAKUSOKU_DATABASE_URL"] = settings.effective_database_url
    return env
