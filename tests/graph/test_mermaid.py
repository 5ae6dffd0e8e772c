"""The Mermaid text: a flowchart with a line per node and per edge, errors coloured."""

from __future__ import annotations

import re

from bakusoku.graph.mermaid import to_mermaid
from tests.graph.maps import local_map

NODE = re.compile(r'^\s+(\w+)[\[\(\{/]+"')
EDGE = re.compile(r"^\s+(\w+) (-->|-\.->|---)(\|\"[^\"]*\"\|)? (\w+)$")


def test_every_node_and_edge_is_one_line() -> None:
    graph = local_map()
    text = to_mermaid(graph)
    lines = text.splitlines()
    assert "flowchart LR" in lines[:2]
    declared = [m.group(1) for line in lines if (m := NODE.match(line))]
    assert sorted(declared) == sorted(n.id for n in graph.nodes)
    drawn = [(m.group(1), m.group(4)) for line in lines if (m := EDGE.match(line))]
    assert drawn == [(e.source, e.target) for e in graph.edges]
    assert text.count("subgraph ") == text.count("\n  end")


def test_states_are_inside_their_machine_and_errors_are_coloured() -> None:
    graph = local_map()
    failing = graph.edges[3]
    text = to_mermaid(graph, {failing.key: "3.0/min · 50% errors"}, {failing.key: 0.5})
    block = text.split("subgraph PhotoPipeline_group", 1)[1].split("\n  end", 1)[0]
    assert {n.id for n in graph.nodes if n.group == "PhotoPipeline"} == set(
        re.findall(r"^\s+(\w+)\(", block, flags=re.MULTILINE)
    )
    assert "linkStyle 3 stroke:#d62728" in text
    assert '"3.0/min · 50% errors"' in text
    assert text.count("linkStyle") == 1
