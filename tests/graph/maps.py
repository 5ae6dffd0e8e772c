"""The maps the graph tests read: built from the real template builder, as ``bakusoku graph``."""

from __future__ import annotations

from typing import Any

from bakusoku.config import Settings
from bakusoku.db.schema import metadata
from bakusoku.deploy.graph import local_stage
from bakusoku.deploy.sam import build_template
from bakusoku.graph.model import SystemGraph
from bakusoku.graph.template import graph_from_template

TABLES = sorted(t.name for t in metadata.sorted_tables)


def template(settings: Settings | None = None) -> dict[str, Any]:
    return build_template(local_stage(settings or Settings()))


def local_map(settings: Settings | None = None) -> SystemGraph:
    return graph_from_template(template(settings), tables=TABLES)
