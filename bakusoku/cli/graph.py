"""``bakusoku graph``: the system map, as Mermaid text, SVG or JSON, read from the stack template.

Without ``--service`` and ``--stage`` it maps what ``bakusoku up`` runs; with them, that stack on
AWS, followed (Mermaid, JSON) by the link to the region's X-Ray service map. The web app's
``/ops/graph`` page draws the same map live.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from bakusoku.config import load_settings
from bakusoku.deploy.graph import stack_graph
from bakusoku.graph.mermaid import to_mermaid
from bakusoku.graph.svg import to_svg


@click.command("graph")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["mermaid", "svg", "json"]),
    default="mermaid",
    show_default=True,
)
@click.option("--service", default=None, help="Service name from the configuration (with --stage).")
@click.option("--stage", default=None, help="Stage of that service on AWS (with --service).")
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="Configuration file with services and stages (default ./bakusoku.yml).",
)
def graph_command(
    fmt: str, service: str | None, stage: str | None, config_file: Path | None
) -> None:
    """Print every event source, rule, queue, state, function, prefix and table, and what
    triggers what."""
    if (service is None) != (stage is None):
        raise click.UsageError("give --service and --stage together (or neither, for `up`)")
    graph = stack_graph(load_settings(config_file=config_file), service, stage)
    if fmt == "svg":
        click.echo(to_svg(graph))
    elif fmt == "json":
        click.echo(json.dumps(graph.to_json(), indent=2))
    else:
        click.echo(to_mermaid(graph), nl=False)
        for name, url in graph.links.items():
            click.echo(f"%% {name}: {url}")
