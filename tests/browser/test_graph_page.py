"""The system map page of a real ``bakusoku up``: drawn live, the failing edge red, screenshot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bakusoku.graph.svg import FAILING
from tests.browser.conftest import REPORT
from tests.conftest import make_jpeg
from tests.e2e.server import RunningServer
from tests.e2e.test_pipeline_end_to_end import upload, wait_final


def test_the_map_page_draws_each_edges_traffic_and_the_failing_call_in_red(
    server: RunningServer, playwright_browser: Any, screenshots: Path
) -> None:
    ids = [upload(server.api, make_jpeg(800, 600), album="map") for _ in range(3)]
    ids.append(upload(server.api, make_jpeg(800, 600)[:500], album="map"))
    assert sorted(wait_final(server.api, i)["status"] for i in ids) == ["failed"] + ["ready"] * 3
    context = playwright_browser.new_context(viewport={"width": 1600, "height": 1100})
    page = context.new_page()
    try:
        page.goto(f"{server.api}/ops/graph#key={server.admin_token}")
        page.wait_for_selector("#map svg g[data-node='PhotoPipeline_StorePhoto']")
        failing = "PhotoPipeline_StorePhoto->StorePhotoFunction:invokes"
        page.wait_for_selector(f"#edges tr.failing[data-edge='{failing}']")
        stroke = page.get_attribute(f"#map g[data-edge='{failing}'] path", "stroke")
        assert stroke == FAILING
        assert page.locator("#edges tbody tr").count() >= 6
        assert page.is_hidden("#error")
        page.click("#window label:has-text('Last 60 minutes')")
        page.wait_for_selector(f"#edges tr.failing[data-edge='{failing}']")
        path = screenshots / "system-map.png"
        page.screenshot(path=str(path), full_page=True)
        REPORT["system map"] = str(path)
    finally:
        context.close()
