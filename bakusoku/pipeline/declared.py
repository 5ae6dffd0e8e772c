"""Functions the configuration file declares: a handler, its event sources and what it may touch.

An entry of the file's ``functions`` table that has a ``handler`` declares a function of the
deployment's own (an entry without one only resizes a function of ``pipeline.functions``)::

    functions:
      slow-queries:
        handler: bakusoku.ops.slow_queries.handler
        events: [{schedule: "rate(1 hour)"}, {http: "GET /v1/reports/slow-queries"},
                 {object: {prefix: "imports/"}}]
        memory_mb: 256
        timeout_seconds: 60
        reserved_concurrency: 1
        environment: {SLOW_QUERIES_TOP: "10"}
        resources: {database: read, slack: true, runner_channels: false, certificates: false,
                    secrets: [arn:...], bucket: [{prefix: "reports/", access: write}]}

One reading drives every backend: ``bakusoku up`` runs the function with these sizes and fires
its events, ``bakusoku package`` gives it the same events and a role derived from ``resources``,
and ``bakusoku graph`` draws it from that template. Every mistake is a ConfigError naming the key.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from bakusoku.config import (
    MEMORY_MB_RANGE,
    TIMEOUT_SECONDS_RANGE,
    ConfigError,
    Settings,
    declares_function,
)
from bakusoku.events.schedules import ScheduleExpressionError, parse_schedule
from bakusoku.runtime.config import check_environment
from bakusoku.runtime.errors import FunctionConfigError

# The keys of a declaration; an entry with other keys is refused with this list.
DECLARATION_KEYS = (
    "handler",
    "description",
    "events",
    "memory_mb",
    "timeout_seconds",
    "reserved_concurrency",
    "environment",
    "resources",
)
RESOURCE_KEYS = ("database", "bucket", "secrets", "slack", "runner_channels", "certificates")
DATABASE_ACCESS = ("read", "write")
BUCKET_ACCESS = ("read", "write", "read-write")
EVENT_KINDS = ("schedule", "http", "object")
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY")
DEFAULT_MEMORY_MB = 256
DEFAULT_TIMEOUT_SECONDS = 30
# The stack names a function `{service}-{stage}-{name}`; Lambda allows 64 characters in all and a
# service and a stage take at most 31 each, so a function's own name stays short.
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,23}$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SEGMENT = re.compile(r"^(?:[A-Za-z0-9._~-]+|\{[A-Za-z_][A-Za-z0-9_]*\+?\})$")
_PREFIX = re.compile(r"^[A-Za-z0-9!_.*'()/-]+/$")
_SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$")


@dataclass(frozen=True)
class ScheduleEvent:
    """An EventBridge schedule: ``rate(1 hour)`` or ``cron(0 3 * * ? *)``, in UTC."""

    expression: str


@dataclass(frozen=True)
class HttpEvent:
    """A route of the stack's HTTP API: ``GET /v1/reports/{name}`` (payload format 2.0)."""

    method: str
    path: str

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class ObjectEvent:
    """Objects created under ``prefix`` of the stack's bucket (S3 → EventBridge "Object Created")."""

    prefix: str


Event = ScheduleEvent | HttpEvent | ObjectEvent


@dataclass(frozen=True)
class BucketGrant:
    prefix: str
    access: str  # read | write | read-write

    @property
    def reads(self) -> bool:
        return "read" in self.access

    @property
    def writes(self) -> bool:
        return "write" in self.access


@dataclass(frozen=True)
class Resources:
    """What the function may touch; its role on AWS allows exactly this and nothing else."""

    database: str = ""  # "" (none) | read | write: the database secret (grants live in the DB)
    buckets: tuple[BucketGrant, ...] = ()
    secrets: tuple[str, ...] = ()  # Secrets Manager ARNs it may read
    slack: bool = False  # the Slack webhook of the deployment's alerts
    # The runner channels' secrets the stage names and the key runner links are signed with (the
    # runner notifier: docs/races.md).
    runner_channels: bool = False
    # Starting the certificate state machine (StartExecution on it alone, its ARN in the
    # environment): the certificate catch-up (docs/races.md).
    certificates: bool = False


@dataclass(frozen=True)
class DeclaredFunction:
    name: str
    handler: str
    events: tuple[Event, ...]
    resources: Resources
    memory_mb: int = DEFAULT_MEMORY_MB
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS
    reserved_concurrency: int | None = None
    description: str = ""
    environment: Mapping[str, str] = field(default_factory=dict)

    @property
    def module(self) -> str:
        return self.handler.rpartition(".")[0]

    @property
    def schedules(self) -> tuple[ScheduleEvent, ...]:
        return tuple(e for e in self.events if isinstance(e, ScheduleEvent))

    @property
    def routes(self) -> tuple[HttpEvent, ...]:
        return tuple(e for e in self.events if isinstance(e, HttpEvent))

    @property
    def object_prefixes(self) -> tuple[ObjectEvent, ...]:
        return tuple(e for e in self.events if isinstance(e, ObjectEvent))


def declared_functions(
    settings: Settings, builtin: Collection[str] = ()
) -> tuple[DeclaredFunction, ...]:
    """Every function the file declares, checked; ``builtin`` are the function table's names."""
    table = settings.extra.get("functions") or {}
    if not isinstance(table, Mapping):
        raise ConfigError(f"functions must be a mapping of function names, not {table!r}")
    found = []
    for name, block in table.items():
        if not declares_function(block):
            continue
        if name in builtin:
            raise ConfigError(
                f"functions.{name} is one of bakusoku's own functions: its handler cannot "
                "change; give your function another name, or keep only memory_mb and "
                "timeout_seconds here"
            )
        found.append(parse_declaration(str(name), block, settings))
    _no_shared_routes(found)
    return tuple(found)


def parse_declaration(name: str, block: Mapping[str, Any], settings: Settings) -> DeclaredFunction:
    where = f"functions.{name}"
    if not _NAME.match(name):
        raise ConfigError(
            f"{where}: the name {name!r} must be 1-24 lowercase letters, digits and '-', "
            "starting with a letter (it names the Lambda function and its log group)"
        )
    unknown = sorted(set(block) - set(DECLARATION_KEYS))
    if unknown:
        raise ConfigError(f"{where} has unknown keys {unknown}; known keys are {DECLARATION_KEYS}")
    events = parse_events(block.get("events"), where, settings)
    resources = _resources(block.get("resources"), where)
    _no_self_trigger(events, resources, where)
    return DeclaredFunction(
        name=name,
        handler=_handler(block.get("handler"), where),
        events=events,
        resources=resources,
        memory_mb=_whole(
            block.get("memory_mb", DEFAULT_MEMORY_MB), f"{where}.memory_mb", *MEMORY_MB_RANGE
        ),
        timeout_seconds=_whole(
            block.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS),
            f"{where}.timeout_seconds",
            *TIMEOUT_SECONDS_RANGE,
        ),
        reserved_concurrency=(
            None
            if block.get("reserved_concurrency") is None
            else _whole(block["reserved_concurrency"], f"{where}.reserved_concurrency", 0, 100_000)
        ),
        description=_text(block.get("description", ""), f"{where}.description"),
        environment=_environment(block.get("environment"), where),
    )


def _handler(value: Any, where: str) -> str:
    parts = value.split(".") if isinstance(value, str) else []
    if len(parts) < 2 or not all(_IDENTIFIER.match(p) for p in parts):
        raise ConfigError(
            f"{where}.handler must be 'package.module.function' (importable Python names), "
            f"not {value!r}; for example 'reports.nightly.handler'"
        )
    return str(value)


def parse_events(
    value: Any, where: str, settings: Settings, kinds: tuple[str, ...] = EVENT_KINDS
) -> tuple[Event, ...]:
    """``where``'s ``events`` list, each item one source of ``kinds``; none when left out (a
    function then runs only from a state machine's Task)."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError(
            f"{where}.events must be a list of event sources, not {value!r}; for example "
            "[{schedule: 'rate(1 hour)'}] or [{object: {prefix: 'imports/'}}]"
        )
    events: list[Event] = []
    for i, item in enumerate(value):
        key = f"{where}.events[{i}]"
        if not isinstance(item, Mapping) or len(item) != 1:
            raise ConfigError(f"{key} must name one source: {' or '.join(kinds)}, not {item!r}")
        ((kind, spec),) = item.items()
        if kind not in kinds:
            raise ConfigError(f"{key} has the unknown source {kind!r}; use {' or '.join(kinds)}")
        if kind == "schedule":
            events.append(_schedule(spec, key))
        elif kind == "http":
            events.append(_http(spec, key))
        else:
            events.append(_object(spec, key, settings))
    return tuple(events)


def _schedule(spec: Any, key: str) -> ScheduleEvent:
    if not isinstance(spec, str):
        raise ConfigError(f"{key}.schedule must be a text like 'rate(1 hour)', not {spec!r}")
    try:
        parse_schedule(spec)
    except ScheduleExpressionError as exc:
        raise ConfigError(f"{key}.schedule: {exc.message}") from None
    return ScheduleEvent(spec.strip())


def _http(spec: Any, key: str) -> HttpEvent:
    method, _, path = spec.partition(" ") if isinstance(spec, str) else ("", "", "")
    segments = path.split("/")[1:] if path.startswith("/") else []
    if (
        method not in HTTP_METHODS
        or not segments
        or not all(_SEGMENT.match(s) for s in segments)
        or any(s.endswith("+}") for s in segments[:-1])
    ):
        raise ConfigError(
            f"{key}.http must be 'METHOD /path' with METHOD one of {', '.join(HTTP_METHODS)} and "
            f"a path of plain segments or {{parameters}} ({{name+}} only last), not {spec!r}"
        )
    return HttpEvent(method, path)


def _object(spec: Any, key: str, settings: Settings) -> ObjectEvent:
    prefix = spec.get("prefix") if isinstance(spec, Mapping) and set(spec) == {"prefix"} else None
    if not isinstance(prefix, str) or not _PREFIX.match(prefix):
        raise ConfigError(
            f"{key}.object must be {{prefix: 'some/prefix/'}}: a key prefix of the stack's "
            f"bucket ending in '/', not {spec!r}"
        )
    for setting in ("upload_prefix", "rendition_prefix"):
        theirs = str(getattr(settings, setting))
        if prefix.startswith(theirs) or theirs.startswith(prefix):
            raise ConfigError(
                f"{key}.object.prefix {prefix!r} overlaps the photo pipeline's {setting} "
                f"{theirs!r}; choose a prefix of your own, e.g. 'imports/'"
            )
    return ObjectEvent(prefix)


def _resources(value: Any, where: str) -> Resources:
    where = f"{where}.resources"
    if value is None:
        return Resources()
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a mapping, not {value!r}")
    unknown = sorted(set(value) - set(RESOURCE_KEYS))
    if unknown:
        raise ConfigError(f"{where} has unknown keys {unknown}; known keys are {RESOURCE_KEYS}")
    database = value.get("database", "")
    if database not in ("", *DATABASE_ACCESS):
        raise ConfigError(f"{where}.database must be read or write, not {database!r}")
    slack, channels = value.get("slack", False), value.get("runner_channels", False)
    certificates = value.get("certificates", False)
    for key, flag in (
        ("slack", slack),
        ("runner_channels", channels),
        ("certificates", certificates),
    ):
        if not isinstance(flag, bool):
            raise ConfigError(f"{where}.{key} must be true or false, not {flag!r}")
    secrets = value.get("secrets", [])
    if not isinstance(secrets, list) or not all(
        isinstance(s, str) and _SECRET_ARN.match(s) for s in secrets
    ):
        raise ConfigError(
            f"{where}.secrets must be a list of Secrets Manager ARNs "
            f"(arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME), not {secrets!r}"
        )
    return Resources(
        database=str(database),
        buckets=_buckets(value.get("bucket", []), f"{where}.bucket"),
        secrets=tuple(secrets),
        slack=slack,
        runner_channels=channels,
        certificates=certificates,
    )


def _buckets(value: Any, where: str) -> tuple[BucketGrant, ...]:
    items = [value] if isinstance(value, Mapping) else value
    if not isinstance(items, list):
        raise ConfigError(f"{where} must be a list of {{prefix, access}}, not {value!r}")
    grants = []
    for i, item in enumerate(items):
        key = f"{where}[{i}]"
        if not isinstance(item, Mapping) or set(item) != {"prefix", "access"}:
            raise ConfigError(f"{key} must be {{prefix: 'reports/', access: read}}, not {item!r}")
        prefix, access = item["prefix"], item["access"]
        if not isinstance(prefix, str) or not _PREFIX.match(prefix):
            raise ConfigError(
                f"{key}.prefix must be a key prefix ending in '/' (the whole bucket is never "
                f"granted), not {prefix!r}"
            )
        if access not in BUCKET_ACCESS:
            raise ConfigError(f"{key}.access must be one of {BUCKET_ACCESS}, not {access!r}")
        grants.append(BucketGrant(prefix, str(access)))
    return tuple(grants)


def _no_self_trigger(events: tuple[Event, ...], resources: Resources, where: str) -> None:
    """A function that writes where it is triggered would call itself for ever."""
    for event in events:
        if not isinstance(event, ObjectEvent):
            continue
        for grant in resources.buckets:
            overlap = grant.prefix.startswith(event.prefix) or event.prefix.startswith(grant.prefix)
            if grant.writes and overlap:
                raise ConfigError(
                    f"{where} writes under {grant.prefix!r} and is triggered by objects under "
                    f"{event.prefix!r}: each write would trigger it again; write elsewhere"
                )


def _no_shared_routes(functions: list[DeclaredFunction]) -> None:
    seen: dict[str, str] = {}
    for function in functions:
        for route in function.routes:
            other = seen.setdefault(route.route_key, function.name)
            if other != function.name:
                raise ConfigError(
                    f"functions {other} and {function.name} both declare the route "
                    f"{route.route_key!r}; a route has one function"
                )


def _environment(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}.environment must be a mapping of names to texts, not {value!r}")
    environment = {str(k): v for k, v in value.items()}
    try:
        check_environment(environment, owner=f"{where}.environment", reserved=True)
    except FunctionConfigError as exc:
        raise ConfigError(exc.message) from None
    if any(k.startswith("BAKUSOKU_") for k in environment):
        raise ConfigError(
            f"{where}.environment may not set BAKUSOKU_* names: those are bakusoku's settings, "
            "which every function already receives"
        )
    return environment


def _whole(value: Any, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{where} must be a whole number from {low} to {high}, not {value!r}")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or len(value) > 256:
        raise ConfigError(f"{where} must be a text of at most 256 characters, not {value!r}")
    return value
