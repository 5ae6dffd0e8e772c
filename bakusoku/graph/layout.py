"""A layered left-to-right layout of the system map, so SVG needs no Graphviz binary.

The classic steps, kept small: cycles are broken by reversing the edges a depth-first search
meets going back; each node's column is its longest path from a source; rows within a column are
ordered by the mean row of their neighbours (a few sweeps each way), which removes most
crossings on a map this size; columns are centred vertically.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bakusoku.graph.model import SystemGraph

NODE_WIDTH = 176
NODE_HEIGHT = 44
COLUMN_GAP = 96
ROW_GAP = 26
MARGIN = 24
_SWEEPS = 4
# Edges that say what a function touches, not what triggers what: they do not set the columns.
DATA_EDGES = frozenset({"reads", "writes", "uses", "holds"})
UNRANKED_EDGES = DATA_EDGES | {"catch"}


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def middle(self) -> float:
        return self.y + self.height / 2


@dataclass(frozen=True)
class Layout:
    boxes: dict[str, Box]
    columns: dict[str, int]
    width: float
    height: float


def layered_layout(graph: SystemGraph) -> Layout:
    ids = [n.id for n in graph.nodes]
    pairs = [(e.source, e.target) for e in graph.edges if e.source != e.target]
    data = [(e.source, e.target) for e in graph.edges if e.kind in DATA_EDGES]
    flow_nodes = {n for e in graph.edges if e.kind not in DATA_EDGES for n in (e.source, e.target)}
    columns = _flow_columns(graph, ids)
    _place_data_only(ids, flow_nodes, data, columns)
    forward = [(s, t) if columns[s] <= columns[t] else (t, s) for s, t in pairs]
    rows = _order_rows(ids, forward, columns)
    height = max((len(r) for r in rows), default=0) * (NODE_HEIGHT + ROW_GAP) - ROW_GAP
    boxes: dict[str, Box] = {}
    for column, members in enumerate(rows):
        used = len(members) * (NODE_HEIGHT + ROW_GAP) - ROW_GAP
        top = MARGIN + (height - used) / 2
        for row, node_id in enumerate(members):
            boxes[node_id] = Box(
                MARGIN + column * (NODE_WIDTH + COLUMN_GAP),
                top + row * (NODE_HEIGHT + ROW_GAP),
                NODE_WIDTH,
                NODE_HEIGHT,
            )
    width = 2 * MARGIN + len(rows) * (NODE_WIDTH + COLUMN_GAP) - COLUMN_GAP
    return Layout(boxes, columns, max(width, 0), 2 * MARGIN + max(height, 0))


def acyclic(ids: Sequence[str], pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """``pairs`` with each edge that closes a cycle reversed; sources are searched first."""
    children: dict[str, list[str]] = {i: [] for i in ids}
    has_parent = {t for _, t in pairs}
    for source, target in pairs:
        children[source].append(target)
    state: dict[str, int] = {}  # 1: on the search path, 2: done
    back: set[tuple[str, str]] = set()
    roots = [i for i in ids if i not in has_parent] + list(ids)
    for root in roots:
        if root in state:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        state[root] = 1
        while stack:
            node, index = stack.pop()
            if index < len(children[node]):
                stack.append((node, index + 1))
                child = children[node][index]
                if state.get(child) == 1:
                    back.add((node, child))
                elif child not in state:
                    state[child] = 1
                    stack.append((child, 0))
            else:
                state[node] = 2
    return [(t, s) if (s, t) in back else (s, t) for s, t in pairs]


def _flow_columns(graph: SystemGraph, ids: Sequence[str]) -> dict[str, int]:
    """Columns by what triggers what. A state reached by Catches is ranked after the earliest
    state that catches into it, not after the last: the failure path sits beside the first
    state that may fail, which keeps the map about half as wide."""
    flow = [(e.source, e.target) for e in graph.edges if e.kind not in UNRANKED_EDGES]
    first = _columns(ids, acyclic(ids, flow))
    earliest: dict[str, str] = {}
    for edge in graph.edges:
        if edge.kind == "catch" and edge.source != edge.target:
            known = earliest.get(edge.target)
            if known is None or first[edge.source] < first[known]:
                earliest[edge.target] = edge.source
    catches = [(source, target) for target, source in earliest.items()]
    return _columns(ids, acyclic(ids, flow + catches))


def _columns(ids: Sequence[str], pairs: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Each node's longest path from a source (Kahn's order over the acyclic edges)."""
    incoming = {i: 0 for i in ids}
    children: dict[str, list[str]] = {i: [] for i in ids}
    for source, target in pairs:
        incoming[target] += 1
        children[source].append(target)
    column = {i: 0 for i in ids}
    ready = [i for i in ids if incoming[i] == 0]
    while ready:
        node = ready.pop(0)
        for child in children[node]:
            column[child] = max(column[child], column[node] + 1)
            incoming[child] -= 1
            if incoming[child] == 0:
                ready.append(child)
    return column


def _place_data_only(
    ids: Sequence[str],
    in_flow: set[str],
    data: Sequence[tuple[str, str]],
    columns: dict[str, int],
) -> None:
    """A node reached only by data edges (a table, a prefix nothing watches) goes right of its
    users, so what triggers what reads left to right undisturbed."""
    data_only = [i for i in ids if i not in in_flow]
    for _ in range(len(data_only) + 1):
        changed = False
        for source, target in data:
            if target in data_only and columns[target] <= columns[source]:
                columns[target] = columns[source] + 1
                changed = True
        if not changed:
            return


def _order_rows(
    ids: Sequence[str], pairs: Sequence[tuple[str, str]], columns: dict[str, int]
) -> list[list[str]]:
    count = max(columns.values(), default=-1) + 1
    rows: list[list[str]] = [[] for _ in range(count)]
    for node_id in ids:
        rows[columns[node_id]].append(node_id)
    parents: dict[str, list[str]] = {i: [] for i in ids}
    children: dict[str, list[str]] = {i: [] for i in ids}
    for source, target in pairs:
        parents[target].append(source)
        children[source].append(target)
    for _ in range(_SWEEPS):
        for c in range(1, count):
            rows[c] = _by_barycentre(rows[c], parents, rows)
        for c in range(count - 2, -1, -1):
            rows[c] = _by_barycentre(rows[c], children, rows)
    return rows


def _by_barycentre(
    members: list[str], neighbours: dict[str, list[str]], rows: list[list[str]]
) -> list[str]:
    position = {node_id: index for row in rows for index, node_id in enumerate(row)}

    def weight(item: tuple[int, str]) -> float:
        index, node_id = item
        near = [position[n] for n in neighbours[node_id] if n in position]
        return sum(near) / len(near) if near else float(index)

    return [node_id for _, node_id in sorted(enumerate(members), key=weight)]
