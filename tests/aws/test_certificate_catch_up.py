"""A certificate whose start fails: the results API still answers 200 with the results saved, the
failure is logged and counted, and the catch-up (the schedule's function) starts it later.

The door's target is really gone (a state machine ARN no engine has), and the API is served on
loopback; the catch-up then runs with the registered certificate machine, as ``bakusoku up`` does.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from bakusoku import arns
from bakusoku.api.app import create_api_app
from bakusoku.api.executions import EngineExecutions
from bakusoku.api.services import ApiServices
from bakusoku.auth.keys import KeyStore
from bakusoku.aws import certificate_catch_up
from bakusoku.config import Settings
from bakusoku.db.engine import create_db_engine
from bakusoku.db.photos import PhotoRepository
from bakusoku.pipeline.certificate_workflow import (
    EngineStarter,
    certificate_door,
    local_certificate_machine,
)
from bakusoku.pipeline.handlers.mark_certificate_failed import describe
from bakusoku.races.certificate_door import (
    SETTLE_SECONDS,
    CaughtUp,
    Opened,
    execution_name,
    key_of,
)
from bakusoku.races.certificate_records import FAILED, MAKING, CertificateKey, Certificates
from bakusoku.races.certificates import DesignError
from bakusoku.races.records import Entry, Result
from bakusoku.races.repository import BibSighting, PhotoBibs, RaceRef, RaceRepository
from bakusoku.storage.presign import Presigner
from bakusoku.workflow.engine import FAILED as EXECUTION_FAILED
from bakusoku.workflow.engine import RUNNING, WorkflowEngine
from bakusoku.workflow.invoker import FunctionInvoker
from tests.ops.conftest import serve
from tests.schema import create_schema

pytestmark = pytest.mark.integration

ADMIN_TOKEN = "bka_" + "c" * 40
GONE = arns.arn("states", "us-east-1", "000000000000", "stateMachine:certificate-gone")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'race.db'}")
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def settings() -> Settings:
    return Settings(
        public_api_url="http://api.test",
        access_key_id="AKIDTEST",
        secret_access_key="x" * 40,
        admin_token=ADMIN_TOKEN,
    )


@pytest.fixture
def api(db: sa.Engine, settings: Settings) -> Iterator[httpx.Client]:
    """The API with a door whose state machine does not exist: every start fails."""
    engine = WorkflowEngine(db, FunctionInvoker({}), region=settings.region)
    services = ApiServices(
        settings=settings,
        db=db,
        photos=PhotoRepository(db),
        presigner=Presigner("http://127.0.0.1:9", settings.region, "AKIDTEST", "x" * 40),
        executions=EngineExecutions(engine, settings.upload_prefix),
        certificate_starter=EngineStarter(engine, GONE),
    )
    _, key = KeyStore(db).create(service="runs", albums=None, role="admin", created_by="test")
    headers = {"Authorization": f"Bearer {key}"}
    with serve(create_api_app(services)) as url, httpx.Client(base_url=url, headers=headers) as c:
        yield c


def _race(api: httpx.Client) -> RaceRef:
    album = f"marathon-{uuid.uuid4().hex[:8]}"
    made = api.put(f"/v1/races/{album}", json={"name": "湘南", "date": "2026-12-06"})
    assert made.status_code == 200, made.text
    entries = api.post(
        f"/v1/races/{album}/entries",
        content="ゼッケン,氏名,姓\n1024,山田 太郎,山田\n77,佐藤 花子,佐藤\n".encode(),
        headers={"Content-Type": "text/csv; charset=utf-8"},
    )
    assert entries.status_code == 200, entries.text
    return RaceRef("runs", album)


def test_a_failed_start_keeps_the_results_and_the_catch_up_starts_it(
    api: httpx.Client, db: sa.Engine, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    race = _race(api)
    photo = str(uuid.uuid4())
    PhotoBibs(db).record(race, photo, [BibSighting("1024", 0.97, "ocr")])

    posted = api.post(
        f"/v1/races/{race.album}/results", json={"bib": "1024", "net_time": "3:12:45"}
    )
    again = api.post(f"/v1/races/{race.album}/results", json={"bib": "1024", "net_time": "3:12:45"})

    assert posted.status_code == 200, posted.text
    assert posted.json()["changed"] == ["1024/finish"]
    assert again.status_code == 200 and again.json()["unchanged"] == 1
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line]
    # Counted once: the repeat changed no result, so it asked the door nothing.
    assert [(m["CertificateStartFailed"], m["Service"]) for m in metrics] == [(1, "runs")]
    key = CertificateKey(race, "1024", 1, photo)
    row = Certificates(db).find(key)
    assert row is not None and row["status"] == MAKING  # begun, never started

    running = WorkflowEngine(db, FunctionInvoker({}), region=settings.region)
    starter = EngineStarter(running, local_certificate_machine(running, settings.region))
    early = certificate_catch_up.handler_for(settings, db, starter)
    waiting = Certificates(db).waiting(settings.bib_min_confidence, row["updated_at"] + 1)
    later = certificate_door(settings, db, starter).catch_up(row["updated_at"] + SETTLE_SECONDS + 1)

    assert early == {"considered": 0, "started": 0, "failed": 0, "redriven": 0}  # may be starting
    assert waiting == [(race, "1024")]
    assert later == CaughtUp(considered=1, started=1, failed=0)
    described = running.describe_execution(execution_name(key))
    assert described.status == RUNNING


def test_the_catch_up_starts_a_certificate_the_door_never_saw(
    api: httpx.Client, db: sa.Engine, settings: Settings
) -> None:
    race = _race(api)
    posted = api.post(f"/v1/races/{race.album}/results", json={"bib": "77", "net_time": "4:01:02"})
    assert posted.status_code == 200, posted.text
    photo = str(uuid.uuid4())
    PhotoBibs(db).record(race, photo, [BibSighting("77", 1.0, "staff")])  # no door called

    running = WorkflowEngine(db, FunctionInvoker({}), region=settings.region)
    starter = EngineStarter(running, local_certificate_machine(running, settings.region))
    first = certificate_catch_up.handler_for(settings, db, starter)
    second = certificate_catch_up.handler_for(settings, db, starter)

    assert first == {"considered": 1, "started": 1, "failed": 0, "redriven": 0}
    assert second == {"considered": 0, "started": 0, "failed": 0, "redriven": 0}  # settling
    row = Certificates(db).find(CertificateKey(race, "77", 1, photo))
    assert row is not None and row["status"] == MAKING


def test_a_certificate_whose_failure_could_not_be_recorded_is_redriven_until_it_is(
    db: sa.Engine, settings: Settings
) -> None:
    """MakeCertificate fails and MarkCertificateFailed cannot reach the database through all its
    retries: the execution ends FAILED with the row still ``making``. Starting it again is
    refused (the name is taken), so the catch-up redrives it from MarkCertificateFailed."""
    race = RaceRef("runs", f"marathon-{uuid.uuid4().hex[:8]}")
    races = RaceRepository(db)
    races.save_race(race, name="湘南", race_date="2026-12-06", course=None, timezone="Asia/Tokyo")
    races.save_entries(race, [Entry("1024", "山田 太郎", "山田")])
    races.save_results(race, [Result("1024", "finish", 11_565_000, None, None)])
    photo = str(uuid.uuid4())
    PhotoBibs(db).record(race, photo, [BibSighting("1024", 0.97, "ocr")])
    database_reachable = False
    marks: list[str] = []

    def make_certificate(event: dict[str, Any]) -> None:
        raise DesignError("the race's certificate design 'gone' does not exist")

    def mark_certificate_failed(event: dict[str, Any]) -> dict[str, Any]:
        marks.append(event["executionName"])
        if not database_reachable:
            raise ConnectionError("the database did not answer")
        code, reason = describe(event["error"])
        Certificates(db).mark_failed(
            key_of(event["certificate"]), event["executionName"], code, reason
        )
        return {"Error": code, "Cause": reason}

    functions = {
        "make-certificate": make_certificate,
        "mark-certificate-failed": mark_certificate_failed,
    }
    # A thousand times faster: MarkCertificateFailed's five retries wait 31 s in all.
    running = WorkflowEngine(
        db, FunctionInvoker(functions), region=settings.region, time_scale=0.001
    )
    with running:
        starter = EngineStarter(running, local_certificate_machine(running, settings.region))
        door = certificate_door(settings, db, starter)
        (opened,) = door.after_bibs(race, ["1024"])
        ended = running.wait_for(opened.execution_name)
        key = CertificateKey(race, "1024", 1, photo)
        row = Certificates(db).find(key)
        assert ended.status == EXECUTION_FAILED and row is not None and row["status"] == MAKING
        tries = len(marks)
        settled = row["updated_at"] + SETTLE_SECONDS + 1

        assert door.after_results(race, ["1024"]) == [Opened(key, opened.execution_name, False)]
        database_reachable = True
        caught_up = door.catch_up(now=settled)
        redriven = running.wait_for(opened.execution_name)
        again = door.catch_up(now=settled)

    assert tries == 6  # the first try and its five retries
    assert caught_up == CaughtUp(considered=1, started=0, failed=0, redriven=1)
    assert redriven.status == EXECUTION_FAILED  # ends in CertificateFailed, now recorded
    assert redriven.redrive_count == 1
    row = Certificates(db).find(key)
    assert row is not None and row["status"] == FAILED
    assert "design" in row["reason"]
    assert again == CaughtUp(considered=0, started=0, failed=0, redriven=0)
