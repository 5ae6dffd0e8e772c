"""``bakusoku chaos``: chaos experiments against a running deployment, and its faults by hand.

``run EXPERIMENT`` checks the steady-state hypothesis before, during and after the experiment's
faults and exits 1 when it did not hold (or the run was cut short); ``list`` names the built-in
experiments; ``faults`` shows the faults in force and ``stop`` ends them all.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from bakusoku.auth.client import resolve_api_key
from bakusoku.chaos.deployment import Deployment, DeploymentError
from bakusoku.chaos.experiment import ExperimentError, builtin_names, load_experiment
from bakusoku.chaos.runner import run_experiment
from bakusoku.imaging.samples import PhotoSource

DEFAULT_API = "http://127.0.0.1:8080"
_API = click.option("--api", default=DEFAULT_API, show_default=True, envvar="BAKUSOKU_API")
_KEY = click.option(
    "--key",
    default=None,
    help="The admin token (default: BAKUSOKU_ADMIN_TOKEN, or the one in --data-dir).",
)
_DATA_DIR = click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="The deployment's data directory, to read its admin token from.",
)


@click.group("chaos")
def chaos() -> None:
    """Chaos experiments: faults injected into a running deployment, and what held."""


@chaos.command("list")
def chaos_list() -> None:
    """The built-in experiments."""
    for name in builtin_names():
        click.echo(f"{name:<20} {load_experiment(name).title}")


@chaos.command("run")
@click.argument("experiment")
@_API
@_KEY
@_DATA_DIR
@click.option(
    "--service", default="chaos", show_default=True, help="Service of the probe's photos."
)
@click.option("--fault-seconds", type=float, default=None, help="Every fault's duration.")
@click.option("--photos", type=int, default=None, help="Photos uploaded per phase.")
@click.option("--within", type=float, default=None, help="Seconds for a photo to be final.")
@click.option("--max-failure-percent", type=float, default=None)
@click.option("--duration", type=float, default=None, help="Bound of the whole run, in seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--report",
    "report_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also write the JSON report to this file.",
)
def chaos_run(
    experiment: str,
    api: str,
    key: str | None,
    data_dir: Path | None,
    service: str,
    fault_seconds: float | None,
    photos: int | None,
    within: float | None,
    max_failure_percent: float | None,
    duration: float | None,
    as_json: bool,
    report_path: Path | None,
) -> None:
    """Run EXPERIMENT (a built-in's name or a YAML/JSON file) against the deployment at --api."""
    try:
        chosen = load_experiment(experiment).with_overrides(
            fault_seconds=fault_seconds,
            photos=photos,
            final_within_seconds=within,
            max_failure_percent=max_failure_percent,
            duration_seconds=duration,
        )
    except ExperimentError as exc:
        raise click.UsageError(exc.message) from None
    deployment = _deployment(api, key, data_dir, service)
    source = PhotoSource(chosen.hypothesis.megapixels)
    try:
        report = run_experiment(
            chosen,
            deployment,
            source.photo,
            progress=lambda line: click.echo(f"chaos: {line}", err=True),
        )
    except DeploymentError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        deployment.close()
    document = json.dumps(report.as_dict(), indent=2)
    if report_path is not None:
        report_path.write_text(document + "\n")
    click.echo(document if as_json else "\n".join(report.lines()))
    if not report.held:
        raise SystemExit(1)


@chaos.command("faults")
@_API
@_KEY
@_DATA_DIR
def chaos_faults(api: str, key: str | None, data_dir: Path | None) -> None:
    """The faults in force in the deployment."""
    deployment = _deployment(api, key, data_dir)
    try:
        faults = deployment.faults()
    except DeploymentError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        deployment.close()
    if not faults:
        click.echo("no fault in force")
    for fault in faults:
        click.echo(
            f"{fault['id']}  {fault['kind']:<18} {fault['target'] or 'everything':<16} "
            f"{fault['percentage']:g} %  ends in {fault['expires_at'] - fault['started_at']:.0f} s"
        )


@chaos.command("stop")
@_API
@_KEY
@_DATA_DIR
def chaos_stop(api: str, key: str | None, data_dir: Path | None) -> None:
    """End every fault in force now."""
    deployment = _deployment(api, key, data_dir)
    try:
        click.echo(f"ended {deployment.end_all_faults()} fault(s)")
    except DeploymentError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        deployment.close()


def _deployment(
    api: str, key: str | None, data_dir: Path | None, service: str = "chaos"
) -> Deployment:
    token = resolve_api_key(key, data_dir)
    if not token:
        raise click.UsageError(
            "no admin token: give --key, set BAKUSOKU_ADMIN_TOKEN, or --data-dir of the deployment"
        )
    return Deployment(api, token, service=service)
