"""The certificate workflow on the shipped ASL and handlers, in this process: SQLite, the local
store and a real photo. Started through the door as the API and read-bibs start it; a ready
certificate is two 300 dpi prints and a PDF in the race's folder and a message queued; a
failure is recorded with a reason; a correction makes revision 2."""

from __future__ import annotations

import importlib
import io
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from PIL import Image

from bakusoku.db.engine import create_db_engine
from bakusoku.db.migrate import upgrade
from bakusoku.db.photos import PhotoRepository
from bakusoku.db.schema import notification_outbox
from bakusoku.domain.keys import upload_key
from bakusoku.pipeline import adapters as pipeline_adapters
from bakusoku.pipeline.certificate_workflow import (
    CERTIFICATE_STATE_MACHINE,
    EngineStarter,
    certificate_door,
    local_certificate_machine,
    process_starter,
)
from bakusoku.pipeline.functions import CERTIFICATE_FUNCTIONS
from bakusoku.races.certificate_door import CertificateDoor
from bakusoku.races.certificate_records import Certificates
from bakusoku.races.records import Entry, Result
from bakusoku.races.repository import BibSighting, PhotoBibs, RaceRef, RaceRepository
from bakusoku.races.subscriptions import EMAIL, Subscriptions
from bakusoku.runtime.wakeup import WakeupListener
from bakusoku.storage.local import LocalObjectStore
from bakusoku.workflow.engine import WorkflowEngine
from bakusoku.workflow.invoker import FunctionInvoker
from tests.imaging.photos import scene_with_face

pytestmark = pytest.mark.integration

BUCKET = "bakusoku"
SERVICE = "runs"


def _handler(dotted: str) -> Callable[[dict[str, Any], Any], Any]:
    module, name = dotted.rsplit(".", 1)
    handler: Callable[[dict[str, Any], Any], Any] = getattr(importlib.import_module(module), name)
    return handler


class Day:
    def __init__(self, tmp_path: Path, db: sa.Engine, engine: WorkflowEngine, arn: str) -> None:
        self.tmp_path = tmp_path
        self.db = db
        self.engine = engine
        self.race = RaceRef(SERVICE, f"marathon-{uuid.uuid4().hex[:8]}")
        self.store = LocalObjectStore(tmp_path / "objects", durable=False)
        self.door: CertificateDoor = certificate_door(
            pipeline_adapters.adapters().settings, db, EngineStarter(engine, arn)
        )
        races = RaceRepository(db)
        races.save_race(
            self.race,
            name="第10回 湘南マラソン",
            race_date="2026-12-06",
            course="フル",
            timezone="Asia/Tokyo",
        )
        races.save_entries(
            self.race, [Entry("1024", "山田 太郎", "山田", "フル男子"), Entry("77", "Ann Smith")]
        )

    def photo(self, status: str = "ready") -> str:
        """A photo of the race stored as an upload, with one face, moved to ``status``."""
        photo_id = str(uuid.uuid4())
        scene, face = scene_with_face((3000, 2000), (2500, 400), 300)
        data = io.BytesIO()
        scene.save(data, "JPEG", quality=90)
        key = upload_key("uploads/", self.race.album, photo_id, "image/jpeg", service=SERVICE)
        self.store.put_object(BUCKET, key, data.getvalue(), content_type="image/jpeg")
        photos = PhotoRepository(self.db)
        photos.receive(
            photo_id=photo_id,
            album=self.race.album,
            bucket=BUCKET,
            object_key=key,
            etag="e",
            byte_size=len(data.getvalue()),
            sha256=uuid.uuid4().hex,
            content_type="image/jpeg",
            execution_name=None,
        )
        if status == "ready":
            photos.mark_ready(photo_id, {"faces": [list(face)], "width": 3000, "height": 2000})
        elif status == "failed":
            photos.mark_failed(photo_id, "image.corrupt", "broken")
        return photo_id

    def see(self, photo_id: str, bib: str) -> None:
        PhotoBibs(self.db).record(self.race, photo_id, [BibSighting(bib, 0.97, "ocr")])
        self.door.after_bibs(self.race, [bib])

    def finish(self, bib: str, net: str) -> None:
        result = Result(bib, "finish", _ms(net), None, None)
        RaceRepository(self.db).save_results(self.race, [result])
        self.door.after_results(self.race, [bib])

    def wait(self, bib: str) -> dict[str, Any]:
        row = Certificates(self.db).latest(self.race, bib)
        assert row is not None, "no certificate was started"
        self.engine.wait_for(row["execution_name"], timeout=60)
        done = Certificates(self.db).latest(self.race, bib)
        assert done is not None
        return done


def _ms(clock: str) -> int:
    h, m, s = (int(v) for v in clock.split(":"))
    return ((h * 60 + m) * 60 + s) * 1000


@pytest.fixture
def day(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Day]:
    database = f"sqlite:///{tmp_path / 'bakusoku.db'}"
    for name, value in {
        "BAKUSOKU_DATA_DIR": str(tmp_path),
        "BAKUSOKU_DATABASE_URL": database,
        "BAKUSOKU_OBJECT_STORE": "local",
        "BAKUSOKU_BUCKET": BUCKET,
        "BAKUSOKU_PUBLIC_API_URL": "https://photos.example.com",
    }.items():
        monkeypatch.setenv(name, value)
    pipeline_adapters.adapters.cache_clear()
    db = create_db_engine(database)
    upgrade(db)
    arns = {
        f.name: f"arn:aws:lambda:us-east-1:000000000000:function:{f.name}"
        for f in CERTIFICATE_FUNCTIONS
    }
    invoker = FunctionInvoker({arns[f.name]: _handler(f.handler) for f in CERTIFICATE_FUNCTIONS})
    engine = WorkflowEngine(db, invoker, time_scale=0.05)
    arn = local_certificate_machine(engine, "us-east-1")
    engine.start()
    try:
        yield Day(tmp_path, db, engine, arn)
    finally:
        engine.stop()
        db.dispose()
        pipeline_adapters.adapters.cache_clear()


def test_photo_then_result_makes_a_print_ready_certificate_and_queues_one_message(day: Day) -> None:
    Subscriptions(day.db).subscribe(day.race, "1024", EMAIL, "y@example.com", verified_by="surname")
    photo = day.photo()
    day.see(photo, "1024")
    assert Certificates(day.db).latest(day.race, "1024") is None  # no result yet

    day.finish("1024", "3:12:45")
    made = day.wait("1024")

    assert made["status"] == "ready" and made["revision"] == 1 and made["photo_id"] == photo
    assert made["design"] == "classic"
    for key, size in ((made["jpeg_l_key"], (1051, 1500)), (made["jpeg_2l_key"], (1500, 2102))):
        assert key.startswith(f"renditions/{day.race.album}/_certificates/{SERVICE}/1024/r1-")
        printed = Image.open(io.BytesIO(day.store.get_object(BUCKET, key)))
        assert printed.format == "JPEG" and printed.size == size
        assert printed.info["dpi"] == pytest.approx((300, 300))
    assert day.store.get_object(BUCKET, made["pdf_key"]).startswith(b"%PDF")
    with day.db.connect() as conn:
        queued = conn.execute(
            sa.select(notification_outbox.c.kind, notification_outbox.c.batch)
        ).all()
    assert [tuple(r) for r in queued] == [("certificate", "r1")]


def test_result_then_photo_and_a_correction_makes_revision_2(day: Day) -> None:
    day.finish("77", "4:01:00")
    photo = day.photo()
    day.see(photo, "77")
    first = day.wait("77")

    day.finish("77", "4:01:00")  # the same result again: nothing new
    day.see(photo, "77")  # read again: nothing new
    day.finish("77", "4:00:30")  # corrected
    second = day.wait("77")

    assert first["status"] == second["status"] == "ready"
    assert (first["revision"], second["revision"]) == (1, 2)
    assert second["jpeg_l_key"] != first["jpeg_l_key"]
    assert day.store.get_object(BUCKET, first["jpeg_l_key"])  # revision 1's files stay
    with day.db.connect() as conn:
        rows = conn.execute(sa.text("select count(*) from certificates")).scalar_one()
    assert rows == 2


def test_a_failed_photo_fails_the_certificate_with_a_reason_to_act_on(day: Day) -> None:
    # Failed after its bib was seen (a re-drive that failed; MarkFailed forgets its bibs after).
    photo = day.photo(status="failed")
    day.see(photo, "1024")
    day.finish("1024", "3:12:45")
    failed = day.wait("1024")

    assert failed["status"] == "failed"
    assert failed["code"] == "certificate.missing_input"
    assert photo in failed["reason"] and "tag another photo" in failed["reason"]
    assert failed["jpeg_l_key"] is None


def test_a_start_from_a_process_without_the_engine_is_taken_at_once(
    day: Day, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As a worker of `bakusoku up` starts one: written into the shared database, then a datagram.
    listener = WakeupListener(lambda: day.engine.take_waiting(CERTIFICATE_STATE_MACHINE))
    listener.start()
    try:
        monkeypatch.setenv("BAKUSOKU_WORKFLOW_WAKE_PORT", str(listener.port))
        pipeline_adapters.adapters.cache_clear()
        settings = pipeline_adapters.adapters().settings
        worker_door = certificate_door(settings, day.db, process_starter(settings, day.db))
        photo = day.photo()
        RaceRepository(day.db).save_results(
            day.race, [Result("1024", "finish", _ms("3:12:45"), None, None)]
        )
        PhotoBibs(day.db).record(day.race, photo, [BibSighting("1024", 0.97, "ocr")])
        began = time.monotonic()
        (opened,) = worker_door.after_bibs(day.race, ["1024"])
        day.engine.wait_for(opened.execution_name, timeout=30)
        took = time.monotonic() - began
    finally:
        listener.stop()

    made = Certificates(day.db).latest(day.race, "1024")
    assert made is not None and made["status"] == "ready"
    # The engine's own look comes every lease_seconds / 3 (10 s): the datagram cut the wait.
    assert took < 5, took


def test_a_photo_still_processing_is_waited_for(day: Day) -> None:
    # ReadBibs runs beside MarkReady: the door may open before the photo is ready.
    photo = day.photo(status="processing")
    day.finish("1024", "3:12:45")
    day.see(photo, "1024")
    time.sleep(0.3)  # a retry or two (intervals scaled by the engine's time_scale)
    scene_face = [[2500, 400, 2800, 700]]
    PhotoRepository(day.db).mark_ready(photo, {"faces": scene_face, "width": 3000, "height": 2000})

    made = day.wait("1024")

    assert made["status"] == "ready" and made["photo_id"] == photo
    history = day.engine.get_execution_history(made["execution_name"])
    retried = [e for e in history if e.type == "LambdaFunctionFailed"]
    assert retried, "the certificate should have waited for the photo"
