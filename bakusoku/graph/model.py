"""The system map's model: typed nodes (sources, rules, queues, states, functions...) and edges.

A ``SystemGraph`` is plain data: ``graph.template`` builds it from a stack template, the renderers
(``graph.mermaid``, ``graph.svg``) draw it and ``graph.live`` measures its edges. Node ids are
stable and safe as Mermaid and SVG identifiers; ``attrs`` carry what a measurement matches on
(a state's name, a function's name, a bucket prefix), never a display string.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

NodeKind = Literal[
    "source",  # something outside the stack that starts work: a deploy, a schedule, an event bus
    "api",
    "rule",
    "queue",
    "state_machine",
    "state",
    "function",
    "prefix",
    "database",
    "table",
]
EdgeKind = Literal[
    "triggers",  # an event source or rule delivers to its target
    "starts",  # a state machine's first state
    "next",
    "choice",
    "catch",
    "invokes",  # a Task state calls its function
    "dead_letters",  # undeliverable events go to a queue
    "emits",  # an object write or an execution's end becomes an event
    "reads",
    "writes",
    "uses",  # a function calls a service (the database, the state machine's history)
    "holds",  # the database holds a table
]
NODE_KINDS: tuple[NodeKind, ...] = NodeKind.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Node:
    """One box of the map: what it is, what it is called, and facts about it."""

    id: str
    kind: NodeKind
    label: str
    detail: str = ""
    group: str = ""  # the id of the node it belongs to (a state's machine), if any
    attrs: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Edge:
    """One arrow: ``source`` triggers, calls or touches ``target``."""

    source: str
    target: str
    kind: EdgeKind
    label: str = ""

    @property
    def key(self) -> str:
        return f"{self.source}->{self.target}:{self.kind}"


@dataclass(frozen=True)
class SystemGraph:
    """Every node and edge of one stack, with the links an operator follows from the map."""

    title: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    links: Mapping[str, str] = field(default_factory=dict)

    def node(self, node_id: str) -> Node:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def of_kind(self, kind: NodeKind) -> list[Node]:
        return [n for n in self.nodes if n.kind == kind]

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "links": dict(self.links),
            "nodes": [
                {
                    "id": n.id,
                    "kind": n.kind,
                    "label": n.label,
                    "detail": n.detail,
                    "group": n.group,
                    "attrs": dict(n.attrs),
                }
                for n in self.nodes
            ],
            "edges": [
                {"source": e.source, "target": e.target, "kind": e.kind, "label": e.label}
                for e in self.edges
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SystemGraph:
        return cls(
            title=str(data["title"]),
            links=dict(data.get("links", {})),
            nodes=tuple(
                Node(
                    id=n["id"],
                    kind=n["kind"],
                    label=n["label"],
                    detail=n.get("detail", ""),
                    group=n.get("group", ""),
                    attrs=dict(n.get("attrs", {})),
                )
                for n in data["nodes"]
            ),
            edges=tuple(
                Edge(e["source"], e["target"], e["kind"], e.get("label", "")) for e in data["edges"]
            ),
        )


def safe_id(*parts: str) -> str:
    """An identifier Mermaid and SVG accept, readable: ``("PhotoBucket", "uploads/")`` →
    ``PhotoBucket_uploads``."""
    text = "_".join(p for p in parts if p)
    cleaned = "".join(c if c.isalnum() else "_" for c in text).strip("_")
    while "__" in cleaned:
        cleaned = cleaned.replace("__", "_")
    return cleaned or "root"


@dataclass(frozen=True)
class EdgeStats:
    """What went along one edge in a window: how often, how fast (median) and how often it failed."""

    count: int
    per_minute: float
    p50_ms: float | None  # None: the edge has no duration (an event, a transition)
    errors: int

    @property
    def error_share(self) -> float:
        return self.errors / self.count if self.count else 0.0

    def summary(self) -> str:
        """``12.0/min · p50 85 ms · 8% errors``: the edge's label on a live map."""
        parts = [f"{_rate(self.per_minute)}/min"]
        if self.p50_ms is not None:
            parts.append(f"p50 {_duration(self.p50_ms)}")
        if self.errors:
            parts.append(f"{self.error_share:.0%} errors")
        return " · ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "per_minute": round(self.per_minute, 3),
            "p50_ms": None if self.p50_ms is None else round(self.p50_ms, 1),
            "errors": self.errors,
            "error_share": round(self.error_share, 4),
        }


def _rate(per_minute: float) -> str:
    if per_minute >= 10:
        return f"{per_minute:.0f}"
    return f"{per_minute:.1f}" if per_minute >= 1 else f"{per_minute:.2f}"


def _duration(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"
