"""``bakusoku package`` and ``bakusoku deploy``: one AWS stack per service and stage."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import click

from bakusoku.config import MIB, load_settings
from bakusoku.deploy.bundle import MAX_UNZIPPED_BYTES
from bakusoku.deploy.canary import Canary, CanaryError, parse_canary
from bakusoku.deploy.concurrency import (
    ConcurrencyError,
    check_account,
    connection_bound,
    read_account,
)
from bakusoku.deploy.errors import DeployError
from bakusoku.deploy.package import Format, default_out_dir, package
from bakusoku.deploy.plan import format_plan
from bakusoku.deploy.race_capacity import race_lines
from bakusoku.deploy.runner import by_hand, deploy, has_credentials, missing_prerequisites
from bakusoku.deploy.sam import build_template
from bakusoku.deploy.stages import StageConfig, load_stage


def _canary(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Canary | None:
    if value is None:
        return None
    try:
        return parse_canary(value)
    except CanaryError as exc:
        raise click.BadParameter(exc.message) from None


_canary_option = click.option(
    "--canary",
    callback=_canary,
    default=None,
    metavar="PERCENT%/MINUTES",
    help="Shift PERCENT of the traffic to the new versions first and the rest MINUTES later, "
    "rolling back if an error or throttle alarm fires (e.g. 10%/5m). Default: all at once.",
)

_config_option = click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="Configuration file with services and stages (default ./bakusoku.yml).",
)


@click.command("package")
@click.option("--service", required=True, help="Service name from the configuration, e.g. enphoto.")
@click.option("--stage", required=True, help="Stage name of that service, e.g. dev, staging, prod.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Output folder (default build/aws/SERVICE-STAGE/FORMAT).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["sam", "serverless"]), default="sam", show_default=True
)
@click.option(
    "--no-dependencies",
    is_flag=True,
    help="Bundle bakusoku's sources only (attach the dependencies as a Lambda layer).",
)
@_canary_option
@_config_option
def package_command(
    service: str,
    stage: str,
    out_dir: Path | None,
    fmt: str,
    no_dependencies: bool,
    canary: Canary | None,
    config_file: Path | None,
) -> None:
    """Write the AWS template and code bundle of one service and stage."""
    settings = load_settings(config_file=config_file)
    result = package(
        settings,
        service,
        stage,
        fmt=cast(Format, fmt),
        out_dir=out_dir,
        install_dependencies=not no_dependencies,
        canary=canary,
    )
    click.echo(f"wrote {result.template_path}")
    deps = "with dependencies" if result.bundle.dependencies_installed else "sources only"
    click.echo(
        f"wrote {result.bundle.path}/ ({deps}, for {result.stage.runtime} on "
        f"{result.bundle.architecture}, {result.bundle.size_bytes / MIB:.1f} MiB unzipped of "
        f"Lambda's {MAX_UNZIPPED_BYTES // MIB} MiB)"
    )
    click.echo(format_plan(f"{result.stage.stack_name}: resources per type", result.template))


def rollout(config: StageConfig) -> str:
    """How the deploy moves traffic to the new versions, in one line."""
    if config.canary is None:
        return "rollout: all at once (the live aliases move to the new versions; --canary to shift)"
    canary = config.canary
    return (
        f"rollout: canary {canary}: {canary.percent} % of invocations and new executions go to "
        f"the new versions for {canary.minutes} minutes, then all; an error or throttle alarm "
        "meanwhile rolls back"
    )


def _check_concurrency(config: StageConfig) -> None:
    """The account's quota against the stack's reservations (when credentials exist)."""
    click.echo(connection_bound(config))
    if not has_credentials():
        click.echo("concurrency: no AWS credentials, so the account's quota was not checked")
        return
    try:
        click.echo(check_account(config, read_account(config)))
    except ConcurrencyError as exc:
        raise click.ClickException(exc.message) from None


@click.command("deploy")
@click.option("--service", required=True, help="Service name from the configuration.")
@click.option("--stage", required=True, help="Stage name of that service.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the plan; with AWS credentials, check the account's Lambda concurrency quota "
    "(read only). Creates nothing.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Package folder (default build/aws/SERVICE-STAGE/sam).",
)
@_canary_option
@_config_option
def deploy_command(
    service: str,
    stage: str,
    dry_run: bool,
    out_dir: Path | None,
    canary: Canary | None,
    config_file: Path | None,
) -> None:
    """Package one service and stage, then deploy it with `sam deploy`.

    Every function and the state machine are published as new versions behind their `live`
    aliases; executions in flight finish on the versions they started with.
    """
    settings = load_settings(config_file=config_file)
    config = load_stage(settings, service, stage, canary=canary)
    directory = out_dir or default_out_dir(service, stage, "sam")
    click.echo(rollout(config))
    for line in race_lines(config.race_plans):  # bakusoku race prepare --stage
        click.echo(line)
    if dry_run:
        template = build_template(config)
        click.echo(format_plan(f"plan for stack {config.stack_name} (SAM)", template))
        try:
            from bakusoku.deploy.checks import expand_sam
        except ImportError:  # pragma: no cover - the aws extra is not installed
            return
        expanded = expand_sam(template, settings.region)
        click.echo(format_plan("after the SAM transform (CloudFormation)", expanded))
        _check_concurrency(config)
        click.echo(by_hand(directory / "template.yaml", config))
        return
    missing = missing_prerequisites(config)
    if missing:  # say so before spending a minute on the bundle
        raise click.ClickException(
            f"cannot deploy {config.stack_name}: {'; '.join(missing)}.\n"
            + by_hand(directory / "template.yaml", config)
            + f"\n(after `bakusoku package --service {service} --stage {stage}`)"
        )
    _check_concurrency(config)
    result = package(settings, service, stage, fmt="sam", out_dir=directory, canary=canary)
    click.echo(f"packaged {result.template_path}")
    try:
        deploy(result.template_path, config)
    except DeployError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"deployed {config.stack_name}")
