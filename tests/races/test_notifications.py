"""Runner notifications in each database: LINE's push request, batching, retries, isolation."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from bakusoku.config import Settings
from bakusoku.db.engine import create_db_engine
from bakusoku.db.schema import notification_outbox
from bakusoku.races import links
from bakusoku.races.errors import NotificationDeliveryError
from bakusoku.races.line import LinePush
from bakusoku.races.message import CERTIFICATE, PHOTOS, RunnerMessage
from bakusoku.races.notifications import (
    QUEUE_FAILED_METRIC,
    NotificationOutbox,
    NotifySettings,
    announce_photos,
)
from bakusoku.races.records import Entry
from bakusoku.races.repository import BibSighting, PhotoBibs, RaceRef, RaceRepository
from bakusoku.races.subscriptions import EMAIL, LINE, Subscriptions
from tests.races.stand_ins import LineStandIn

pytestmark = pytest.mark.integration

KEY = b"k" * 32
USER = "U" + uuid.uuid4().hex
WINDOW = 300.0


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    engine = create_db_engine(db_url)
    # The session's database is shared by the tests of this run, one at a time: an outbox
    # delivers every due row, so each test starts with an empty one.
    with engine.begin() as conn:
        conn.execute(notification_outbox.delete())
    yield engine
    engine.dispose()


@pytest.fixture
def line() -> Iterator[LineStandIn]:
    stand_in = LineStandIn()
    yield stand_in
    stand_in.close()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=2.0) as client:
        yield client


class Recording:
    """A channel that keeps what it was asked to send (an e-mail box, say)."""

    name = EMAIL

    def __init__(self) -> None:
        self.sent: list[tuple[str, RunnerMessage, str]] = []

    def send(self, address: str, message: RunnerMessage, retry_key: str) -> None:
        self.sent.append((address, message, retry_key))


class Down:
    """A channel whose service is down: every send fails after a while."""

    name = LINE

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.calls = 0

    def send(self, address: str, message: RunnerMessage, retry_key: str) -> None:
        self.calls += 1
        time.sleep(self.seconds)
        raise NotificationDeliveryError("LINE answered HTTP 503")


def _race(engine: sa.Engine) -> RaceRef:
    race = RaceRef("runs", f"marathon-{uuid.uuid4().hex[:8]}")
    repository = RaceRepository(engine)
    repository.save_race(
        race, name="湘南マラソン", race_date="2026-12-06", course="Full", timezone="Asia/Tokyo"
    )
    repository.save_entries(
        race, [Entry("1234", "山田 太郎", "山田", "M"), Entry("77", "B", "B", None)]
    )
    return race


def _outbox(
    engine: sa.Engine, channels: dict[str, object], photo_count: object = None
) -> NotificationOutbox:
    return NotificationOutbox(
        engine,
        channels,  # type: ignore[arg-type]
        KEY,
        NotifySettings(public_url="https://photos.example.com", batch_seconds=WINDOW),
        photo_count=photo_count,  # type: ignore[arg-type]
    )


def _window_start(now: float) -> float:
    return now - now % WINDOW


def test_line_gets_the_documented_push_request_with_a_signed_link_to_this_bib(
    engine: sa.Engine, line: LineStandIn, client: httpx.Client
) -> None:
    race = _race(engine)
    Subscriptions(engine).subscribe(race, "1234", LINE, USER, verified_by="surname")
    outbox = _outbox(engine, {LINE: LinePush(client, line.token, line.url)})

    assert outbox.notify_ready(race, "1234", CERTIFICATE) == 1
    assert outbox.deliver_due() == 1

    assert line.refused == []
    (body,) = line.delivered
    assert body["to"] == USER
    (message,) = body["messages"]
    assert "certificate" in message["text"] and "1234" in message["text"]
    link = message["text"].split()[-1]
    assert link.startswith("https://photos.example.com/runner#")
    grant = links.check(KEY, link.partition("#")[2], purpose="link")
    assert grant is not None and (grant.race, grant.bib) == (race, "1234")
    assert links.check(KEY, link.partition("#")[2], purpose="session") is None


def test_a_wrong_token_is_refused_by_line_and_retried_not_dropped(
    engine: sa.Engine, line: LineStandIn, client: httpx.Client
) -> None:
    race = _race(engine)
    Subscriptions(engine).subscribe(race, "1234", LINE, USER, verified_by="surname")
    outbox = _outbox(engine, {LINE: LinePush(client, "not-the-token", line.url)})

    outbox.notify_ready(race, "1234", CERTIFICATE)

    assert outbox.deliver_due() == 0
    assert line.refused == [(401, "Authentication failed")]
    assert outbox.counts(race) == {"pending": 1}


def test_ten_photos_of_a_bib_in_one_window_make_one_message(
    engine: sa.Engine, line: LineStandIn, client: httpx.Client
) -> None:
    race = _race(engine)
    Subscriptions(engine).subscribe(race, "1234", LINE, USER, verified_by="surname")
    bibs = PhotoBibs(engine)
    outbox = _outbox(
        engine,
        {LINE: LinePush(client, line.token, line.url)},
        photo_count=lambda r, bib: len(bibs.photos_of(r, bib, 0.5)),
    )
    start = _window_start(time.time()) + 1

    added = 0
    for n in range(10):
        bibs.record(race, str(uuid.uuid4()), [BibSighting("1234", 0.9, "ocr")])
        added += outbox.notify_ready(race, "1234", PHOTOS, now=start + n * 20)
    early = outbox.deliver_due(now=start + 200)
    due = outbox.deliver_due(now=start + WINDOW)

    assert (added, early, due) == (1, 0, 1)
    (body,) = line.delivered
    assert "10 photos of bib 1234" in body["messages"][0]["text"]
    # A photo in the next window is a new batch: one more message, not ten.
    assert outbox.notify_ready(race, "1234", PHOTOS, now=start + WINDOW + 1) == 1


def test_a_retry_after_line_accepted_but_the_answer_was_lost_sends_no_duplicate(
    engine: sa.Engine, line: LineStandIn, client: httpx.Client
) -> None:
    race = _race(engine)
    Subscriptions(engine).subscribe(race, "1234", LINE, USER, verified_by="surname")
    outbox = _outbox(engine, {LINE: LinePush(client, line.token, line.url)})
    line.accept_then_fail = 1
    line.failures_left = 0

    outbox.notify_ready(race, "1234", CERTIFICATE)
    first = outbox.deliver_due()
    second = outbox.deliver_due(now=time.time() + 3600)

    assert (first, second) == (0, 1)
    assert len(line.delivered) == 1  # LINE answered 409 to the retry: the message went out once
    with engine.connect() as conn:
        (row,) = conn.execute(
            sa.select(notification_outbox).where(notification_outbox.c.album == race.album)
        ).all()
    assert (row.status, row.attempts) == ("delivered", 2)


def test_a_failed_channel_is_retried_and_the_same_certificate_is_queued_once(
    engine: sa.Engine, line: LineStandIn, client: httpx.Client
) -> None:
    race = _race(engine)
    Subscriptions(engine).subscribe(race, "1234", LINE, USER, verified_by="surname")
    outbox = _outbox(engine, {LINE: LinePush(client, line.token, line.url)})
    line.failures_left = 2

    queued = [outbox.notify_ready(race, "1234", CERTIFICATE) for _ in range(3)]
    tries = [outbox.deliver_due(now=time.time() + 3600 * n) for n in range(4)]

    assert queued == [1, 0, 0]
    assert tries == [0, 0, 1, 0]
    assert len(line.delivered) == 1
    # A corrected result makes a new certificate: that one is told too.
    assert outbox.notify_ready(race, "1234", CERTIFICATE, revision=2) == 1


def test_a_channel_that_is_down_holds_up_neither_the_pipeline_nor_other_channels(
    engine: sa.Engine,
) -> None:
    race = _race(engine)
    subscriptions = Subscriptions(engine)
    subscriptions.subscribe(race, "1234", LINE, USER, verified_by="surname")
    subscriptions.subscribe(race, "1234", EMAIL, "yamada@example.com", verified_by="surname")
    down, mail = Down(seconds=1.0), Recording()
    outbox = _outbox(engine, {LINE: down, EMAIL: mail})
    outbox.dispatcher.poll_seconds = 0.05
    outbox.start()
    try:
        began = time.monotonic()
        added = outbox.notify_ready(race, "1234", CERTIFICATE)
        recorded = time.monotonic() - began
        deadline = time.monotonic() + 10
        while not mail.sent and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        outbox.stop()

    assert added == 2
    assert recorded < down.seconds  # the caller only wrote the outbox; nothing was sent inline
    assert [(address, m.kind) for address, m, _ in mail.sent] == [
        ("yamada@example.com", CERTIFICATE)
    ]
    assert down.calls >= 1
    assert outbox.counts(race).get("pending", 0) >= 1  # LINE's message waits for its retry


def test_another_bibs_subscribers_are_not_told(engine: sa.Engine) -> None:
    race = _race(engine)
    Subscriptions(engine).subscribe(race, "77", EMAIL, "b@example.com", verified_by="surname")
    mail = Recording()
    outbox = _outbox(engine, {EMAIL: mail})

    assert outbox.notify_ready(race, "1234", CERTIFICATE) == 0
    assert outbox.notify_ready(RaceRef("other", race.album), "77", CERTIFICATE) == 0
    outbox.deliver_due()
    assert mail.sent == []


def test_notify_ready_from_many_threads_queues_one_batch(engine: sa.Engine) -> None:
    race = _race(engine)
    Subscriptions(engine).subscribe(race, "1234", EMAIL, "y@example.com", verified_by="surname")
    outbox = _outbox(engine, {EMAIL: Recording()})
    now = _window_start(time.time()) + 5
    added: list[int] = []

    def report() -> None:
        added.append(outbox.notify_ready(race, "1234", PHOTOS, now=now))

    threads = [threading.Thread(target=report) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sum(added) == 1


def test_announce_photos_queues_each_subscribed_bib_once(engine: sa.Engine) -> None:
    race = _race(engine)
    Subscriptions(engine).subscribe(race, "1234", EMAIL, "a@example.com", verified_by="surname")
    settings = Settings(runner_batch_seconds=int(WINDOW), stage="prod")

    first = announce_photos(engine, race, ["1234", "77", "1234"], settings)  # 77: nobody
    second = announce_photos(engine, race, ["1234"], settings)  # the same window

    assert (first, second) == (1, 0)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(notification_outbox)).all()
    assert [(r.bib, r.kind) for r in rows] == [("1234", PHOTOS)]


def test_announce_photos_never_raises_and_counts_what_it_could_not_queue(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # A database without the outbox (nor any table): every insert fails, as a lost database would.
    empty = create_db_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    race = RaceRef("runs", "marathon")
    try:
        added = announce_photos(empty, race, ["1234", "77"], Settings(stage="prod"))
    finally:
        empty.dispose()

    assert added == 0
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [m[QUEUE_FAILED_METRIC] for m in metrics] == [1, 1]
    assert metrics[0]["Service"] == "runs" and metrics[0]["Stage"] == "prod"
    assert "photos of bib 1234 in runs/marathon could not be queued" in caplog.text
