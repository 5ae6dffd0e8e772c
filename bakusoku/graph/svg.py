"""The system map as a standalone SVG document, laid out by ``graph.layout`` (no system binary).

Nodes are rounded boxes coloured by kind with their name and a detail line; edges are curves with
their label. Given live ``EdgeStats``, each edge also shows its rate, median latency and error
share: grey when nothing passed, green when all went well, orange with some errors and red from
one error in ten. Built with ElementTree, so every name is escaped.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping

from bakusoku.graph.layout import DATA_EDGES, Box, Layout, layered_layout
from bakusoku.graph.model import Edge, EdgeStats, Node, NodeKind, SystemGraph

SVG_NS = "http://www.w3.org/2000/svg"
RED_FROM = 0.1  # an error share from which an edge is drawn red
IDLE, HEALTHY, DEGRADED, FAILING = "#9aa0a6", "#2e8b57", "#f08c00", "#d62728"
_FILL: dict[NodeKind, tuple[str, str]] = {  # (fill, stroke)
    "source": ("#eef0ff", "#55608f"),
    "api": ("#e8f4ff", "#3b7dd8"),
    "rule": ("#fff4e0", "#c98a2b"),
    "queue": ("#fbe9f2", "#b8457e"),
    "state_machine": ("#ece6ff", "#6a4fd8"),
    "state": ("#f7f5ff", "#8c7ae6"),
    "function": ("#fff0e0", "#e07b00"),
    "prefix": ("#e9f7ec", "#3b9a57"),
    "database": ("#e6f2f2", "#2f7f7f"),
    "table": ("#f4f9f9", "#6fa5a5"),
}
_LINK_LINE = 18  # a line below the map per link (the X-Ray service map on AWS)
_DASHED = {"catch", "dead_letters", "reads", "writes", "uses", "holds"}


def edge_colour(stats: EdgeStats | None) -> str:
    """The colour of an edge with ``stats`` (black when the map is not live)."""
    if stats is None:
        return "#555555"
    if stats.count == 0:
        return IDLE
    if stats.error_share >= RED_FROM:
        return FAILING
    return DEGRADED if stats.errors else HEALTHY


def to_svg(graph: SystemGraph, stats: Mapping[str, EdgeStats] | None = None) -> str:
    """The map as SVG text; ``stats`` by ``Edge.key`` make it a live map."""
    layout = layered_layout(graph)
    height = layout.height + _LINK_LINE * len(graph.links)
    ET.register_namespace("", SVG_NS)
    root = ET.Element(
        f"{{{SVG_NS}}}svg",
        {
            "width": f"{layout.width:.0f}",
            "height": f"{height:.0f}",
            "viewBox": f"0 0 {layout.width:.0f} {height:.0f}",
            "font-family": "system-ui, sans-serif",
            "font-size": "12",
            "role": "img",
        },
    )
    ET.SubElement(root, f"{{{SVG_NS}}}title").text = graph.title or "system map"
    _markers(root)
    edges = ET.SubElement(root, f"{{{SVG_NS}}}g", {"class": "edges"})
    for edge in graph.edges:
        _edge(edges, edge, layout, (stats or {}).get(edge.key), live=stats is not None)
    nodes = ET.SubElement(root, f"{{{SVG_NS}}}g", {"class": "nodes"})
    for node in graph.nodes:
        _node(nodes, node, layout.boxes[node.id])
    for index, (name, url) in enumerate(graph.links.items()):
        link = ET.SubElement(root, f"{{{SVG_NS}}}a", {"href": url, "target": "_blank"})
        text = ET.SubElement(
            link,
            f"{{{SVG_NS}}}text",
            {"x": "24", "y": f"{layout.height + _LINK_LINE * index + 12:.0f}", "fill": "#1a5fb4"},
        )
        text.text = f"{name} ↗"
    return ET.tostring(root, encoding="unicode")


def _markers(root: ET.Element) -> None:
    defs = ET.SubElement(root, f"{{{SVG_NS}}}defs")
    for name, colour in (
        ("plain", "#555555"),
        ("idle", IDLE),
        ("healthy", HEALTHY),
        ("degraded", DEGRADED),
        ("failing", FAILING),
    ):
        marker = ET.SubElement(
            defs,
            f"{{{SVG_NS}}}marker",
            {
                "id": f"arrow-{name}",
                "viewBox": "0 0 10 10",
                "refX": "10",
                "refY": "5",
                "markerWidth": "9",
                "markerHeight": "9",
                "markerUnits": "userSpaceOnUse",  # the same head on a thick (failing) edge
                "orient": "auto-start-reverse",
            },
        )
        ET.SubElement(marker, f"{{{SVG_NS}}}path", {"d": "M0,0 L10,5 L0,10 z", "fill": colour})


_MARKER_BY_COLOUR = {
    "#555555": "plain",
    IDLE: "idle",
    HEALTHY: "healthy",
    DEGRADED: "degraded",
    FAILING: "failing",
}


def _edge(
    parent: ET.Element, edge: Edge, layout: Layout, stats: EdgeStats | None, *, live: bool
) -> None:
    source, target = layout.boxes[edge.source], layout.boxes[edge.target]
    path, (lx, ly) = _route(
        source, target, layout.columns[edge.source] < layout.columns[edge.target]
    )
    colour = edge_colour(stats) if live else "#555555"
    group = ET.SubElement(
        parent,
        f"{{{SVG_NS}}}g",
        {
            "class": f"edge {edge.kind}",
            "data-edge": edge.key,
            "data-source": edge.source,
            "data-target": edge.target,
        },
    )
    attrs = {
        "d": path,
        "fill": "none",
        "stroke": colour,
        "stroke-width": "3" if stats is not None and stats.errors else "1.5",
        "marker-end": f"url(#arrow-{_MARKER_BY_COLOUR[colour]})",
    }
    if edge.kind in _DASHED:
        attrs["stroke-dasharray"] = "5 4"
    if edge.kind in DATA_EDGES and not (stats and stats.count):
        attrs["stroke-opacity"] = "0.45"  # what a function touches stays behind what triggers what
    ET.SubElement(group, f"{{{SVG_NS}}}path", attrs)
    lines = [edge.label] if edge.label else []
    if stats is not None and stats.count:
        lines.append(stats.summary())
    for index, line in enumerate(lines):
        label = ET.SubElement(
            group,
            f"{{{SVG_NS}}}text",
            {
                "x": f"{lx:.1f}",
                "y": f"{ly + index * 13 - (len(lines) - 1) * 6.5:.1f}",
                "text-anchor": "middle",
                "font-size": "10",
                "fill": colour if index else "#444444",
                "paint-order": "stroke",
                "stroke": "#ffffff",
                "stroke-width": "3",
            },
        )
        label.text = line
    if stats is not None:
        ET.SubElement(
            group, f"{{{SVG_NS}}}title"
        ).text = f"{edge.source} → {edge.target}: {stats.summary() if stats.count else 'idle'}"


def _route(source: Box, target: Box, forward: bool) -> tuple[str, tuple[float, float]]:
    """A curve from ``source`` to ``target`` and where its label goes."""
    if forward:
        x1, y1, x2, y2 = source.right, source.middle, target.x, target.middle
        bend = max(40.0, (x2 - x1) / 2)
        path = f"M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} {x2 - bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
        return path, ((x1 + x2) / 2, (y1 + y2) / 2 - 4)
    # Backwards or within a column: leave from the bottom and arrive at the bottom, below both.
    x1, y1 = source.x + source.width / 2, source.y + source.height
    x2, y2 = target.x + target.width / 2, target.y + target.height
    dip = max(y1, y2) + 40
    path = f"M{x1:.1f},{y1:.1f} C{x1:.1f},{dip:.1f} {x2:.1f},{dip:.1f} {x2:.1f},{y2:.1f}"
    return path, ((x1 + x2) / 2, dip - 8)


def _node(parent: ET.Element, node: Node, box: Box) -> None:
    fill, stroke = _FILL[node.kind]
    group = ET.SubElement(
        parent, f"{{{SVG_NS}}}g", {"class": f"node {node.kind}", "data-node": node.id}
    )
    radius = "20" if node.kind in ("state", "source") else "6"
    ET.SubElement(
        group,
        f"{{{SVG_NS}}}rect",
        {
            "x": f"{box.x:.1f}",
            "y": f"{box.y:.1f}",
            "width": f"{box.width:.0f}",
            "height": f"{box.height:.0f}",
            "rx": radius,
            "fill": fill,
            "stroke": stroke,
            "stroke-width": "1.5",
        },
    )
    ET.SubElement(group, f"{{{SVG_NS}}}title").text = f"{node.kind.replace('_', ' ')}: {node.label}"
    name = ET.SubElement(
        group,
        f"{{{SVG_NS}}}text",
        {
            "x": f"{box.x + box.width / 2:.1f}",
            "y": f"{box.y + 18:.1f}",
            "text-anchor": "middle",
            "font-weight": "600",
        },
    )
    name.text = _fit(node.label, 24)
    detail = ET.SubElement(
        group,
        f"{{{SVG_NS}}}text",
        {
            "x": f"{box.x + box.width / 2:.1f}",
            "y": f"{box.y + 34:.1f}",
            "text-anchor": "middle",
            "font-size": "10",
            "fill": "#555555",
        },
    )
    detail.text = _fit(
        f"{node.kind.replace('_', ' ')} · {node.detail}"
        if node.detail
        else node.kind.replace("_", " "),
        32,
    )


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
