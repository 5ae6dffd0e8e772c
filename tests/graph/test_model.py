"""The map's model: ids, a JSON round trip, and how an edge's traffic reads."""

from __future__ import annotations

from bakusoku.graph.model import EdgeStats, SystemGraph, safe_id
from tests.graph.maps import local_map


def test_ids_are_plain_identifiers() -> None:
    assert safe_id("PhotoBucket", "uploads/") == "PhotoBucket_uploads"
    assert safe_id("rule", "bakusoku-prod-object-created") == "rule_bakusoku_prod_object_created"
    assert safe_id("", "/") == "root"


def test_the_json_form_gives_back_the_same_map() -> None:
    graph = local_map()
    assert SystemGraph.from_json(graph.to_json()) == graph


def test_an_edges_traffic_reads_rate_median_and_errors() -> None:
    assert (
        EdgeStats(count=24, per_minute=4.8, p50_ms=85.2, errors=0).summary()
        == "4.8/min · p50 85 ms"
    )
    assert (
        EdgeStats(count=60, per_minute=12.0, p50_ms=1500.0, errors=6).summary()
        == "12/min · p50 1.5 s · 10% errors"
    )
    assert EdgeStats(count=1, per_minute=0.0167, p50_ms=None, errors=1).summary() == (
        "0.02/min · 100% errors"
    )
    assert EdgeStats(count=0, per_minute=0.0, p50_ms=None, errors=0).error_share == 0.0
