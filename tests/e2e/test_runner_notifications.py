"""Runners told through a running `bakusoku up`: a runner subscribes by LINE, photos of their bib
are uploaded and read by ReadBibs, and exactly one message arrives (batched, never one per
photo) at a LINE-shaped endpoint, with a signed link that opens that runner's photos only;
staff tagging a photo with a bib tells that bib's runner the same way."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from bakusoku.db.engine import create_db_engine
from bakusoku.db.schema import notification_outbox
from bakusoku.imaging.text import text_available
from bakusoku.races import line
from bench.bib_photos import Conditions, draw_photo
from tests.conftest import make_jpeg
from tests.e2e.races import open_race, server_with_line
from tests.e2e.server import RunningServer, read_bibs_output, upload_photo
from tests.e2e.test_pipeline_end_to_end import wait_final
from tests.races.stand_ins import LineStandIn, line_text_event

pytestmark = [
    pytest.mark.integration,
    pytest.mark.clock,  # batch windows end on the clock
    pytest.mark.skipif(not text_available(), reason="the 'bibs' extra is not installed"),
]

SERVICE = "runs"
LINE_SECRET = "line-channel-secret-0123456789abcdef"
# Photos of a bib are announced once per window; the test uploads at a window's start, so every
# photo is read within the one window (it checks that it was).
BATCH_SECONDS = 40


class Day:
    def __init__(self, server: RunningServer, line_api: LineStandIn, key: str) -> None:
        self.server, self.line, self.key = server, line_api, key
        self.album = f"marathon-{uuid.uuid4().hex[:8]}"

    @property
    def api(self) -> str:
        return self.server.api

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def outbox(self) -> list[Any]:
        engine = create_db_engine(f"sqlite:///{(self.server.data_dir / 'bakusoku.db').resolve()}")
        try:
            with engine.connect() as conn:
                return list(
                    conn.execute(
                        sa.select(notification_outbox).where(
                            notification_outbox.c.album == self.album
                        )
                    ).all()
                )
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Day]:
    data_dir = tmp_path_factory.mktemp("runner-notifications") / "data"
    with server_with_line(data_dir, LINE_SECRET, BATCH_SECONDS) as (server, line_api):
        started = Day(server, line_api, server.create_key(SERVICE, role="admin"))
        open_race(
            started.api,
            started.key,
            started.album,
            "湘南マラソン",
            "bib,name,surname\n1268,山田 太郎,山田\n988,佐藤 花子,佐藤\n",
        )
        yield started


def _follow_on_line(day: Day, bib: str, surname: str, user: str) -> str:
    """The runner signs in with bib and surname and sends the page's code to the LINE account;
    returns their session."""
    signed_in = httpx.post(
        f"{day.api}/v1/runner/sessions",
        json={"service": SERVICE, "album": day.album, "bib": bib, "surname": surname},
    )
    assert signed_in.status_code == 200, signed_in.text
    session = str(signed_in.json()["session"])
    code = _me(day, session)["line_code"]
    body = line_text_event(user, code)
    answer = httpx.post(
        f"{day.api}/line/webhook",
        content=body,
        headers={
            "x-line-signature": line.signature(LINE_SECRET, body),
            "Content-Type": "application/json",
        },
    )
    assert answer.status_code == 200, answer.text
    assert _me(day, session)["subscriptions"] == ["line"]
    return session


def _me(day: Day, session: str) -> dict[str, Any]:
    answer = httpx.get(f"{day.api}/v1/runner/me", headers={"X-Runner-Session": session})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _read(day: Day, photo_id: str) -> dict[str, Any]:
    """ReadBibs' output, once the photo is ready (its execution exists and has ended)."""
    assert wait_final(day.api, photo_id, timeout=180)["status"] == "ready"
    return read_bibs_output(day.api, photo_id, timeout=60)


def _runner_photo(bib: str, seed: int) -> bytes:
    """A photo of one runner; the seeds used are ones whose bib the embedded reader reads at 0.9
    or more (others read at 0.6 are the bib-unknown set's, not this test's)."""
    clear = Conditions(rotation=4.0, blur=0.5, occluded_share=0.0)
    return draw_photo(random.Random(seed), [bib], clear, size=(2400, 1800)).jpeg


def _wait_for_window_start() -> float:
    now = time.time()
    if now % BATCH_SECONDS > 1:
        time.sleep(BATCH_SECONDS - now % BATCH_SECONDS + 0.05)
    return time.time() - time.time() % BATCH_SECONDS


def _pushes(day: Day, user: str) -> list[dict[str, Any]]:
    return [m for m in day.line.delivered if m["to"] == user]


def _wait_for(predicate: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def _opened(day: Day, push: dict[str, Any]) -> dict[str, Any]:
    """The runner page the message's link opens (a session from the link's token)."""
    (message,) = push["messages"]
    link = next(w for w in message["text"].split() if "/runner#" in w)
    answer = httpx.post(f"{day.api}/v1/runner/sessions", json={"link": link.partition("#")[2]})
    assert answer.status_code == 200, answer.text
    return _me(day, answer.json()["session"])


def test_photos_read_by_the_pipeline_reach_the_runner_in_one_message(day: Day) -> None:
    user = "U" + uuid.uuid4().hex
    _follow_on_line(day, "1268", "山田", user)
    window = _wait_for_window_start()

    mine = [
        upload_photo(day.api, day.key, day.album, _runner_photo("1268", seed), f"IMG_{seed}.jpg")
        for seed in (3, 5, 6)
    ]
    other = upload_photo(day.api, day.key, day.album, _runner_photo("988", 4), "IMG_4.jpg")
    outputs = [_read(day, photo_id) for photo_id in [*mine, other]]
    read_by = time.time()

    assert [o["bibs"][0]["bib"] for o in outputs] == ["1268", "1268", "1268", "988"], outputs
    assert not any(o["bibUnknown"] for o in outputs), outputs  # each read at the threshold
    assert read_by < window + BATCH_SECONDS, "the photos took longer to read than one window"
    (row,) = day.outbox()  # one row for three photos: nobody follows 988
    assert (row.bib, row.kind) == ("1268", "photos")
    _wait_for(lambda: _pushes(day, user), timeout=BATCH_SECONDS + 20)
    time.sleep(3)  # a second message, were there one, would have arrived by now
    (push,) = _pushes(day, user)
    assert "3 photos of bib 1268" in push["messages"][0]["text"]
    assert day.line.refused == []
    page = _opened(day, push)
    assert (page["bib"], sorted(p["id"] for p in page["photos"])) == ("1268", sorted(mine))


def test_a_photo_staff_tag_with_a_bib_reaches_that_runner(day: Day) -> None:
    user = "U" + uuid.uuid4().hex
    _follow_on_line(day, "988", "佐藤", user)
    before = len(_pushes(day, user))
    photo_id = upload_photo(
        day.api, day.key, day.album, make_jpeg(800, 600), "IMG_9.jpg"
    )  # no bib to read
    assert _read(day, photo_id)["bibUnknown"] is True

    tagged = httpx.put(
        f"{day.api}/v1/races/{day.album}/photos/{photo_id}/bibs",
        json={"bibs": ["988"]},
        headers=day.admin(),
    )

    assert tagged.status_code == 200, tagged.text
    _wait_for(lambda: len(_pushes(day, user)) > before, timeout=BATCH_SECONDS + 20)
    page = _opened(day, _pushes(day, user)[-1])
    assert page["bib"] == "988" and photo_id in [p["id"] for p in page["photos"]]
