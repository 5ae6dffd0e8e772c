"""Bib numbers through a running `bakusoku up`: a photo of a runner uploaded into a race album
ends with its bib recorded (ReadBibs beside MarkReady, from the preview), and a photo in any
other album is not read at all."""

from __future__ import annotations

import random
from collections.abc import Iterator

import httpx
import pytest

from bakusoku.imaging.text import text_available
from bench.bib_photos import Conditions, draw_photo
from tests.e2e.races import open_race
from tests.e2e.server import RunningServer, read_bibs_output, upload_photo
from tests.e2e.test_pipeline_end_to_end import wait_final

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not text_available(), reason="the 'bibs' extra is not installed"),
]

RACE = "shonan-2026"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = RunningServer(tmp_path_factory.mktemp("bibs") / "data").start()
    yield running
    assert running.stop() == 0, running.log()


@pytest.fixture(scope="module")
def key(server: RunningServer) -> str:
    key = server.create_key("runs", role="admin")
    open_race(
        server.api, key, RACE, "湘南マラソン", "bib,name\n1268,走者 A\n988,走者 B\n305,走者 C\n"
    )
    return key


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _runners(bibs: list[str], seed: int) -> bytes:
    clear = Conditions(rotation=8.0, blur=1.0, occluded_share=0.0)
    return draw_photo(random.Random(seed), bibs, clear).jpeg  # 12 MP, a banner and a clock


def test_a_race_photo_ends_with_its_bibs_recorded(server: RunningServer, key: str) -> None:
    photo_id = upload_photo(server.api, key, RACE, _runners(["1268", "988"], seed=3))

    assert wait_final(server.api, photo_id)["status"] == "ready"
    output = read_bibs_output(server.api, photo_id)

    assert output["race"] is True and output["bibUnknown"] is False
    shown = httpx.get(
        f"{server.api}/v1/races/{RACE}/photos/{photo_id}/bibs", headers=_bearer(key)
    ).json()
    sure = {b["bib"] for b in shown["bibs"] if b["confidence"] >= 0.9}
    assert sure == {"1268", "988"}, shown
    assert all(b["source"] == "ocr" and len(b["box"]) == 4 for b in shown["bibs"])
    waiting = httpx.get(f"{server.api}/v1/races/{RACE}/bibs/unknown", headers=_bearer(key))
    assert photo_id not in [p["photo_id"] for p in waiting.json()["items"]]


def test_a_photo_of_another_album_is_not_read(server: RunningServer, key: str) -> None:
    photo_id = upload_photo(server.api, key, "sports-day", _runners(["1268"], seed=4))

    assert wait_final(server.api, photo_id)["status"] == "ready"

    assert read_bibs_output(server.api, photo_id) == {"photoId": photo_id, "race": False}
