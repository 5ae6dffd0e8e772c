"""The HTTP API through its Lambda entry point (API Gateway HTTP API, payload 2.0), within the
function's timeout: the live gallery's polled changes, and operations answered by moto's
executing Step Functions."""

from __future__ import annotations

import json
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import botocore.session
import pytest
import sqlalchemy as sa

from bakusoku.api.feed import LOOKBACK_SECONDS, POLL_AFTER_SECONDS
from bakusoku.auth.keys import KeyStore
from bakusoku.db.engine import create_db_engine
from bakusoku.db.schema import photos
from bakusoku.deploy.stages import API
from bakusoku.pipeline.functions import STACK_FUNCTIONS
from tests.aws.executing import start_and_wait, wait_until_stopped
from tests.aws.test_executions import CAUGHT, object_created
from tests.conftest import make_jpeg
from tests.deploy.test_lambda_entry_points import http_api_event

pytest.importorskip("moto", reason="needs moto[server]: pip install -e '.[aws,test]'")
pytest.importorskip("mangum", reason="needs mangum: pip install -e '.[aws,test]'")
pytestmark = pytest.mark.integration

REGION = "ap-northeast-1"
BUCKET = "enphoto-dev-photos"
ADMIN = "bka_lambda-admin-token-0123456789abcdefghijklmnop"
# The API function's timeout in the template: every request must answer well within it.
TIMEOUT_SECONDS = next(f.timeout_seconds for f in STACK_FUNCTIONS if f.name == API)


def invoke(
    method: str,
    path: str,
    token: str | None,
    params: dict[str, Any] | None = None,
    body: Any = None,
) -> tuple[dict[str, Any], float]:
    """The Lambda handler's answer to one request, and how long it took; fails past the timeout."""
    from bakusoku.aws.api import handler

    event = http_api_event(method, path, body, token)
    event["rawQueryString"] = urlencode(params or {})

    def timed_out(signum: int, frame: Any) -> None:
        raise FunctionTimedOut(f"{method} {path} ran past the function's {TIMEOUT_SECONDS} s")

    # As Lambda ends an invocation at the function's timeout (the handler runs on the main
    # thread, as Lambda's runtime runs it).
    previous = signal.signal(signal.SIGALRM, timed_out)
    signal.setitimer(signal.ITIMER_REAL, TIMEOUT_SECONDS)
    started = time.monotonic()
    try:
        answer: dict[str, Any] = handler(event, None)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return answer, time.monotonic() - started


class FunctionTimedOut(Exception):
    """The handler ran past the API function's timeout."""


def body_of(answer: dict[str, Any]) -> Any:
    return json.loads(answer["body"])


@pytest.fixture(scope="module")
def client(running_step_functions: str) -> Any:
    return botocore.session.get_session().create_client(
        "stepfunctions", region_name=REGION, endpoint_url=running_step_functions
    )


@pytest.fixture
def machine(client: Any) -> str:
    created = client.create_state_machine(
        name=f"enphoto-dev-photo-pipeline-{uuid.uuid4().hex[:6]}",
        definition=json.dumps(CAUGHT),
        roleArn="arn:aws:iam::123456789012:role/photo-pipeline",
    )
    return str(created["stateMachineArn"])


@pytest.fixture
def api_env(
    tmp_path: Path, running_step_functions: str, machine: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """The API function's environment on moto; yields uploader keys of two services."""
    from bakusoku.aws import api, migrate
    from bakusoku.storage.s3 import S3ObjectStore

    S3ObjectStore(REGION, endpoint_url=running_step_functions).create_bucket(BUCKET)
    for key, value in {
        "AWS_ENDPOINT_URL_S3": running_step_functions,
        "AWS_ENDPOINT_URL_SFN": running_step_functions,
        "BAKUSOKU_OBJECT_STORE": "s3",
        "BAKUSOKU_BUCKET": BUCKET,
        "BAKUSOKU_REGION": REGION,
        "BAKUSOKU_DATA_DIR": str(tmp_path),
        "BAKUSOKU_DATABASE_URL": f"sqlite:///{tmp_path / 'api.db'}",
        "BAKUSOKU_STATE_MACHINE_ARN": machine,
        "BAKUSOKU_ADMIN_TOKEN": ADMIN,
    }.items():
        monkeypatch.setenv(key, value)
    api._adapter.cache_clear()
    migrate.apply_migrations()
    engine = create_db_engine(f"sqlite:///{tmp_path / 'api.db'}")
    keys = KeyStore(engine)
    _, own = keys.create(service="enphoto", albums=None, role="uploader", created_by="test")
    _, other = keys.create(service="other", albums=None, role="uploader", created_by="test")
    engine.dispose()
    yield {"own": own, "other": other, "db": f"sqlite:///{tmp_path / 'api.db'}"}
    api._adapter.cache_clear()


def upload(token: str, album: str = "day") -> dict[str, Any]:
    data = make_jpeg(64, 48)
    body = {"filename": "a.jpg", "content_type": "image/jpeg", "size": len(data), "album": album}
    answer, _ = invoke("POST", "/v1/uploads", token, body=body)
    assert answer["statusCode"] == 201, answer
    grant: dict[str, Any] = body_of(answer)
    return grant


def test_the_gallery_polls_changes_with_a_cursor_within_the_timeout(
    api_env: dict[str, str],
) -> None:
    own = api_env["own"]
    first, took = invoke("GET", "/v1/events", own, {"album": "day"})
    assert first["statusCode"] == 200, first
    assert first["headers"]["content-type"].startswith("application/json")
    page = body_of(first)
    assert page["items"] == [] and page["more"] is False
    assert page["poll_after_ms"] == int(POLL_AFTER_SECONDS * 1000)
    timings = [took]

    grant = upload(own)
    fresh, took = invoke("GET", "/v1/events", own, {"album": "day", "cursor": page["cursor"]})
    timings.append(took)
    assert body_of(fresh)["items"] == []  # not settled yet: a change stamped earlier may follow
    time.sleep(LOOKBACK_SECONDS + 0.2)
    settled, took = invoke("GET", "/v1/events", own, {"album": "day", "cursor": page["cursor"]})
    timings.append(took)
    changes = body_of(settled)
    assert [p["photo_id"] for p in changes["items"]] == [grant["photo_id"]]
    assert changes["items"][0]["status"] == "pending"
    assert changes["cursor"] > page["cursor"]
    again, took = invoke("GET", "/v1/events", own, {"album": "day", "cursor": changes["cursor"]})
    timings.append(took)
    assert body_of(again)["items"] == []  # each change once

    others, _ = invoke("GET", "/v1/events", api_env["other"], {"since": 0})
    assert body_of(others)["items"] == []  # another service's photos are never sent
    print(
        f"\npolls through the Lambda entry point took {', '.join(f'{t * 1000:.0f} ms' for t in timings)}"
    )


def test_operations_answer_from_step_functions(
    api_env: dict[str, str], client: Any, machine: str
) -> None:
    grant = upload(api_env["own"])
    db = create_db_engine(api_env["db"])
    with db.connect() as conn:
        key = conn.execute(
            sa.select(photos.c.object_key).where(photos.c.photo_id == grant["photo_id"])
        ).scalar_one()
    name = start_and_wait(client, machine, object_created(key))
    with db.begin() as conn:  # as the pipeline's handlers leave a caught failure
        conn.execute(
            photos.update()
            .where(photos.c.photo_id == grant["photo_id"])
            .values(status="failed", error_code="image.corrupt", execution_name=name)
        )
    db.dispose()

    ready, _ = invoke("GET", "/readyz", None)
    assert ready["statusCode"] == 200 and body_of(ready)["checks"]["workflow"] == "ok"

    listed, _ = invoke("GET", "/v1/executions", ADMIN, {"status": "FAILED"})
    assert listed["statusCode"] == 200, listed
    rows = body_of(listed)["items"]
    assert [(r["name"], r["photo_id"], r["error_code"]) for r in rows] == [
        (name, grant["photo_id"], "image.corrupt")
    ]

    shown, _ = invoke("GET", f"/v1/executions/{name}", ADMIN)
    assert shown["statusCode"] == 200, shown
    execution = body_of(shown)
    assert execution["timeline"]["failure"]["state"] == "StorePhoto"
    assert execution["execution"]["failed_state"] == "StorePhoto"
    failed_tries = [e for e in execution["events"] if e["type"] == "LambdaFunctionFailed"]
    assert failed_tries and {e["stateName"] for e in failed_tries} == {"StorePhoto"}
    assert execution["links"]["redrive"] == f"/v1/executions/{name}/redrive"

    redriven, _ = invoke("POST", f"/v1/executions/{name}/redrive", ADMIN)
    assert redriven["statusCode"] == 200, redriven
    outcome = body_of(redriven)
    assert (outcome["action"], outcome["name"]) == ("reprocessed", f"{name}-redrive-1")
    wait_until_stopped(
        client, f"{machine.replace(':stateMachine:', ':execution:')}:{name}-redrive-1"
    )

    by_album, _ = invoke("GET", "/v1/executions", ADMIN, {"album": "day"})
    assert by_album["statusCode"] == 501
    assert body_of(by_album)["error"]["code"] == "execution.unsupported"

    status, _ = invoke("GET", "/v1/status", ADMIN)
    assert status["statusCode"] == 200, status
    assert body_of(status)["executions"]["last_hour"]["ended"].get("FAILED", 0) >= 1
