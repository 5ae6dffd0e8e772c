"""The system map of one service and stage, read from the SAM template ``bakusoku package`` writes.

The map is never drawn by hand: ``stack_graph`` builds the very template that is deployed (from
the function table, the ASL file and the configuration) and reads it with
``bakusoku.graph.template``, adding the database's tables from the migrations' schema and, for a
stage on AWS, the link to its X-Ray service map. Without a service and stage it maps the
deployment ``bakusoku up`` runs (its ``service_name`` and ``stage``, sized as that stage is).
"""

from __future__ import annotations

from bakusoku.config import ConfigError, Settings, stage_values
from bakusoku.db.schema import metadata
from bakusoku.deploy.sam import build_template
from bakusoku.deploy.stages import StageConfig, load_stage
from bakusoku.graph.model import SystemGraph
from bakusoku.graph.template import graph_from_template
from bakusoku.pipeline.functions import sized_functions

# Parameters a local map's template needs a value for; nothing reads them.
_NO_SECRET = "arn:aws:secretsmanager:local:000000000000:secret:none"


def xray_service_map_url(region: str) -> str:
    """The X-Ray service map (CloudWatch console, traces) of ``region``."""
    return (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        "#xray:service-map/map"
    )


def stack_graph(
    settings: Settings, service: str | None = None, stage: str | None = None
) -> SystemGraph:
    """The map of ``service`` in ``stage`` on AWS, or of the local deployment without them."""
    if service and stage:
        config = load_stage(settings, service, stage)
        links = {"X-Ray service map": xray_service_map_url(settings.region)}
        title = f"{config.stack_name} on AWS ({settings.region})"
    else:
        config = local_stage(settings)
        links = {}
        title = f"{config.stack_name} (bakusoku up)"
    tables = sorted(table.name for table in metadata.sorted_tables)
    return graph_from_template(build_template(config), tables=tables, title=title, links=links)


def local_stage(settings: Settings) -> StageConfig:
    """The deployment ``bakusoku up`` runs, as a stage: the file's stage if it names one."""
    service, stage = settings.service_name, settings.stage
    try:
        values = stage_values(settings, service, stage)
        cors, retention = values.cors_origins, values.log_retention_days
    except ConfigError:  # the file describes no such stage: the defaults of every stage
        cors, retention = ("*",), 30
    return StageConfig(
        service=service,
        stage=stage,
        settings=settings,
        functions=sized_functions(settings),
        log_retention_days=retention,
        cors_origins=cors,
        database_secret_arn=_NO_SECRET,
        slack_webhook_secret_arn=_NO_SECRET,
        vpc=None,
    )
