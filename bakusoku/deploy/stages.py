"""Services and stages: the per-stage values of one AWS stack, read from the same configuration file.

The file's ``functions`` table and ``services`` mapping (kept by the settings loader in
``Settings.extra``) resolve in Serverless Framework's spirit: the function table of the pipeline,
then the file's ``functions``, then the service's ``defaults``, then the stage, each overriding the
one before. Strings may read the environment with ``${env:NAME}`` or ``${env:NAME, default}``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bakusoku.config import Settings
from bakusoku.deploy.errors import DeployConfigError
from bakusoku.pipeline.functions import FUNCTIONS

API = "api"
NOTIFIER = "notifier"
# Every Lambda function of a stack: the pipeline's, then the HTTP API's and the alert notifier's.
FUNCTION_NAMES: tuple[str, ...] = (*(f.name for f in FUNCTIONS), API, NOTIFIER)
_EXTRA_DEFAULTS = {API: (1024, 10), NOTIFIER: (256, 10)}

RUNTIME = "python3.11"
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
_ENV = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?:\s*,\s*([^}]*))?\}")
# The retention periods CloudWatch Logs accepts (AWS::Logs::LogGroup RetentionInDays).
LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557}
    | {2922, 3288, 3653}
)
_STAGE_KEYS = {
    "reserved_concurrency",
    "log_retention_days",
    "cors_origins",
    "database_secret_arn",
    "slack_webhook_secret_arn",
    "admin_token_secret_arn",
    "vpc",
    "functions",
}


@dataclass(frozen=True)
class FunctionSettings:
    """Memory, timeout and reserved concurrency of one function in one stage."""

    memory_mb: int
    timeout_seconds: int
    reserved_concurrency: int | None


@dataclass(frozen=True)
class VpcSettings:
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]


@dataclass(frozen=True)
class StageConfig:
    """Everything one service's stack in one stage needs, besides the shared settings."""

    service: str
    stage: str
    settings: Settings
    functions: Mapping[str, FunctionSettings]
    log_retention_days: int
    cors_origins: tuple[str, ...]
    database_secret_arn: str
    slack_webhook_secret_arn: str
    vpc: VpcSettings | None
    admin_token_secret_arn: str | None = None  # the API's admin token (operators), optional
    runtime: str = RUNTIME

    @property
    def stack_name(self) -> str:
        return f"{self.service}-{self.stage}"

    def resource_name(self, name: str) -> str:
        """A physical name unique per service and stage, e.g. ``enphoto-prod-make-renditions``."""
        return f"{self.service}-{self.stage}-{name}"


def service_names(settings: Settings) -> list[str]:
    return sorted(_services(settings))


def stage_names(settings: Settings, service: str) -> list[str]:
    return list(_stages(_service(settings, service), service))


def load_stage(settings: Settings, service: str, stage: str) -> StageConfig:
    """Resolve one service and stage; DeployConfigError names the key to fix."""
    spec = _service(settings, service)
    stages = _stages(spec, service)
    if stage not in stages:
        raise DeployConfigError(
            f"service {service!r} has no stage {stage!r}; its stages are {sorted(stages)} "
            f"(add services.{service}.stages.{stage} to the configuration file)"
        )
    for name in (service, stage):
        if not _NAME.match(name):
            raise DeployConfigError(
                f"{name!r} cannot name a stack: use 1-31 lowercase letters, digits and '-', "
                "starting with a letter"
            )
    defaults = _mapping(spec.get("defaults"), f"services.{service}.defaults")
    stage_spec = _mapping(stages[stage], f"services.{service}.stages.{stage}")
    where = f"services.{service}"
    for label, block in (("defaults", defaults), (f"stages.{stage}", stage_spec)):
        unknown = sorted(set(block) - _STAGE_KEYS)
        if unknown:
            raise DeployConfigError(
                f"{where}.{label} has unknown keys {unknown}; known keys are {sorted(_STAGE_KEYS)}"
            )
    merged = _resolve_env({**defaults, **stage_spec}, where)
    reserved = {
        **_mapping(defaults.get("reserved_concurrency"), f"{where}.defaults.reserved_concurrency"),
        **_mapping(stage_spec.get("reserved_concurrency"), f"{where}.stages.{stage}"),
    }
    table = _function_table(settings, defaults, stage_spec, where)
    functions = {
        name: FunctionSettings(
            memory_mb=_int(table[name]["memory_mb"], f"functions.{name}.memory_mb", 128, 10240),
            timeout_seconds=_int(
                table[name]["timeout_seconds"], f"functions.{name}.timeout_seconds", 1, 900
            ),
            reserved_concurrency=_reserved(reserved, name, where),
        )
        for name in FUNCTION_NAMES
    }
    retention = _int(merged.get("log_retention_days", 30), f"{where}.log_retention_days", 1, 3653)
    if retention not in LOG_RETENTION_DAYS:
        raise DeployConfigError(
            f"{where}: log_retention_days {retention} is not a CloudWatch Logs retention; "
            f"use one of {sorted(LOG_RETENTION_DAYS)}"
        )
    return StageConfig(
        service=service,
        stage=stage,
        settings=settings,
        functions=functions,
        log_retention_days=retention,
        cors_origins=tuple(_strings(merged.get("cors_origins", ["*"]), f"{where}.cors_origins")),
        database_secret_arn=_arn(merged, "database_secret_arn", where),
        slack_webhook_secret_arn=_arn(merged, "slack_webhook_secret_arn", where),
        vpc=_vpc(merged.get("vpc"), where),
        admin_token_secret_arn=(
            _arn(merged, "admin_token_secret_arn", where)
            if merged.get("admin_token_secret_arn")
            else None
        ),
    )


def _services(settings: Settings) -> Mapping[str, Any]:
    services = settings.extra.get("services")
    if not services:
        raise DeployConfigError(
            "the configuration has no services: add a 'services' mapping to bakusoku.yml "
            "(see bakusoku.example.yml) or pass --config bakusoku.example.yml"
        )
    return _mapping(services, "services")


def _service(settings: Settings, service: str) -> Mapping[str, Any]:
    services = _services(settings)
    if service not in services:
        raise DeployConfigError(
            f"there is no service {service!r} in the configuration; services are {sorted(services)}"
        )
    return _mapping(services[service], f"services.{service}")


def _stages(spec: Mapping[str, Any], service: str) -> Mapping[str, Any]:
    stages = _mapping(spec.get("stages"), f"services.{service}.stages")
    if not stages:
        raise DeployConfigError(f"services.{service}.stages is empty: add dev, staging, prod, …")
    return stages


def _function_table(
    settings: Settings, defaults: Mapping[str, Any], stage: Mapping[str, Any], where: str
) -> dict[str, dict[str, Any]]:
    table: dict[str, dict[str, Any]] = {
        f.name: {"memory_mb": f.memory_mb, "timeout_seconds": f.timeout_seconds} for f in FUNCTIONS
    }
    for name, (memory, timeout) in _EXTRA_DEFAULTS.items():
        table[name] = {"memory_mb": memory, "timeout_seconds": timeout}
    layers = (
        ("functions", settings.extra.get("functions")),
        (f"{where}.defaults.functions", defaults.get("functions")),
        (f"{where}.stages.functions", stage.get("functions")),
    )
    for label, layer in layers:
        for name, values in _mapping(layer, label).items():
            if name not in table:
                raise DeployConfigError(
                    f"{label} names an unknown function {name!r}; functions are {list(table)}"
                )
            block = _mapping(values, f"{label}.{name}")
            unknown = sorted(set(block) - {"memory_mb", "timeout_seconds"})
            if unknown:
                raise DeployConfigError(
                    f"{label}.{name} has unknown keys {unknown}; use memory_mb, timeout_seconds"
                )
            table[name].update(block)
    return table


def _reserved(reserved: Mapping[str, Any], name: str, where: str) -> int | None:
    unknown = sorted(set(reserved) - {"default", *FUNCTION_NAMES})
    if unknown:
        raise DeployConfigError(
            f"{where}: reserved_concurrency names unknown functions {unknown}; "
            f"use 'default' or one of {list(FUNCTION_NAMES)}"
        )
    value = reserved.get(name, reserved.get("default"))
    if value is None:
        return None
    return _int(value, f"{where}.reserved_concurrency.{name}", 0, 100000)


def _resolve_env(value: Any, where: str) -> Any:
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in os.environ:
                return os.environ[name]
            if default is None:
                raise DeployConfigError(
                    f"{where}: ${{env:{name}}} is not set; export {name} or write "
                    f"${{env:{name}, default}}"
                )
            return default.strip()

        return _ENV.sub(replace, value)
    if isinstance(value, list):
        return [_resolve_env(v, where) for v in value]
    if isinstance(value, dict):
        return {k: _resolve_env(v, where) for k, v in value.items()}
    return value


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise DeployConfigError(f"{where} must be a mapping, not {type(value).__name__}")
    return value


def _int(value: Any, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise DeployConfigError(
            f"{where} must be a whole number from {low} to {high}, not {value!r}"
        )
    return value


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise DeployConfigError(f"{where} must be a list of non-empty strings, not {value!r}")
    return list(value)


def _arn(merged: Mapping[str, Any], key: str, where: str) -> str:
    value = merged.get(key)
    if not isinstance(value, str) or not value.startswith("arn:aws") or ":secret:" not in value:
        raise DeployConfigError(
            f"{where}.{key} must be the ARN of a Secrets Manager secret "
            f"(arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME), not {value!r}"
        )
    return value


def _vpc(value: Any, where: str) -> VpcSettings | None:
    if value is None:
        return None
    block = _mapping(value, f"{where}.vpc")
    subnets = _strings(block.get("subnet_ids"), f"{where}.vpc.subnet_ids")
    groups = _strings(block.get("security_group_ids"), f"{where}.vpc.security_group_ids")
    return VpcSettings(tuple(subnets), tuple(groups))
