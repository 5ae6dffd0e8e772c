"""Finisher certificates through a running `bakusoku up`: a finish result and a photo of the bib
in either order make the certificate (the results API and ReadBibs both open the door), a staff
tag opens it too, a correction makes revision 2, and the runner's own session sees theirs only."""

from __future__ import annotations

import io
import random
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

from bakusoku.imaging.text import text_available
from bench.bib_photos import Conditions, draw_photo
from tests.conftest import make_jpeg
from tests.e2e.races import open_race
from tests.e2e.server import RunningServer, upload_photo
from tests.e2e.test_pipeline_end_to_end import wait_final

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not text_available(), reason="the 'bibs' extra is not installed"),
]

RACE = "shonan-2026"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = RunningServer(tmp_path_factory.mktemp("certificates") / "data").start()
    yield running
    assert running.stop() == 0, running.log()


@pytest.fixture(scope="module")
def key(server: RunningServer) -> str:
    key = server.create_key("runs", role="admin")
    entries = "bib,name,surname\n1268,山田 太郎,山田\n988,佐藤 花子,佐藤\n305,Ann Smith,Smith\n"
    open_race(server.api, key, RACE, "第10回 湘南マラソン", entries)
    return key


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _upload(server: RunningServer, key: str, data: bytes) -> str:
    return upload_photo(server.api, key, RACE, data)


def _runner_photo(bib: str, seed: int) -> bytes:
    clear = Conditions(rotation=5.0, blur=0.8, occluded_share=0.0)
    return draw_photo(random.Random(seed), [bib], clear).jpeg


def _finish(server: RunningServer, key: str, bib: str, net: str) -> None:
    answer = httpx.post(
        f"{server.api}/v1/races/{RACE}/results",
        json={"results": [{"bib": bib, "net_time": net}]},
        headers=_bearer(key),
    )
    assert answer.status_code == 200, answer.text


def _certificate(
    server: RunningServer, key: str, bib: str, revision: int = 1, timeout: float = 120
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        answer = httpx.get(
            f"{server.api}/v1/races/{RACE}/runners/{bib}/certificate", headers=_bearer(key)
        )
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        if body["status"] in ("ready", "failed") and body.get("revision") == revision:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.3)


def _print_size(url: str) -> tuple[int, int]:
    answer = httpx.get(url, timeout=30)
    assert answer.status_code == 200
    return Image.open(io.BytesIO(answer.content)).size


def test_result_then_photo_makes_the_certificate(server: RunningServer, key: str) -> None:
    _finish(server, key, "1268", "3:12:45")
    photo = _upload(server, key, _runner_photo("1268", seed=3))

    made = _certificate(server, key, "1268")

    assert made["status"] == "ready" and made["photo_id"] == photo, made
    assert _print_size(made["files"]["L"]) == (1051, 1500)
    assert _print_size(made["files"]["2L"]) == (1500, 2102)
    assert httpx.get(made["files"]["pdf"], timeout=30).content.startswith(b"%PDF")


def test_photo_then_result_and_a_correction_makes_revision_2(
    server: RunningServer, key: str
) -> None:
    photo = _upload(server, key, _runner_photo("988", seed=5))
    assert wait_final(server.api, photo)["status"] == "ready"
    waiting = httpx.get(
        f"{server.api}/v1/races/{RACE}/runners/988/certificate", headers=_bearer(key)
    ).json()
    assert waiting["status"] == "waiting"

    _finish(server, key, "988", "4:01:00")
    first = _certificate(server, key, "988")
    _finish(server, key, "988", "4:01:00")  # the same result again starts nothing
    _finish(server, key, "988", "4:00:30")  # the timing correction
    second = _certificate(server, key, "988", revision=2)

    assert first["status"] == second["status"] == "ready"
    assert second["files"]["L"] != first["files"]["L"]


def test_a_staff_tag_opens_the_door_and_the_runner_sees_only_their_own(
    server: RunningServer, key: str
) -> None:
    plain = _upload(server, key, make_jpeg(1600, 1200))  # no bib the reader could see
    assert wait_final(server.api, plain)["status"] == "ready"
    _finish(server, key, "305", "2:59:59")
    httpx.put(
        f"{server.api}/v1/races/{RACE}/photos/{plain}/bibs",
        json={"bibs": ["305"]},
        headers=_bearer(key),
    ).raise_for_status()
    made = _certificate(server, key, "305")
    assert made["status"] == "ready" and made["photo_id"] == plain

    session = httpx.post(
        f"{server.api}/v1/runner/sessions",
        json={"service": "runs", "album": RACE, "bib": "305", "surname": "smith"},
    ).json()["session"]
    own = httpx.get(
        f"{server.api}/v1/runner/runners/305/certificate", headers={"X-Runner-Session": session}
    )
    other = httpx.get(
        f"{server.api}/v1/runner/runners/1268/certificate", headers={"X-Runner-Session": session}
    )
    nobody = httpx.get(f"{server.api}/v1/runner/runners/305/certificate")

    assert own.status_code == 200 and own.json()["status"] == "ready"
    assert other.status_code == 403 and other.json()["error"]["code"] == "runner.other_bib"
    assert nobody.status_code == 401
