"""The live map of a real ``bakusoku up`` after a few photos: each edge's traffic and errors."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bakusoku.graph.svg import FAILING, HEALTHY, SVG_NS
from tests.conftest import make_jpeg
from tests.e2e.server import RunningServer, auth
from tests.e2e.test_pipeline_end_to_end import upload, wait_final

GOOD = 3


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = RunningServer(tmp_path_factory.mktemp("graph") / "data").start()
    yield running
    assert running.stop() == 0, running.log()


@pytest.fixture(scope="module")
def photos(server: RunningServer) -> dict[str, str]:
    """Three photos that become ready and one whose bytes are cut short, which fails."""
    ids = [upload(server.api, make_jpeg(640, 480), album="map") for _ in range(GOOD)]
    ids.append(upload(server.api, make_jpeg(640, 480)[:400], album="map"))
    return {photo_id: wait_final(server.api, photo_id)["status"] for photo_id in ids}


def live_map(server: RunningServer, window: str = "5m") -> dict[str, Any]:
    response = httpx.get(
        f"{server.api}/v1/graph", params={"window": window}, headers=auth(server.api)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def between(body: dict[str, Any], source: str, target: str) -> dict[str, Any]:
    labels = {n["id"]: n["label"] for n in body["graph"]["nodes"]}
    (edge,) = [
        e
        for e in body["graph"]["edges"]
        if (labels[e["source"]], labels[e["target"]]) == (source, target)
    ]
    stats: dict[str, Any] = body["stats"][f"{edge['source']}->{edge['target']}:{edge['kind']}"]
    return stats


def test_each_pipeline_edge_carries_what_the_photos_did(
    server: RunningServer, photos: dict[str, str]
) -> None:
    assert sorted(photos.values()) == ["failed"] + ["ready"] * GOOD
    body = live_map(server)
    store = between(body, "StorePhoto", "store-photo")
    assert (store["count"], store["errors"]) == (GOOD + 1, 1)
    assert store["p50_ms"] > 0
    assert store["colour"] == FAILING  # one call in four failed
    renditions = between(body, "MakeRenditions", "make-renditions")
    assert (renditions["count"], renditions["errors"], renditions["colour"]) == (GOOD, 0, HEALTHY)
    assert between(body, "StorePhoto", "MarkFailed")["count"] == 1
    assert between(body, "IsDuplicate", "MakeRenditions")["count"] == GOOD
    started = between(body, "photo-pipeline", "StorePhoto")
    assert (started["count"], started["errors"]) == (GOOD + 1, 1)
    delivered = between(body, "object-created", "photo-pipeline")
    assert (delivered["count"], delivered["errors"]) == (GOOD + 1, 0)
    assert between(body, "PhotoBucket/uploads/", "object-created")["count"] == GOOD + 1
    served = between(body, "HTTP API", "api")  # the uploads granted and the photos polled
    assert served["count"] > GOOD + 1 and served["errors"] == 0 and served["p50_ms"] > 0


def test_the_map_is_drawn_in_svg_and_mermaid_with_the_failing_edge_red(
    server: RunningServer, photos: dict[str, str]
) -> None:
    body = live_map(server, "60m")
    root = ET.fromstring(body["svg"])
    red = [
        g.get("data-edge")
        for g in root.iter(f"{{{SVG_NS}}}g")
        if g.find(f"{{{SVG_NS}}}path[@stroke='{FAILING}']") is not None
    ]
    assert "PhotoPipeline_StorePhoto->StorePhotoFunction:invokes" in red
    assert "linkStyle" in body["mermaid"] and FAILING in body["mermaid"]
    assert body["window_seconds"] == 3600


def test_the_served_map_is_the_one_bakusoku_graph_prints(server: RunningServer) -> None:
    printed = json.loads(server.run_cli("graph", "--format", "json"))
    assert live_map(server)["graph"] == printed


def test_the_map_is_for_operators_and_its_page_is_public(server: RunningServer) -> None:
    key = server.create_key("e2e", role="admin")
    refused = httpx.get(f"{server.api}/v1/graph", headers={"Authorization": f"Bearer {key}"})
    assert refused.status_code == 403
    bad = httpx.get(f"{server.api}/v1/graph", params={"window": "1d"}, headers=auth(server.api))
    assert bad.status_code == 400
    assert bad.json()["error"]["field"] == "window"
    page = httpx.get(f"{server.api}/ops/graph")
    assert page.status_code == 200 and "/static/js/graph.js" in page.text
