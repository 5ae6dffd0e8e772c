"""A small race end to end, as an organiser runs it, under a real `bakusoku up` and through the real
doors only: the race and its entry list (CSV with Japanese headers), a runner following on LINE,
eight photos with drawn bibs uploaded through presigned URLs, the timing results posted in the
middle of the burst; then photos ready, bibs read, certificates ready at print size (L and 2L
JPEGs at 300 dpi, a PDF of the L page), exactly one LINE message for the photos and one for the
certificate; the runner opens their gallery by bib and surname and sees only their own photos,
and nothing of another runner's can be had (a wrong surname is refused as a missing bib is)."""

from __future__ import annotations

import io
import random
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

from bakusoku.imaging.text import text_available
from bakusoku.races import line
from bench.bib_photos import Conditions, draw_photo
from tests.conftest import make_jpeg
from tests.e2e.races import server_with_line
from tests.e2e.server import RunningServer, read_bibs_output, upload_photo
from tests.e2e.test_pipeline_end_to_end import wait_final
from tests.races.stand_ins import LineStandIn, line_text_event

pytestmark = [
    pytest.mark.integration,
    pytest.mark.clock,  # batch windows end on the clock
    pytest.mark.skipif(not text_available(), reason="the 'bibs' extra is not installed"),
]

SERVICE = "runs"
LINE_SECRET = "line-channel-secret-race-day-0123456789"
# Photos of a bib are announced once per window (aligned on the clock); the burst is uploaded
# with most of a window ahead, so each runner's photos fall in one window (checked).
BATCH_SECONDS = 60
ENTRIES = "ゼッケン,氏名,姓,種目\n1268,山田 太郎,山田,フル\n988,佐藤 花子,佐藤,フル\n305,Ann Smith,Smith,10K\n4021,鈴木 一郎,鈴木,10K\n"
RESULTS = "ゼッケン,ネット\n1268,3:12:45\n988,4:01:00\n305,0:52:10\n4021,0:48:03\n"
# The burst: bib (None: a photo nobody's bib shows) and the seed of its drawing, as the finish
# line gives them; the results are posted after the fourth.
BURST: list[tuple[str | None, int]] = [
    ("1268", 3),
    ("988", 4),
    ("305", 1),
    ("1268", 5),
    (None, 0),
    ("4021", 1),
    ("1268", 6),
    ("305", 2),
]
# Print sizes at 300 dpi: L is 89 x 127 mm, 2L 127 x 178 mm; a PDF point is 1/72 inch.
L_PIXELS, TWO_L_PIXELS = (1051, 1500), (1500, 2102)
L_POINTS = (89 / 25.4 * 72, 127 / 25.4 * 72)


class Race:
    def __init__(self, server: RunningServer, line_api: LineStandIn) -> None:
        self.server, self.line = server, line_api
        self.key = server.create_key(SERVICE, role="admin")
        self.album = f"shonan-{uuid.uuid4().hex[:8]}"

    @property
    def api(self) -> str:
        return self.server.api

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@pytest.fixture(scope="module")
def race(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Race]:
    data_dir = tmp_path_factory.mktemp("race-day") / "data"
    with server_with_line(data_dir, LINE_SECRET, BATCH_SECONDS) as (server, line_api):
        yield Race(server, line_api)


def _photo(bib: str | None, seed: int) -> bytes:
    if bib is None:
        return make_jpeg(2400, 1800)
    clear = Conditions(rotation=4.0, blur=0.5, occluded_share=0.0)
    return draw_photo(random.Random(seed), [bib], clear, size=(2400, 1800)).jpeg


def _sign_in(race: Race, bib: str, surname: str) -> httpx.Response:
    return httpx.post(
        f"{race.api}/v1/runner/sessions",
        json={"service": SERVICE, "album": race.album, "bib": bib, "surname": surname},
    )


def _me(race: Race, session: str) -> dict[str, Any]:
    answer = httpx.get(f"{race.api}/v1/runner/me", headers={"X-Runner-Session": session})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _follow_on_line(race: Race, session: str, user: str) -> None:
    """The runner sends the code their page shows to the race's LINE account."""
    body = line_text_event(user, _me(race, session)["line_code"])
    answer = httpx.post(
        f"{race.api}/line/webhook",
        content=body,
        headers={
            "x-line-signature": line.signature(LINE_SECRET, body),
            "Content-Type": "application/json",
        },
    )
    assert answer.status_code == 200, answer.text
    assert _me(race, session)["subscriptions"] == ["line"]


def _with_a_window_ahead(seconds: float) -> None:
    """Wait for the next batch window when less than ``seconds`` of this one are left."""
    left = BATCH_SECONDS - time.time() % BATCH_SECONDS
    if left < seconds:
        time.sleep(left + 0.05)


def _certificate(race: Race, bib: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        answer = httpx.get(
            f"{race.api}/v1/races/{race.album}/runners/{bib}/certificate", headers=race.admin()
        )
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        if body["status"] in ("ready", "failed"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.3)


def _jpeg_print(url: str) -> tuple[tuple[int, int], Any]:
    answer = httpx.get(url, timeout=30)
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(answer.content))
    return image.size, image.info.get("dpi")


def _pdf_page(url: str) -> tuple[float, float]:
    answer = httpx.get(url, timeout=30)
    assert answer.status_code == 200 and answer.content.startswith(b"%PDF")
    (box,) = re.findall(rb"/MediaBox\s*\[\s*([-\d. ]+)\]", answer.content)
    left, bottom, right, top = (float(v) for v in box.split())
    return right - left, top - bottom


def _pushes(race: Race, user: str) -> list[str]:
    return [m["messages"][0]["text"] for m in race.line.delivered if m["to"] == user]


def _wait_for(predicate: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_a_small_race_end_to_end(race: Race) -> None:
    started = time.monotonic()
    made = httpx.put(
        f"{race.api}/v1/races/{race.album}",
        json={"name": "第10回 湘南マラソン", "date": "2026-12-06", "course": "Full / 10K"},
        headers=race.admin(),
    )
    assert made.status_code == 200, made.text
    entries = httpx.post(
        f"{race.api}/v1/races/{race.album}/entries",
        content=ENTRIES.encode(),
        headers=race.admin() | {"Content-Type": "text/csv; charset=utf-8"},
    )
    assert entries.status_code == 200 and entries.json()["created"] == 4, entries.text
    signed_in = _sign_in(race, "1268", "山田")
    assert signed_in.status_code == 200, signed_in.text
    session = signed_in.json()["session"]
    user = "U" + uuid.uuid4().hex
    _follow_on_line(race, session, user)

    _with_a_window_ahead(45)
    window = time.time() - time.time() % BATCH_SECONDS
    photos: list[tuple[str | None, str]] = []
    for n, (bib, seed) in enumerate(BURST):
        photos.append(
            (bib, upload_photo(race.api, race.key, race.album, _photo(bib, seed), f"IMG_{n}.jpg"))
        )
        if n == 3:  # the timing system posts while photos keep coming
            posted = httpx.post(
                f"{race.api}/v1/races/{race.album}/results",
                content=RESULTS.encode(),
                headers=race.admin() | {"Content-Type": "text/csv; charset=utf-8"},
            )
            assert posted.status_code == 200, posted.text
            assert posted.json()["created"] == 4 and posted.json()["unknown_bibs"] == []

    for bib, photo_id in photos:
        assert wait_final(race.api, photo_id, timeout=150)["status"] == "ready", photo_id
        read = read_bibs_output(race.api, photo_id, timeout=60)
        sure = [b["bib"] for b in read["bibs"] if b["confidence"] >= 0.9]
        assert sure == ([] if bib is None else [bib]), (bib, read)
    assert time.time() < window + BATCH_SECONDS, "the burst took longer to read than a window"

    certificates = {bib: _certificate(race, bib) for bib in ("1268", "988", "305", "4021")}
    for bib, made_for in certificates.items():
        assert made_for["status"] == "ready" and made_for["revision"] == 1, made_for
        assert made_for["photo_id"] in {p for b, p in photos if b == bib}
        files = made_for["files"]
        assert _jpeg_print(files["L"]) == (L_PIXELS, (300, 300))
        assert _jpeg_print(files["2L"]) == (TWO_L_PIXELS, (300, 300))
        width, height = _pdf_page(files["pdf"])
        assert abs(width - L_POINTS[0]) < 0.01 and abs(height - L_POINTS[1]) < 0.01, (
            width,
            height,
        )

    # Told once for the photos (at the window's end) and once for the certificate.
    _wait_for(lambda: len(_pushes(race, user)) >= 2, timeout=BATCH_SECONDS + 30)
    time.sleep(3)  # a third message, were there one, would have arrived by now
    texts = _pushes(race, user)
    assert len(texts) == 2, texts
    assert sum("3 photos of bib 1268" in t for t in texts) == 1, texts
    assert sum("certificate of bib 1268 is ready" in t for t in texts) == 1, texts
    assert race.line.refused == []

    # The runner's gallery by bib and surname: their three photos, nobody else's.
    mine = sorted(p for b, p in photos if b == "1268")
    page = _me(race, _sign_in(race, "1268", "山田").json()["session"])
    assert page["bib"] == "1268" and page["finish"]["net_time"] == "3:12:45"
    assert sorted(p["id"] for p in page["photos"]) == mine
    own = httpx.get(f"{race.api}{page['photos'][0]['preview']}")
    assert own.status_code == 200 and own.headers["content-type"].startswith("image/")

    # Another runner's bib with a wrong surname is refused exactly as a bib nobody wears.
    wrong = _sign_in(race, "988", "山田")
    missing = _sign_in(race, "9999", "山田")
    assert wrong.status_code == missing.status_code == 401
    assert wrong.json() == missing.json()

    # A runner's session reaches no other bib's certificate or photo.
    other_photo = next(p for b, p in photos if b == "988")
    runner = {"X-Runner-Session": session}
    certificate = httpx.get(f"{race.api}/v1/runner/runners/988/certificate", headers=runner)
    photo = httpx.get(f"{race.api}/v1/photos/{other_photo}", headers=runner)
    preview = page["photos"][0]["preview"]
    swapped = httpx.get(f"{race.api}{preview.rsplit('/', 1)[0]}/{other_photo}")
    assert certificate.status_code == 403
    assert certificate.json()["error"]["code"] == "runner.other_bib"
    assert photo.status_code == 401, photo.text
    assert swapped.status_code == 403, swapped.text
    assert time.monotonic() - started < 180
