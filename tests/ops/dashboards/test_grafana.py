"""The shipped Grafana dashboard: importable JSON drawn from the one list of panels."""

from __future__ import annotations

import json

from click.testing import CliRunner

from bakusoku.cli.main import cli
from bakusoku.ops.dashboards import grafana
from bakusoku.ops.dashboards.panels import PANELS


def test_the_shipped_file_is_the_drawing_of_the_panels() -> None:
    assert grafana.shipped() == grafana.render(), (
        "grafana.json is out of date: run python -m bakusoku.ops.dashboards.grafana"
    )


def test_the_dashboard_is_importable_json_with_a_datasource_variable() -> None:
    model = json.loads(grafana.shipped())
    assert isinstance(model["schemaVersion"], int) and model["uid"] == grafana.UID
    (variable,) = model["templating"]["list"]
    assert (variable["type"], variable["query"]) == ("datasource", "prometheus")
    assert [p["title"] for p in model["panels"]] == [p.title for p in PANELS]
    for panel in model["panels"]:
        assert panel["datasource"]["uid"] == f"${{{variable['name']}}}"
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["expr"] and target["datasource"] == panel["datasource"]
        ids = [t["refId"] for t in panel["targets"]]
        assert len(set(ids)) == len(ids)


def test_panels_do_not_overlap_on_the_grid() -> None:
    cells = set()
    for panel in json.loads(grafana.shipped())["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24
        area = {
            (x, y)
            for x in range(pos["x"], pos["x"] + pos["w"])
            for y in range(pos["y"], pos["y"] + pos["h"])
        }
        assert not cells & area, panel["title"]
        cells |= area


def test_the_command_prints_the_shipped_dashboard() -> None:
    result = CliRunner().invoke(cli, ["dashboards", "grafana"])
    assert result.exit_code == 0, result.output
    assert result.output == grafana.shipped()
