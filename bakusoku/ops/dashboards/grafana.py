"""The Grafana dashboard of bakusoku's Prometheus metrics, drawn from ``ops.dashboards.panels``.

The package ships the drawing as ``grafana.json`` beside this module (what ``bakusoku dashboards
grafana`` prints); ``python -m bakusoku.ops.dashboards.grafana`` writes it again after the panels
change, and a test keeps the two equal. The dashboard asks for its Prometheus data source in a
``datasource`` variable, so it imports into any Grafana without editing.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from bakusoku.ops.dashboards.panels import PANELS, Panel

SHIPPED = "grafana.json"
UID = "bakusoku-operations"
SCHEMA_VERSION = 39  # Grafana 10.4 and later read it
_DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
_WIDTH, _HEIGHT, _COLUMNS = 12, 8, 2  # two panels a row on Grafana's 24-column grid


def dashboard() -> dict[str, Any]:
    """The importable dashboard model."""
    return {
        "uid": UID,
        "title": "bakusoku operations",
        "description": "Uploads, pipeline runs, workers, queues and the database of bakusoku.",
        "tags": ["bakusoku"],
        "editable": True,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "time": {"from": "now-1h", "to": "now"},
        "refresh": "30s",
        "timezone": "utc",
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Prometheus",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                    "hide": 0,
                    "refresh": 1,
                }
            ]
        },
        "annotations": {"list": []},
        "panels": [_panel(i, panel) for i, panel in enumerate(PANELS)],
    }


def _panel(index: int, panel: Panel) -> dict[str, Any]:
    return {
        "id": index + 1,
        "type": "timeseries",
        "title": panel.title,
        "description": panel.description,
        "datasource": _DATASOURCE,
        "gridPos": {
            "x": (index % _COLUMNS) * _WIDTH,
            "y": (index // _COLUMNS) * _HEIGHT,
            "w": _WIDTH,
            "h": _HEIGHT,
        },
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True}},
        "targets": [
            {
                "datasource": _DATASOURCE,
                "refId": chr(ord("A") + n),
                "expr": query.expr,
                "legendFormat": query.legend,
            }
            for n, query in enumerate(panel.queries)
        ],
    }


def render() -> str:
    """The dashboard as the JSON text shipped in the package."""
    return json.dumps(dashboard(), indent=2) + "\n"


def shipped() -> str:
    """The ``grafana.json`` the package ships."""
    return resources.files("bakusoku.ops.dashboards").joinpath(SHIPPED).read_text(encoding="utf-8")


if __name__ == "__main__":  # regenerate the shipped file after changing the panels
    Path(__file__).with_name(SHIPPED).write_text(render(), encoding="utf-8")
