"""Every metric the dashboard's PromQL names is one a running ``bakusoku up`` serves at /metrics."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bakusoku.ops.dashboards.panels import PANELS
from tests.conftest import make_jpeg
from tests.e2e.server import RunningServer, auth

pytestmark = pytest.mark.integration

_METRIC = re.compile(r"\bbakusoku_[a-z0-9_]+")
_BY = re.compile(r"\bby \(([^)]*)\)")


def dashboard_metrics() -> set[str]:
    return {name for panel in PANELS for q in panel.queries for name in _METRIC.findall(q.expr)}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = RunningServer(tmp_path_factory.mktemp("dashboards") / "data").start()
    yield running
    running.stop()


def _upload(api: str, data: bytes) -> str:
    body = {
        "filename": "photo.jpg",
        "content_type": "image/jpeg",
        "size": len(data),
        "album": "dashboards",
        "service": "school",
    }
    grant = httpx.post(f"{api}/v1/uploads", json=body, headers=auth(api)).json()
    upload = grant["upload"]
    put = httpx.request(upload["method"], upload["url"], content=data, headers=upload["headers"])
    assert put.status_code == 200, put.text
    return str(grant["photo_id"])


def _final_status(api: str, photo_id: str, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = httpx.get(f"{api}/v1/photos/{photo_id}", headers=auth(api)).json()["status"]
        if status not in ("pending", "processing"):
            return str(status)
        time.sleep(0.2)
    raise AssertionError(f"photo {photo_id} did not finish")


def _metrics_once_counted(server: RunningServer, sample: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while True:
        text = httpx.get(f"{server.api}/metrics", headers=server.headers).text
        if sample in text or time.monotonic() > deadline:
            return text
        time.sleep(0.2)


def test_every_metric_of_the_dashboard_is_served(server: RunningServer) -> None:
    # One photo that becomes ready and one that fails, so every labelled series has a sample.
    good = _upload(server.api, make_jpeg(800, 600))
    bad = _upload(server.api, make_jpeg(800, 600)[:2000])
    assert _final_status(server.api, good) == "ready"
    assert _final_status(server.api, bad) == "failed"

    # The photo is ready at MarkReady, inside the Parallel; its execution (and with it the
    # upload-to-ready sample) ends once IndexFaces and ReadBibs are done too.
    text = _metrics_once_counted(server, "bakusoku_upload_to_ready_seconds_count 1.0")
    served = {s.name for family in text_string_to_metric_families(text) for s in family.samples}
    wanted = dashboard_metrics()
    assert wanted, "the panels name no bakusoku metric"
    assert wanted - served == set(), "the dashboard queries metrics /metrics does not serve"
    assert "bakusoku_upload_to_ready_seconds_count 1.0" in text

    # Each label a panel groups by is one its metrics carry.
    labels: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels.setdefault(sample.name, set()).update(sample.labels)
    for panel in PANELS:
        for query in panel.queries:
            grouped = {g.strip() for by in _BY.findall(query.expr) for g in by.split(",")}
            carried = set().union(*(labels[m] for m in _METRIC.findall(query.expr)))
            assert grouped - carried == set(), (panel.title, query.expr)
