"""A race day on a real ``bakusoku up``: LINE and SMTP stand-ins, a race, its entry list, photos
uploaded through the API and read for bibs (as the bib reader records them)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlalchemy as sa

from bakusoku.db.engine import create_db_engine
from bakusoku.races.notifications import notify_ready
from bakusoku.races.repository import BibSighting, PhotoBibs, RaceRef
from tests.conftest import make_jpeg
from tests.e2e.server import RunningServer, ended_execution
from tests.races.stand_ins import LineStandIn, SmtpSink

SERVICE = "runs"
LINE_SECRET = "line-channel-secret-0123456789abcdef"
BATCH_SECONDS = 2


@dataclass
class RaceDay:
    server: RunningServer
    line: LineStandIn
    smtp: SmtpSink
    key: str  # an admin key of the race's service
    album: str = field(default_factory=lambda: f"marathon-{uuid.uuid4().hex[:8]}")
    photos: dict[str, list[str]] = field(default_factory=dict)  # bib -> photo ids

    @property
    def api(self) -> str:
        return self.server.api

    @property
    def race(self) -> RaceRef:
        return RaceRef(SERVICE, self.album)

    def engine(self) -> sa.Engine:
        return create_db_engine(f"sqlite:///{(self.server.data_dir / 'bakusoku.db').resolve()}")

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def set_up(self, shots: dict[str, int]) -> RaceDay:
        """The race, its entries (1234 山田, 77 佐藤, 5 Smith) and ``shots`` photos per bib."""
        answer = httpx.put(
            f"{self.api}/v1/races/{self.album}",
            json={"name": "第10回 湘南マラソン", "date": "2026-12-06"},
            headers=self.admin(),
        )
        assert answer.status_code == 200, answer.text
        csv = "bib,name,surname,category\n1234,山田 太郎,山田,M\n77,佐藤 花子,佐藤,F\n5,Ann Smith,Smith,F\n"
        answer = httpx.post(
            f"{self.api}/v1/races/{self.album}/entries",
            content=csv.encode(),
            headers=self.admin() | {"Content-Type": "text/csv"},
        )
        assert answer.status_code == 200, answer.text
        for bib, count in shots.items():
            self.photos[bib] = [self.upload(n) for n in range(count)]
        for ids in self.photos.values():
            for photo_id in ids:
                self.wait_ready(photo_id)
        return self

    def upload(self, n: int) -> str:
        data = make_jpeg(640 + 16 * n, 480)
        grant = httpx.post(
            f"{self.api}/v1/uploads",
            json={
                "filename": f"p{n}.jpg",
                "content_type": "image/jpeg",
                "size": len(data),
                "album": self.album,
                "service": SERVICE,
            },
            headers=self.admin(),
        )
        assert grant.status_code == 201, grant.text
        upload = grant.json()["upload"]
        put = httpx.request(
            upload["method"], upload["url"], content=data, headers=upload["headers"]
        )
        assert put.status_code == 200, put.text
        return str(grant.json()["photo_id"])

    def wait_ready(self, photo_id: str, timeout: float = 120) -> None:
        """Until the photo is ready and its execution has ended: ``ready`` is set in one branch
        while the bib reader and face indexing may still run in others, and what they record
        (nothing, for a test image) would replace what a test records next."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            photo = httpx.get(f"{self.api}/v1/photos/{photo_id}", headers=self.admin()).json()
            if photo["status"] == "ready":
                ended = ended_execution(self.api, photo_id, timeout=timeout)["execution"]
                assert ended["status"] == "SUCCEEDED", ended
                return
            assert photo["status"] in ("pending", "processing"), photo
            time.sleep(0.2)
        raise AssertionError(f"photo {photo_id} not ready after {timeout} s")

    def read_bibs(self) -> int:
        """What the bib reader does for each photo: record the sightings, say photos are ready."""
        engine = self.engine()
        try:
            bibs = PhotoBibs(engine)
            queued = 0
            for bib, ids in self.photos.items():
                for photo_id in ids:
                    bibs.record(self.race, photo_id, [BibSighting(bib, 0.97, "ocr")])
                    queued += notify_ready(
                        engine, self.race, bib, "photos", batch_seconds=BATCH_SECONDS
                    )
            return queued
        finally:
            engine.dispose()


def start_race_day(data_dir: Path) -> RaceDay:
    line, smtp = LineStandIn(), SmtpSink()
    server = RunningServer(
        data_dir,
        workers=2,
        extra_env={
            "BAKUSOKU_LINE_CHANNEL_ACCESS_TOKEN": line.token,
            "BAKUSOKU_LINE_CHANNEL_SECRET": LINE_SECRET,
            "BAKUSOKU_LINE_API_URL": line.url,
            "BAKUSOKU_SMTP_HOST": "127.0.0.1",
            "BAKUSOKU_SMTP_PORT": str(smtp.port),
            "BAKUSOKU_SMTP_SENDER": "Shonan Photos <photos@example.com>",
            "BAKUSOKU_RUNNER_BATCH_SECONDS": str(BATCH_SECONDS),
            "BAKUSOKU_RUNNER_ATTEMPTS_PER_HOUR": "8",
        },
    ).start()
    return RaceDay(server, line, smtp, server.create_key(SERVICE, role="admin"))


def stop_race_day(day: RaceDay) -> None:
    try:
        assert day.server.stop() == 0, day.server.log()
    finally:
        day.line.close()
        day.smtp.close()
