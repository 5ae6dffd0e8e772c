"""The layered layout: acyclic, every node boxed once, no overlaps, triggers read left to right."""

from __future__ import annotations

import itertools

from bakusoku.graph.layout import DATA_EDGES, acyclic, layered_layout
from tests.graph.maps import local_map


def test_a_cycle_is_broken_by_reversing_one_edge() -> None:
    pairs = [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]
    result = acyclic(["a", "b", "c", "d"], pairs)
    assert len(result) == len(pairs)
    assert ("a", "c") in result  # the edge that closed the cycle, turned around
    assert {frozenset(p) for p in result} == {frozenset(p) for p in pairs}


def test_every_node_has_its_own_box() -> None:
    graph = local_map()
    layout = layered_layout(graph)
    assert set(layout.boxes) == {n.id for n in graph.nodes}
    for a, b in itertools.combinations(layout.boxes.values(), 2):
        apart = a.right <= b.x or b.right <= a.x or a.y + a.height <= b.y or b.y + b.height <= a.y
        assert apart, (a, b)
    assert all(
        b.right <= layout.width and b.y + b.height <= layout.height for b in layout.boxes.values()
    )


def test_what_triggers_what_goes_left_to_right_outside_cycles() -> None:
    graph = local_map()
    columns = layered_layout(graph).columns
    flow = [e for e in graph.edges if e.kind not in DATA_EDGES and e.kind != "catch"]
    backwards = [e for e in flow if columns[e.source] >= columns[e.target]]
    assert backwards == []
    machine = graph.node("PhotoPipeline")
    start = graph.node("PhotoPipeline_StorePhoto")
    assert columns[machine.id] < columns[start.id]
