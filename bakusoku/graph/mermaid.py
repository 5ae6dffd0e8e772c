"""The system map as Mermaid flowchart text (GitHub, GitLab and most wikis draw it).

States are drawn inside a subgraph per state machine, tables inside the database's; each kind of
node has its own shape, and edges that measured errors are coloured (``graph.live``).
"""

from __future__ import annotations

from collections.abc import Mapping

from bakusoku.graph.model import Edge, Node, NodeKind, SystemGraph

# Shapes by kind: (opening, closing) of Mermaid's node syntax.
_SHAPES: dict[NodeKind, tuple[str, str]] = {
    "source": ("([", "])"),
    "api": ("[/", "/]"),
    "rule": ("{{", "}}"),
    "queue": ("[(", ")]"),
    "state_machine": ("[[", "]]"),
    "state": ("(", ")"),
    "function": ("[", "]"),
    "prefix": ("[/", "\\]"),
    "database": ("[(", ")]"),
    "table": ("[", "]"),
}
_ARROWS = {"catch": "-.->", "dead_letters": "-.->", "reads": "-.->", "holds": "---", "uses": "-.->"}


def to_mermaid(
    graph: SystemGraph,
    edge_labels: Mapping[str, str] | None = None,
    errors: Mapping[str, float] | None = None,
) -> str:
    """Flowchart text; ``edge_labels`` (by ``Edge.key``) replace labels, ``errors`` colour edges."""
    edge_labels = edge_labels or {}
    errors = errors or {}
    lines = ["flowchart LR"]
    if graph.title:
        lines.insert(0, f"%% {graph.title}")
    grouped: dict[str, list[Node]] = {}
    for node in graph.nodes:
        grouped.setdefault(_container(graph, node), []).append(node)
    for node in grouped.get("", []):
        lines.append("  " + _node(node))
        members = grouped.get(node.id, [])
        if members:
            lines.append(f'  subgraph {node.id}_group ["{_text(node.label)}"]')
            lines.extend("    " + _node(m) for m in members)
            lines.append("  end")
    for index, edge in enumerate(graph.edges):
        lines.append("  " + _edge(edge, edge_labels.get(edge.key, edge.label)))
        share = errors.get(edge.key, 0.0)
        if share > 0:
            colour = "#d62728" if share >= 0.1 else "#ff7f0e"
            lines.append(f"  linkStyle {index} stroke:{colour},stroke-width:3px")
    for kind in _SHAPES:
        lines.append(f"  classDef {kind} {_CLASS_STYLES[kind]}")
    for node in graph.nodes:
        lines.append(f"  class {node.id} {node.kind}")
    return "\n".join(lines) + "\n"


def _container(graph: SystemGraph, node: Node) -> str:
    if node.group:
        return node.group
    if node.kind == "table":
        return next(
            (e.source for e in graph.edges if e.target == node.id and e.kind == "holds"), ""
        )
    return ""


def _node(node: Node) -> str:
    start, end = _SHAPES[node.kind]
    label = _text(node.label) + (f"<br/><small>{_text(node.detail)}</small>" if node.detail else "")
    return f'{node.id}{start}"{label}"{end}'


def _edge(edge: Edge, label: str) -> str:
    arrow = _ARROWS.get(edge.kind, "-->")
    text = label or ("" if edge.kind in ("next", "holds") else edge.kind.replace("_", " "))
    return (
        f'{edge.source} {arrow}|"{_text(text)}"| {edge.target}'
        if text
        else f"{edge.source} {arrow} {edge.target}"
    )


def _text(text: str) -> str:
    """Mermaid labels in quotes take any character but the quote itself."""
    return text.replace('"', "#quot;")


_CLASS_STYLES: dict[NodeKind, str] = {
    "source": "fill:#eef,stroke:#557",
    "api": "fill:#e8f4ff,stroke:#3b7dd8",
    "rule": "fill:#fff4e0,stroke:#d89a3b",
    "queue": "fill:#fbe9f2,stroke:#b8457e",
    "state_machine": "fill:#ece6ff,stroke:#6a4fd8",
    "state": "fill:#f5f2ff,stroke:#8c7ae6",
    "function": "fill:#fff0e0,stroke:#e07b00",
    "prefix": "fill:#e9f7ec,stroke:#3b9a57",
    "database": "fill:#e6f2f2,stroke:#2f7f7f",
    "table": "fill:#f2f8f8,stroke:#5f9f9f",
}
