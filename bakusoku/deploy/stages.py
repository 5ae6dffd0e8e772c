"""One service's stack in one stage: the settings, the stage's values and the sized function table.

The values come from the configuration resolver (``bakusoku.config.stage_values``) and the function
table (``bakusoku.pipeline.functions.sized_functions``), the same ones ``bakusoku up`` uses; this
module only puts them together for the template builders.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from bakusoku.config import ConfigError, RdsProxySettings, Settings, VpcSettings, stage_values
from bakusoku.deploy.bundle import ARCHITECTURES, LOCK_RUNTIME
from bakusoku.deploy.canary import Canary
from bakusoku.pipeline.functions import (
    API,
    FUNCTION_NAMES,
    NOTIFIER,
    LambdaFunction,
    sized_functions,
)
from bakusoku.races.plans import PlanWindow, raised_reservations, stage_windows

__all__ = ["API", "FUNCTION_NAMES", "NOTIFIER", "StageConfig", "load_stage"]

# Python 3.12 on Amazon Linux 2023 (the runtime the dependency lock is resolved for).
RUNTIME = LOCK_RUNTIME


@dataclass(frozen=True)
class StageConfig:
    """Everything one service's stack in one stage needs, besides the shared settings."""

    service: str
    stage: str
    settings: Settings
    functions: Mapping[str, LambdaFunction]
    log_retention_days: int
    cors_origins: tuple[str, ...]
    database_secret_arn: str
    slack_webhook_secret_arn: str
    vpc: VpcSettings | None
    admin_token_secret_arn: str | None = None  # the API's admin token (operators), optional
    # The key of transform URLs, one for the API that signs them and the function that serves them.
    transform_signing_key_secret_arn: str = ""
    db_instance_identifier: str | None = None  # RDS instance the dashboard and alarms watch
    runtime: str = RUNTIME
    architecture: str = "arm64"  # Lambda's name: arm64 | x86_64
    rds_proxy: RdsProxySettings | None = None
    # How a deploy shifts traffic to the new versions (``--canary``); None: all at once.
    canary: Canary | None = None
    chaos: bool = False  # AWS FIS experiment templates (bakusoku.deploy.chaos)
    # Race plans not ended when packaged (`bakusoku race prepare --stage`): scheduled provisioned
    # concurrency (bakusoku.deploy.race_capacity); ``functions`` already reserve what they ask.
    race_plans: tuple[PlanWindow, ...] = ()
    # The runner channels' secrets: (secret setting, ARN) of each the stage names (docs/races.md).
    channel_secret_arns: tuple[tuple[str, str], ...] = ()

    @property
    def stack_name(self) -> str:
        return f"{self.service}-{self.stage}"

    def resource_name(self, name: str) -> str:
        """A physical name unique per service and stage, e.g. ``enphoto-prod-make-renditions``."""
        return f"{self.service}-{self.stage}-{name}"


def load_stage(
    settings: Settings,
    service: str,
    stage: str,
    environ: Mapping[str, str] | None = None,
    *,
    canary: Canary | None = None,
    now: datetime | None = None,
) -> StageConfig:
    """Resolve one service and stage; ConfigError names the key to fix and its bad value.

    The stage's race plans that have not ended at ``now`` raise its reserved concurrency.
    """
    values = stage_values(settings, service, stage, environ)
    plans = stage_windows(settings, service, stage, now or datetime.now(UTC))
    functions = sized_functions(settings, service=service, stage=stage, environ=environ)
    reserved = raised_reservations(
        {name: f.reserved_concurrency for name, f in functions.items()}, plans
    )
    functions = {
        name: dataclasses.replace(f, reserved_concurrency=reserved[name])
        for name, f in functions.items()
    }
    return StageConfig(
        service=service,
        stage=stage,
        settings=settings,
        functions=functions,
        log_retention_days=values.log_retention_days,
        cors_origins=values.cors_origins,
        database_secret_arn=values.database_secret_arn,
        slack_webhook_secret_arn=values.slack_webhook_secret_arn,
        db_instance_identifier=values.db_instance_identifier,
        vpc=values.vpc,
        admin_token_secret_arn=values.admin_token_secret_arn,
        transform_signing_key_secret_arn=values.transform_signing_key_secret_arn,
        architecture=_architecture(settings),
        rds_proxy=values.rds_proxy,
        canary=canary,
        chaos=values.chaos,
        race_plans=plans,
        channel_secret_arns=values.channel_secret_arns,
    )


def _architecture(settings: Settings) -> str:
    if settings.lambda_architecture not in ARCHITECTURES:
        raise ConfigError(
            f"setting 'lambda_architecture' has the bad value {settings.lambda_architecture!r}: "
            f"use {' or '.join(ARCHITECTURES)}"
        )
    return settings.lambda_architecture
