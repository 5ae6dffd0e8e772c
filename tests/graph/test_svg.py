"""The SVG map: a valid document with a box per node and a curve per edge, coloured when live."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace

from bakusoku.graph.model import EdgeStats
from bakusoku.graph.svg import FAILING, HEALTHY, IDLE, RED_FROM, SVG_NS, edge_colour, to_svg
from tests.graph.maps import local_map

NS = {"svg": SVG_NS}


def test_the_document_parses_with_a_group_per_node_and_per_edge() -> None:
    graph = local_map()
    root = ET.fromstring(to_svg(graph))
    assert root.tag == f"{{{SVG_NS}}}svg"
    nodes = root.findall(".//svg:g[@data-node]", NS)
    edges = root.findall(".//svg:g[@data-edge]", NS)
    assert sorted(n.get("data-node") for n in nodes) == sorted(n.id for n in graph.nodes)
    assert sorted(e.get("data-edge") for e in edges) == sorted(e.key for e in graph.edges)
    texts = {t.text for t in root.iter(f"{{{SVG_NS}}}text")}
    assert {n.label[:23] for n in graph.nodes} <= {t[:23] for t in texts if t}


def test_names_are_escaped() -> None:
    graph = local_map()
    hostile = replace(graph, title='<script>alert("x")</script> & co')
    document = to_svg(hostile)
    assert "<script>" not in document
    assert ET.fromstring(document).find("svg:title", NS).text == hostile.title  # type: ignore[union-attr]


def test_live_edges_are_coloured_by_their_error_share() -> None:
    graph = local_map()
    failing, healthy, idle, unmeasured = graph.edges[:4]
    errors = int(10 * RED_FROM) + 1
    stats = {
        failing.key: EdgeStats(count=10, per_minute=2.0, p50_ms=120.0, errors=errors),
        healthy.key: EdgeStats(count=10, per_minute=2.0, p50_ms=80.0, errors=0),
        idle.key: EdgeStats(count=0, per_minute=0.0, p50_ms=None, errors=0),
    }
    root = ET.fromstring(to_svg(graph, stats))

    def stroke(key: str) -> str | None:
        group = root.find(f".//svg:g[@data-edge='{key}']", NS)
        assert group is not None
        return group.find("svg:path", NS).get("stroke")  # type: ignore[union-attr]

    assert stroke(failing.key) == FAILING
    assert stroke(healthy.key) == HEALTHY
    assert stroke(idle.key) == IDLE
    assert stroke(unmeasured.key) == edge_colour(None)  # nothing records it: drawn plain
    assert edge_colour(stats[failing.key]) == FAILING
    labels = [t.text for t in root.iter(f"{{{SVG_NS}}}text")]
    assert stats[failing.key].summary() in labels
    assert "errors" in stats[failing.key].summary()


def test_the_maps_links_are_drawn_below_it() -> None:
    url = "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#xray:service-map/map"
    graph = replace(local_map(), links={"X-Ray service map": url})
    root = ET.fromstring(to_svg(graph))
    (link,) = root.findall("svg:a", NS)
    assert link.get("href") == url
    assert link.find("svg:text", NS).text == "X-Ray service map ↗"  # type: ignore[union-attr]
    assert float(root.get("height", 0)) > float(ET.fromstring(to_svg(local_map())).get("height", 0))
