"""``bakusoku dashboards``: print the operations dashboards the package ships, to import them."""

from __future__ import annotations

import click

from bakusoku.ops.dashboards import grafana


@click.group("dashboards")
def dashboards() -> None:
    """Print a shipped dashboard (e.g. bakusoku dashboards grafana > bakusoku.json)."""


@click.command("grafana")
def grafana_command() -> None:
    """The Grafana dashboard of the Prometheus metrics at /metrics (JSON, for Import dashboard)."""
    click.echo(grafana.shipped(), nl=False)


dashboards.add_command(grafana_command)
