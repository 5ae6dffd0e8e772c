"""Settings: every name in one place, resolved argument → environment → file → default.

``bakusoku up``, the command line and the Lambda entry points all read their settings here.
``bakusoku up`` works with no file at all; a ``bakusoku.yml`` (or ``--config``) and ``BAKUSOKU_*``
environment variables override the defaults, and command-line arguments override both. The same
file's ``functions`` table and ``services`` mapping hold what differs per service and stage (function
sizes, log retention, CORS origins, secrets, VPC); ``stage_values`` and ``function_overrides``
resolve them, the stage over the service's ``defaults`` over the file's top level. Strings in the
file may read the environment with ``${env:NAME}`` or ``${env:NAME, default}`` (how CI supplies
per-stage values), resolved when the value is used.
"""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
from collections.abc import Collection, Mapping
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
    # Executions the embedded engine runs at once; the rest wait their turn (a Task's time limit
    # counts from when it is scheduled, so more in flight than the workers drain only time out).
    max_running_executions: int = 64
    # Where `bakusoku race prepare` keeps its capacity plans (empty: DATA_DIR/race-plans).
    race_plans_dir: str = ""
    store_processes: int = 1  # processes serving the object store endpoint
    # While uploads arrive, a new task of the embedded workers waits for them to pause, at most
    # this long (0: never): one machine acknowledges a burst before it processes it
    # (bakusoku/local/upload_priority.py).
    upload_priority_seconds: int = 5
    # Limits of the object store's port, per store process (bakusoku/storage/http_limits.py): a
    # request's head must arrive within the header timeout; a body within the body timeout plus one
    # second per store_body_min_bytes_per_second received (else S3's 400 RequestTimeout, nothing
    # stored); an idle keep-alive connection is closed after the idle timeout; past
    # store_max_connections open connections a new one gets S3's 503 SlowDown and is closed.
    store_header_timeout_seconds: int = 10
    store_body_timeout_seconds: int = 20
    store_body_min_bytes_per_second: int = 16 * 1024  # 20 MB in at most 20 + 1280 s
    store_idle_timeout_seconds: int = 5
    store_max_connections: int = 256  # 0: no cap
    store_max_header_bytes: int = 64 * 1024  # request line and headers (S3 allows 8 KB of metadata)
    database_url: str = ""  # empty: SQLite in data_dir
    # Ceiling on database connections of all worker processes together (RDS Proxy's role locally;
    # 0: none, e.g. on AWS behind RDS Proxy); the API/engine process adds at most db_pool_size.
    db_max_connections: int = 10
    db_wait_seconds: int = 10  # wait for a free connection slot, then a retryable error
    db_pool_size: int = 5
    db_retry_seconds: int = 10  # how long a task retries a lost database before failing the try
    # A statement of bakusoku up's API and engine that the server does not answer within this
    # fails as a lost connection (503 db.unavailable), rather than wait for a hung server forever.
    db_answer_timeout_seconds: int = 30
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
    # The API port's bounds (bakusoku/api/connections.py, bakusoku/api/limits.py): a request's
    # headers and its body must each arrive within their timeout (else 408 and the connection is
    # closed), a connection idle between requests is closed, JSON bodies are capped (413).
    api_header_timeout_seconds: int = 10
    api_body_timeout_seconds: int = 30
    api_idle_timeout_seconds: int = 5
    api_max_connections: int = 2048
    api_max_header_bytes: int = 64 * 1024  # request line and headers, like the store's
    api_max_body_bytes: int = 64 * 1024
    # Entry lists and timing results (CSV or JSON) of a race: 30,000 runners fit in ~2 MB.
    race_rows_max_bytes: int = 8 * 1024 * 1024
    # Race day: a bib read from a photo at this confidence or more is the photo's (bench/bibs.py:
    # wrong readings stay under 1 % of those kept); under it the photo is "bib unknown" for staff.
    bib_min_confidence: float = 0.9
    # What reads them (bakusoku/races/readers.py): embedded (PP-OCRv4, the 'bibs' extra) |
    # rekognition (Amazon Rekognition DetectText) | off (staff tag every race photo).
    bib_reader: str = "embedded"
    # Finisher certificates (races.certificate_door): on AWS the template sets the certificate
    # state machine's alias ARN for the functions that start it (the API, read-bibs); `bakusoku
    # up` sets the loopback port on which its engine is told a worker started one.
    certificate_state_machine_arn: str = ""
    # How often `bakusoku up` starts the certificates a failed start left out (empty: never; on
    # AWS, declare bakusoku.aws.certificate_catch_up.handler as a scheduled function: docs/races.md).
    certificate_catch_up_schedule: str = "rate(1 minute)"
    workflow_wake_port: int = 0
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
    # The configuration's own functions: Lambda retries a failed asynchronous invocation after
    # a minute and again two minutes later; `bakusoku up` waits this many seconds, then twice as
    # long (shorter only to watch a dead letter appear; AWS always waits 60).
    async_retry_seconds: int = 60
    # Chaos experiments (bakusoku/faults, `bakusoku chaos`): whether the admin token may inject
    # faults into this deployment (/v1/faults), and the longest a fault may last before it ends.
    fault_injection: bool = True
    fault_max_seconds: int = 300
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
    # JPEG prints cut on the original's blocks without re-encoding, when the 'lossless' extra is
    # installed (bakusoku/imaging/lossless.py); off: every print is encoded from the decode.
    lossless_prints: bool = True
    # Face search (bakusoku/faces): embedded (dlib vectors in our database) | rekognition (Amazon
    # Rekognition, one collection per service and album: docs/aws-faces.md) | off; faces of an
    # album are erased this many days after its sales window ends (0: never by age). The prefix of
    # Rekognition's collection ids, which the stack's roles are scoped to (empty:
    # {service_name}-{stage}-faces.).
    face_index: str = "embedded"
    face_retention_days: int = 90
    # How often `bakusoku up` erases the faces of albums past their retention (empty: never; on
    # AWS, declare bakusoku.aws.face_retention.handler as a scheduled function: docs/faces.md).
    face_retention_schedule: str = "rate(1 day)"
    face_collection_prefix: str = ""
    square_print: str = "portrait"  # or landscape: the print orientation of square photos
    extra_prints: str = ""  # e.g. "print-2l=127:178,print-6x4=4:6"
    # name=long edge, ...: one full-frame preview, also the source of most transforms; pages ask
    # /img for every other size and format (docs/transforms.md).
    browsing_renditions: str = "preview=1600"
    browsing_formats: str = "jpeg"
    # On-the-fly transforms (/img/...): the HMAC key of their URLs (a secret; empty: kept generated
    # in data_dir/transform-key) and the size cap of their disk cache in data_dir (0: no cache).
    transform_signing_key: str = ""
    transform_cache_mb: int = 256
    # Where pages fetch /img URLs from (e.g. the stack's CloudFront domain; empty: api_url), and
    # the largest answer sent inline (0: any): a larger one is stored beside the photo's
    # renditions (domain.keys.edge_key) and answered with a redirect to it, for the edge (Lambda
    # buffers at most 6 MB of response, base64 included).
    transform_url: str = ""
    transform_inline_max_bytes: int = 0
    # The watermark of sale previews (the transform preset 'proof'), tiled at this opacity (%).
    proof_watermark_text: str = "SAMPLE"
    proof_watermark_opacity: int = 35
    # Parents (bakusoku/auth/codes.py, sessions.py): album codes last album_code_days unless staff
    # say otherwise (at most album_code_max_days); a parent's session lasts parent_session_minutes
    # (never past its code); code guesses are limited per client address and, once the code's
    # first characters name an album, per album; reference photos are held in memory only.
    album_code_days: int = 30
    album_code_max_days: int = 365
    parent_session_minutes: int = 120
    code_attempts_per_minute: int = 10  # per client address; 0: no limit
    code_album_attempts_per_minute: int = 30  # wrong codes per album; 0: no limit
    parent_reference_max_bytes: int = 8 * MIB
    # Every session's reference photos held by one API process: past it, the least recently
    # used sessions' photos are dropped first (their pages send them again).
    parent_references_held_mb: int = 256
    # Race day: telling runners their photos and certificate are ready (bakusoku/races,
    # docs/races.md). A channel is on when its settings are: LINE with a channel access token
    # (and its channel secret for the webhook), e-mail with an SMTP host and sender, Web Push
    # always (its VAPID key: the setting, else generated in data_dir/vapid-key).
    line_channel_access_token: str = ""  # a secret
    line_channel_secret: str = ""  # a secret: checks the webhook's x-line-signature
    line_api_url: str = "https://api.line.me"
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_sender: str = ""  # e.g. "Shonan Marathon Photos <photos@example.com>"
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: str = ""  # a secret
    vapid_private_key: str = ""  # a secret: PEM, or base64url of the raw 32-byte P-256 key
    vapid_subject: str = "mailto:photos@example.com"  # who push services may contact
    runner_batch_seconds: int = 300  # photos of a bib announced once per window
    runner_link_days: int = 7  # how long a message's link opens the runner's gallery
    runner_session_hours: int = 12
    runner_attempts_per_hour: int = 10  # bib + surname tries per client address (and per bib)
    object_store: str = "local"  # local: files under data_dir; s3: Amazon S3 (boto3)
    database_secret_arn: str = ""  # Secrets Manager secret holding the database URL (AWS)
    # AWS only, set by the template in the API function's environment: the photo pipeline's state
    # machine (the API reads executions there) and the secret with the operators' admin token.
    state_machine_arn: str = ""
    admin_token_secret_arn: str = ""
    transform_signing_key_secret_arn: str = ""  # the secret holding transform_signing_key
    # The runner channels' secrets on AWS, each the secret holding that setting as its text (read by
    # the runner notifier, and the API for the LINE webhook and the Web Push key: docs/races.md).
    line_channel_access_token_secret_arn: str = ""
    line_channel_secret_secret_arn: str = ""
    smtp_password_secret_arn: str = ""
    vapid_private_key_secret_arn: str = ""
    # Where the secret's database is when the secret holds only username and password (as one RDS
    # manages does); set, each wins over the secret's own field (e.g. an RDS Proxy's host).
    database_engine: str = ""  # postgres | mysql | mariadb | aurora-postgresql | aurora-mysql
    database_host: str = ""
    database_port: int = 0  # 0: the engine's default
    database_name: str = ""
    # TLS to the database a secret names (AWS): verify-full checks the certificate and host name
    # against database_ca_bundle (empty: the Amazon RDS CA bundle shipped in bakusoku/db),
    # require encrypts without checking, off sends in the clear (a test database on loopback).
    database_tls: str = "verify-full"
    database_ca_bundle: str = ""
    database_iam_auth: bool = False  # connect with an IAM token (RDS Proxy or RDS IAM auth)
    lambda_architecture: str = "arm64"  # AWS: arm64 (Graviton) | x86_64, of every function
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def effective_store_port(self) -> int:
        return self.store_port or self.port + 1

    @property
    def api_url(self) -> str:
        return self.public_api_url or f"http://{_url_host(self.host)}:{self.port}"

    @property
    def transform_base_url(self) -> str:
        """Where signed ``/img`` URLs point: the edge in front of the transforms, else the API."""
        return (self.transform_url or self.api_url).rstrip("/")

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
# Parts of the file that are not settings of one process: resolved per service and stage.
_STRUCTURE = ("services", "functions", "state_machines")


def env_name(setting: str) -> str:
    """The environment variable of ``setting``: ``state_machine_arn`` → ``BAKUSOKU_STATE_MACHINE_ARN``."""
    return f"BAKUSOKU_{setting.upper()}"


def require(settings: Settings, setting: str) -> str:
    """The value of a text setting a deployment cannot run without; ConfigError names it if empty."""
    value = str(getattr(settings, setting))
    if not value:
        raise ConfigError(
            f"setting {setting!r} is empty: set {env_name(setting)} (on AWS the template sets it)"
        )
    return value


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
        if kind is float:
            share = float(value)
            if not 0.0 <= share <= 1.0:
                raise ValueError(value)
            return share
        if kind is Path or name == "data_dir":
            return Path(value).expanduser()
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"setting {name!r} has the bad value {value!r}: expected a {kind.__name__}"
            + (" (not negative)" if kind is int else "")
            + (" from 0 to 1" if kind is float else "")
        ) from None


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    return {name: environ[env_name(name)] for name in _FIELDS if env_name(name) in environ}


_ENV_REFERENCE = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?:\s*,\s*([^}]*))?\}")


def interpolate(value: Any, key: str, environ: Mapping[str, str]) -> Any:
    """``value`` with every ``${env:NAME}`` / ``${env:NAME, default}`` in its strings filled in."""
    if isinstance(value, str):

        def fill(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in environ:
                return environ[name]
            if default is None:
                raise ConfigError(
                    f"{key} has the value {value!r} but {name} is not set: export {name} or "
                    f"write ${{env:{name}, default}}"
                )
            return default.strip()

        return _ENV_REFERENCE.sub(fill, value)
    if isinstance(value, list):
        return [interpolate(v, f"{key}[{i}]", environ) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: interpolate(v, f"{key}.{k}", environ) for k, v in value.items()}
    return value


def _beside(machines: Any, folder: Path) -> Any:
    """The ``state_machines`` table with each relative ``definition`` read from ``folder``, the
    configuration file's own (wherever bakusoku runs from)."""
    if not isinstance(machines, Mapping):
        return machines  # refused, with its key, where the table is read (pipeline)
    return {
        name: (
            {**block, "definition": str(folder / block["definition"])}
            if isinstance(block, Mapping) and isinstance(block.get("definition"), str)
            else block
        )
        for name, block in machines.items()
    }


def _from_file(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the configuration file {str(path)!r}: {exc}") from exc
    if not isinstance(loaded, dict):
        raise ConfigError(f"configuration file {str(path)!r} must hold a mapping of settings")
    unknown = sorted(set(loaded) - set(_FIELDS) - set(_STRUCTURE))
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
    if config_file is None and environ.get(env_name("config")):
        config_file = Path(environ[env_name("config")])
    if config_file is None and Path("bakusoku.yml").is_file():
        config_file = Path("bakusoku.yml")
    file_values = _from_file(config_file) if config_file else {}
    extra: dict[str, Any] = {k: file_values.pop(k) for k in _STRUCTURE if k in file_values}
    if config_file is not None and "state_machines" in extra:
        extra["state_machines"] = _beside(extra["state_machines"], config_file.parent)
    file_values = {k: interpolate(v, k, environ) for k, v in file_values.items()}
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
    env_name(name)
    for name in (
        "slack_webhook_url",
        "alert_webhook_url",
        "alert_webhook_secret",
        "admin_token",
        "transform_signing_key",
        "line_channel_access_token",
        "line_channel_secret",
        "smtp_password",
        "vapid_private_key",
    )
)


def settings_to_environment(settings: Settings) -> dict[str, str]:
    """The environment that reproduces ``settings`` in another process (worker processes, Lambda)."""
    env = {}
    for name in _FIELDS:
        if name == "admin_token":  # only the API checks it: never handed to other processes
            continue
        value = getattr(settings, name)
        env[env_name(name)] = ("1" if value else "0") if isinstance(value, bool) else str(value)
    env[env_name("data_dir")] = str(settings.data_dir.resolve())
    env[env_name("database_url")] = settings.effective_database_url
    return env


# The runner channels' secret settings (docs/races.md) and the stage key of each one's secret.
CHANNEL_SECRETS = (
    "line_channel_access_token",
    "line_channel_secret",
    "smtp_password",
    "vapid_private_key",
)
CHANNEL_SECRET_ARNS = tuple(f"{name}_secret_arn" for name in CHANNEL_SECRETS)

# Services and stages: what one AWS stack of one service in one stage needs besides the settings.
# Keys a service's ``defaults`` and each of its ``stages`` may set.
STAGE_KEYS = frozenset(
    {
        "reserved_concurrency",
        "log_retention_days",
        "cors_origins",
        "database_secret_arn",
        "slack_webhook_secret_arn",
        "admin_token_secret_arn",
        "transform_signing_key_secret_arn",
        *CHANNEL_SECRET_ARNS,
        "db_instance_identifier",
        "vpc",
        "rds_proxy",
        "functions",
        "chaos",
    }
)
# What the ``functions`` table may change per function (reserved concurrency is set per stage).
FUNCTION_SIZE_KEYS = ("memory_mb", "timeout_seconds")
# Lambda's limits (CreateFunction): memory in MB, timeout in seconds.
MEMORY_MB_RANGE = (128, 10_240)
TIMEOUT_SECONDS_RANGE = (1, 900)
DEFAULT_RESERVATION = "default"  # reserved_concurrency's key for every function not named
# The retention periods CloudWatch Logs accepts (AWS::Logs::LogGroup RetentionInDays).
LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557}
    | {2922, 3288, 3653}
)
_STACK_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")


@dataclass(frozen=True)
class FunctionSize:
    """What the file changes of one function's size; None keeps the function table's value."""

    memory_mb: int | None = None
    timeout_seconds: int | None = None
    reserved_concurrency: int | None = None


@dataclass(frozen=True)
class VpcSettings:
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    # endpoints: the stack creates the VPC endpoints its functions call (Secrets Manager and Step
    # Functions in vpc_id's subnets, S3 as a gateway on route_table_ids); false: the VPC has them
    # already, or a NAT gateway.
    endpoints: bool = True
    vpc_id: str = ""
    route_table_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class RdsProxySettings:
    """An RDS Proxy the stack creates in front of one DB instance or cluster (needs a vpc)."""

    db_instance_identifier: str = ""
    db_cluster_identifier: str = ""
    iam_auth: bool = False  # functions log in with IAM tokens instead of the secret's password


@dataclass(frozen=True)
class StageValues:
    """The per-stage values of one service's stack, the stage over the service's defaults."""

    service: str
    stage: str
    log_retention_days: int
    cors_origins: tuple[str, ...]
    database_secret_arn: str
    slack_webhook_secret_arn: str
    admin_token_secret_arn: str | None
    transform_signing_key_secret_arn: str
    db_instance_identifier: str | None  # the RDS instance the stack's dashboard and alarms watch
    vpc: VpcSettings | None
    rds_proxy: RdsProxySettings | None = None
    chaos: bool = False  # AWS FIS experiment templates in the stack (bakusoku/deploy/chaos.py)
    # The runner channels' secrets the stage names: (secret setting, its secret's ARN), each
    # optional (a channel without its secret is off on AWS, or has no webhook or push key).
    channel_secret_arns: tuple[tuple[str, str], ...] = ()


def service_names(settings: Settings) -> list[str]:
    return sorted(_services(settings))


def stage_names(settings: Settings, service: str) -> list[str]:
    return list(_stages(settings, service))


def stage_values(
    settings: Settings, service: str, stage: str, environ: Mapping[str, str] | None = None
) -> StageValues:
    """Resolve one service and stage; ConfigError names the key to fix and its bad value."""
    merged = _stage_layers(settings, service, stage, environ)
    where = f"services.{service}"
    retention = _whole(merged.get("log_retention_days", 30), f"{where}.log_retention_days", 1, 3653)
    if retention not in LOG_RETENTION_DAYS:
        raise ConfigError(
            f"{where}.log_retention_days has the bad value {retention}: not a CloudWatch Logs "
            f"retention; use one of {sorted(LOG_RETENTION_DAYS)}"
        )
    admin = (
        _secret_arn(merged, "admin_token_secret_arn", where)
        if merged.get("admin_token_secret_arn")
        else None  # optional: without it the API takes no admin token
    )
    return StageValues(
        service=service,
        stage=stage,
        log_retention_days=retention,
        cors_origins=tuple(_strings(merged.get("cors_origins", ["*"]), f"{where}.cors_origins")),
        database_secret_arn=_secret_arn(merged, "database_secret_arn", where),
        slack_webhook_secret_arn=_secret_arn(merged, "slack_webhook_secret_arn", where),
        admin_token_secret_arn=admin,
        transform_signing_key_secret_arn=_secret_arn(
            merged, "transform_signing_key_secret_arn", where
        ),
        db_instance_identifier=_db_instance(merged.get("db_instance_identifier"), where),
        vpc=_vpc(merged.get("vpc"), where),
        rds_proxy=_rds_proxy(merged.get("rds_proxy"), merged.get("vpc"), where),
        chaos=_flag(merged.get("chaos", False), f"{where}.chaos"),
        channel_secret_arns=tuple(
            (name, _secret_arn(merged, f"{name}_secret_arn", where))
            for name in CHANNEL_SECRETS
            if merged.get(f"{name}_secret_arn")
        ),
    )


def function_overrides(
    settings: Settings,
    functions: Collection[str],
    *,
    service: str | None = None,
    stage: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, FunctionSize]:
    """What the file changes of each of ``functions`` (the function table's names).

    The file's top-level ``functions``, then the service's ``defaults``, then the stage, each
    overriding the one before. Without ``service`` and ``stage``, the deployment's own
    (``service_name`` and ``stage``) apply when the file describes them, so ``bakusoku up`` sizes
    its functions as that stage does on AWS; otherwise only the top-level table applies.
    """
    environ = os.environ if environ is None else environ
    if service is None or stage is None:
        service, stage = settings.service_name, settings.stage
        if stage not in _stages_or_none(settings, service):
            service = stage = None
    blocks = [] if service is None or stage is None else _stage_blocks(settings, service, stage)
    layers = [("functions", settings.extra.get("functions"))]
    layers += [(f"{where}.functions", block.get("functions")) for where, block in blocks]
    sizes = _sizes(layers, functions, environ)
    reserved = _reservations(blocks, functions, environ)
    top = settings.extra.get("functions")
    # A function the file declares with its own reserved_concurrency keeps it over a stage's
    # ``default``; a stage that names the function still wins.
    own = {
        name
        for name, block in (top.items() if isinstance(top, Mapping) else ())
        if declares_function(block) and block.get("reserved_concurrency") is not None
    }
    return {
        name: FunctionSize(
            memory_mb=sizes[name].get("memory_mb"),
            timeout_seconds=sizes[name].get("timeout_seconds"),
            reserved_concurrency=_reservation(reserved, name, default=name not in own),
        )
        for name in functions
    }


def declares_function(block: Any) -> bool:
    """An entry of the ``functions`` table that declares a function of its own (has a handler).

    Its other keys are read by ``bakusoku.pipeline.declared``; here only its sizes count.
    """
    return isinstance(block, Mapping) and "handler" in block


def _sizes(
    layers: list[tuple[str, Any]], functions: Collection[str], environ: Mapping[str, str]
) -> dict[str, dict[str, int]]:
    """Memory and timeout per function from the ``functions`` tables, later ones winning."""
    sizes: dict[str, dict[str, int]] = {name: {} for name in functions}
    for label, layer in layers:
        for name, values in _mapping(interpolate(layer, label, environ), label).items():
            _known(name, functions, label)
            block = _mapping(values, f"{label}.{name}")
            if label == "functions" and declares_function(block):
                block = {k: v for k, v in block.items() if k in FUNCTION_SIZE_KEYS}
            unknown = sorted(set(block) - set(FUNCTION_SIZE_KEYS))
            if unknown:
                raise ConfigError(
                    f"{label}.{name} has unknown keys {unknown}; use {', '.join(FUNCTION_SIZE_KEYS)}"
                )
            sizes[name] |= {
                key: _size(value, f"{label}.{name}.{key}") for key, value in block.items()
            }
    return sizes


def _reservations(
    blocks: list[tuple[str, Mapping[str, Any]]],
    functions: Collection[str],
    environ: Mapping[str, str],
) -> dict[str, tuple[str, Any]]:
    """Each function's (or ``default``'s) reserved concurrency and the key that set it."""
    reserved: dict[str, tuple[str, Any]] = {}
    for where, block in blocks:
        label = f"{where}.reserved_concurrency"
        values = _mapping(interpolate(block.get("reserved_concurrency"), label, environ), label)
        for name, value in values.items():
            if name != DEFAULT_RESERVATION:
                _known(name, functions, label)
            reserved[name] = (f"{label}.{name}", value)
    return reserved


def _size(value: Any, key: str) -> int:
    low, high = MEMORY_MB_RANGE if key.endswith("memory_mb") else TIMEOUT_SECONDS_RANGE
    return _whole(value, key, low, high)


def _reservation(
    reserved: Mapping[str, tuple[str, Any]], name: str, *, default: bool = True
) -> int | None:
    found = reserved.get(name, reserved.get(DEFAULT_RESERVATION) if default else None)
    if found is None:
        return None
    key, value = found
    return _whole(value, key, 0, 100_000)


def _known(name: str, functions: Collection[str], where: str) -> None:
    if name not in functions:
        raise ConfigError(
            f"{where} names an unknown function {name!r}; functions are {list(functions)}"
            + (f" (or {DEFAULT_RESERVATION!r})" if where.endswith("reserved_concurrency") else "")
        )


def _services(settings: Settings) -> Mapping[str, Any]:
    services = settings.extra.get("services")
    if not services:
        raise ConfigError(
            "the configuration has no services: add a 'services' mapping to bakusoku.yml "
            "(see bakusoku.example.yml) or pass --config bakusoku.example.yml"
        )
    return _mapping(services, "services")


def _stages(settings: Settings, service: str) -> Mapping[str, Any]:
    services = _services(settings)
    if service not in services:
        raise ConfigError(
            f"there is no service {service!r} in the configuration; services are {sorted(services)}"
        )
    spec = _mapping(services[service], f"services.{service}")
    stages = _mapping(spec.get("stages"), f"services.{service}.stages")
    if not stages:
        raise ConfigError(f"services.{service}.stages is empty: add dev, staging, prod, …")
    return stages


def _stages_or_none(settings: Settings, service: str) -> Mapping[str, Any]:
    """The service's stages, or none when the file describes no such service (local use)."""
    services = settings.extra.get("services")
    if not isinstance(services, Mapping) or service not in services:
        return {}
    return _stages(settings, service)


def _stage_layers(
    settings: Settings, service: str, stage: str, environ: Mapping[str, str] | None
) -> dict[str, Any]:
    """The service's ``defaults`` under the stage's values, with ``${env:…}`` filled in."""
    merged: dict[str, Any] = {}
    for _where, block in _stage_blocks(settings, service, stage):
        merged |= block
    filled: dict[str, Any] = interpolate(
        merged, f"services.{service}", os.environ if environ is None else environ
    )
    return filled


def _stage_blocks(
    settings: Settings, service: str, stage: str
) -> list[tuple[str, Mapping[str, Any]]]:
    """The service's ``defaults`` and the stage's block, each with its key path, checked."""
    stages = _stages(settings, service)
    if stage not in stages:
        raise ConfigError(
            f"service {service!r} has no stage {stage!r}; its stages are {sorted(stages)} "
            f"(add services.{service}.stages.{stage} to the configuration file)"
        )
    for name in (service, stage):
        if not _STACK_NAME.match(name):
            raise ConfigError(
                f"{name!r} cannot name a stack: use 1-31 lowercase letters, digits and '-', "
                "starting with a letter"
            )
    spec = _mapping(_services(settings)[service], f"services.{service}")
    blocks = [
        (f"services.{service}.defaults", spec.get("defaults")),
        (f"services.{service}.stages.{stage}", stages[stage]),
    ]
    checked = []
    for where, value in blocks:
        block = _mapping(value, where)
        unknown = sorted(set(block) - STAGE_KEYS)
        if unknown:
            raise ConfigError(
                f"{where} has unknown keys {unknown}; known keys are {sorted(STAGE_KEYS)}"
            )
        checked.append((where, block))
    return checked


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a mapping, not {type(value).__name__} {value!r}")
    return value


def _whole(value: Any, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{where} must be a whole number from {low} to {high}, not {value!r}")
    return value


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where} must be a list of non-empty strings, not {value!r}")
    return list(value)


def _secret_arn(merged: Mapping[str, Any], key: str, where: str) -> str:
    value = merged.get(key)
    if not isinstance(value, str) or not value.startswith("arn:aws") or ":secret:" not in value:
        raise ConfigError(
            f"{where}.{key} must be the ARN of a Secrets Manager secret "
            f"(arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME), not {value!r}"
        )
    return value


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where} must be true or false, not {value!r}")
    return value


def _db_instance(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"[a-zA-Z][a-zA-Z0-9-]{0,62}", value):
        raise ConfigError(
            f"{where}.db_instance_identifier must be an RDS DB instance identifier (a letter, "
            f"then letters, digits or hyphens), not {value!r}"
        )
    return value


def _vpc(value: Any, where: str) -> VpcSettings | None:
    if value is None:
        return None
    block = _mapping(value, f"{where}.vpc")
    subnets = _strings(block.get("subnet_ids"), f"{where}.vpc.subnet_ids")
    groups = _strings(block.get("security_group_ids"), f"{where}.vpc.security_group_ids")
    endpoints = block.get("endpoints", True)
    if not isinstance(endpoints, bool):
        raise ConfigError(f"{where}.vpc.endpoints must be true or false, not {endpoints!r}")
    if not endpoints:
        return VpcSettings(tuple(subnets), tuple(groups), endpoints=False)
    vpc_id = block.get("vpc_id")
    if not isinstance(vpc_id, str) or not vpc_id.startswith("vpc-"):
        raise ConfigError(
            f"{where}.vpc.vpc_id must name the VPC (vpc-...) so the stack can create the "
            f"endpoints its functions call, not {vpc_id!r}; or set {where}.vpc.endpoints: false "
            "when the VPC already has Secrets Manager, Step Functions and S3 endpoints or a NAT"
        )
    tables = _strings(block.get("route_table_ids"), f"{where}.vpc.route_table_ids")
    return VpcSettings(tuple(subnets), tuple(groups), True, vpc_id, tuple(tables))


def _rds_proxy(value: Any, vpc: Any, where: str) -> RdsProxySettings | None:
    if value is None:
        return None
    block = _mapping(value, f"{where}.rds_proxy")
    unknown = sorted(set(block) - {"db_instance_identifier", "db_cluster_identifier", "iam_auth"})
    targets = [k for k in ("db_instance_identifier", "db_cluster_identifier") if block.get(k)]
    if unknown or len(targets) != 1 or not isinstance(block.get("iam_auth", False), bool):
        raise ConfigError(
            f"{where}.rds_proxy must name one of db_instance_identifier or "
            f"db_cluster_identifier, with iam_auth true or false, not {dict(block)!r}"
        )
    if vpc is None:
        raise ConfigError(
            f"{where}.rds_proxy needs {where}.vpc: a proxy lives in the VPC's subnets"
        )
    return RdsProxySettings(
        str(block.get("db_instance_identifier", "")),
        str(block.get("db_cluster_identifier", "")),
        bool(block.get("iam_auth", False)),
    )
