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
from bakusoku.races.certificate_door import SETTLE_SECONDS, CaughtUp, execution_name
from bakusoku.races.certificate_records import MAKING, CertificateKey, Certificates
from bakusoku.races.repository import BibSighting, PhotoBibs, RaceRef
from bakusoku.storage.presign import Presigner
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

    assert early == {"considered": 0, "started": 0, "failed": 0}  # a start may be in flight
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

    assert first == {"considered": 1, "started": 1, "failed": 0}
    assert second == {"considered": 0, "started": 0, "failed": 0}  # begun just now: settling
    row = Certificates(db).find(CertificateKey(race, "77", 1, photo))
    assert row is not None and row["status"] == MAKING
