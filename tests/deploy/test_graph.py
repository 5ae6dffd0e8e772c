"""``bakusoku graph`` for a stage: the map of the template that stage deploys, and its X-Ray link."""

from __future__ import annotations

from click.testing import CliRunner

from bakusoku.cli.main import cli
from bakusoku.deploy.graph import stack_graph, xray_service_map_url
from bakusoku.deploy.sam import build_template
from bakusoku.deploy.stages import load_stage
from bakusoku.graph.stored import bundled_map
from bakusoku.graph.template import graph_from_template
from tests.deploy.conftest import CASES, EXAMPLE, Packages, example_settings


def test_a_stage_map_is_its_template_with_the_regions_xray_service_map() -> None:
    settings = example_settings()
    service, stage = CASES[0]
    graph = stack_graph(settings, service, stage)
    deployed = graph_from_template(build_template(load_stage(settings, service, stage)))
    assert {n.id for n in deployed.nodes} <= {n.id for n in graph.nodes}
    assert set(deployed.edges) <= set(graph.edges)
    assert graph.links == {"X-Ray service map": xray_service_map_url(settings.region)}
    assert f"region={settings.region}" in graph.links["X-Ray service map"]
    assert f"{service}-{stage}" in graph.title


def test_the_command_prints_mermaid_with_the_link_and_refuses_half_a_stage() -> None:
    service, stage = CASES[0]
    runner = CliRunner()
    printed = runner.invoke(
        cli, ["graph", "--config", str(EXAMPLE), "--service", service, "--stage", stage]
    )
    assert printed.exit_code == 0, printed.output
    assert printed.output.splitlines()[1] == "flowchart LR"
    assert "%% X-Ray service map: https://" in printed.output
    half = runner.invoke(cli, ["graph", "--config", str(EXAMPLE), "--stage", stage])
    assert half.exit_code == 2
    assert "--service and --stage together" in half.output


def test_the_package_ships_the_stages_map_for_the_api(packages: Packages) -> None:
    service, stage = CASES[0]
    sam = packages.sam[(service, stage)]
    shipped = bundled_map(sam.bundle.path)
    assert shipped == stack_graph(example_settings(), service, stage)
    assert bundled_map(sam.bundle.path.parent / "nowhere") is None
