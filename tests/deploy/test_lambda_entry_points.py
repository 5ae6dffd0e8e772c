"""The Lambda entry points that are not pipeline handlers: the HTTP API behind API Gateway (HTTP
API, payload 2.0) against S3's API, and the alert notifier posting to a webhook."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from bakusoku.auth.keys import KeyStore
from bakusoku.config import ConfigError
from bakusoku.db.engine import create_db_engine
from tests.conftest import make_jpeg

pytest.importorskip("moto", reason="needs moto[server]: pip install -e '.[aws,test]'")
pytest.importorskip("mangum", reason="needs mangum: pip install -e '.[aws,test]'")
pytestmark = pytest.mark.integration

REGION = "ap-northeast-1"
MACHINE = "arn:aws:states:ap-northeast-1:123456789012:stateMachine:enphoto-dev-photo-pipeline"


def http_api_event(
    method: str, path: str, body: Any = None, token: str | None = None
) -> dict[str, Any]:
    """An API Gateway HTTP API request as Lambda receives it (payload format version 2.0)."""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "content-type": "application/json",
            "host": "abc123.execute-api.example",
            **({"authorization": f"Bearer {token}"} if token else {}),
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.example",
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "test",
            },
            "requestId": "req-1",
            "routeKey": "$default",
            "stage": "$default",
            "time": "23/Nov/2026:20:15:00 +0000",
            "timeEpoch": 1795464900000,
        },
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


@pytest.fixture
def api_env(tmp_path: Path, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The API Lambda's environment; yields an uploader key of service enphoto."""
    from bakusoku.aws import api, migrate
    from bakusoku.storage.s3 import S3ObjectStore

    S3ObjectStore(REGION, endpoint_url=moto_endpoint).create_bucket("enphoto-dev-photos")
    for key, value in {
        "AWS_ENDPOINT_URL_S3": moto_endpoint,
        "BAKUSOKU_OBJECT_STORE": "s3",
        "BAKUSOKU_BUCKET": "enphoto-dev-photos",
        "BAKUSOKU_REGION": REGION,
        "BAKUSOKU_DATA_DIR": str(tmp_path),
        "BAKUSOKU_DATABASE_URL": f"sqlite:///{tmp_path / 'api.db'}",
        "BAKUSOKU_STATE_MACHINE_ARN": MACHINE,
    }.items():
        monkeypatch.setenv(key, value)
    api._adapter.cache_clear()
    migrate.apply_migrations()  # what the stack's migration function does on deploy
    engine = create_db_engine(f"sqlite:///{tmp_path / 'api.db'}")
    _, token = KeyStore(engine).create(
        service="enphoto", albums=None, role="uploader", created_by="test"
    )
    engine.dispose()
    yield token
    api._adapter.cache_clear()


def test_http_api_presigns_an_upload_that_s3_accepts(api_env: str) -> None:
    from bakusoku.aws.api import handler

    data = make_jpeg(400, 300)
    body = {"filename": "a.jpg", "content_type": "image/jpeg", "size": len(data), "album": "day"}
    unauthenticated = handler(http_api_event("POST", "/v1/uploads", body), None)
    assert unauthenticated["statusCode"] == 401
    response = handler(http_api_event("POST", "/v1/uploads", body, api_env), None)
    assert response["statusCode"] == 201, response
    grant = json.loads(response["body"])
    upload = grant["upload"]
    put = httpx.request(upload["method"], upload["url"], content=data, headers=upload["headers"])
    assert put.status_code == 200, put.text
    shown = handler(http_api_event("GET", f"/v1/photos/{grant['photo_id']}", token=api_env), None)
    assert shown["statusCode"] == 200
    assert json.loads(shown["body"])["status"] == "pending"
    missing = handler(http_api_event("GET", "/v1/photos/nope", token=api_env), None)
    assert missing["statusCode"] == 404
    assert json.loads(missing["body"])["error"]["code"]


def test_http_api_deletes_a_photo_and_its_objects_from_s3(
    api_env: str, tmp_path: Path, moto_endpoint: str
) -> None:
    from bakusoku.aws.api import handler
    from bakusoku.db.photos import PhotoRepository
    from bakusoku.storage.errors import ObjectNotFoundError
    from bakusoku.storage.s3 import S3ObjectStore

    data = make_jpeg(400, 300)
    body = {"filename": "a.jpg", "content_type": "image/jpeg", "size": len(data), "album": "day"}
    grant = json.loads(handler(http_api_event("POST", "/v1/uploads", body, api_env), None)["body"])
    upload = grant["upload"]
    put = httpx.request(upload["method"], upload["url"], content=data, headers=upload["headers"])
    assert put.status_code == 200, put.text
    # What the pipeline would have done: the row received and failed, a partial rendition left.
    s3, bucket, photo_id = (
        S3ObjectStore(REGION, endpoint_url=moto_endpoint),
        "enphoto-dev-photos",
        grant["photo_id"],
    )
    thumb = f"renditions/day/{photo_id}/thumb.jpg"
    s3.put_object(bucket, thumb, b"thumb", content_type="image/jpeg")
    engine = create_db_engine(f"sqlite:///{tmp_path / 'api.db'}")
    photos = PhotoRepository(engine)
    photos.record_received(
        photo_id=photo_id,
        album="day",
        bucket=bucket,
        object_key=grant["key"],
        etag="e",
        byte_size=len(data),
        sha256="0" * 64,
        content_type="image/jpeg",
        execution_name="x",
    )
    assert photos.mark_failed(photo_id, "image.corrupt", "test")
    _, admin = KeyStore(engine).create(
        service="enphoto", albums=None, role="admin", created_by="test"
    )
    engine.dispose()

    path = f"/v1/photos/{photo_id}"
    refused = handler(http_api_event("DELETE", path, token=api_env), None)
    assert refused["statusCode"] == 403  # an uploader key
    assert s3.head_object(bucket, grant["key"]).size == len(data)
    deleted = handler(http_api_event("DELETE", path, token=admin), None)
    assert deleted["statusCode"] == 204, deleted
    for key in (grant["key"], thumb):
        with pytest.raises(ObjectNotFoundError):
            s3.head_object(bucket, key)
    assert handler(http_api_event("GET", path, token=admin), None)["statusCode"] == 404


def test_http_api_reads_executions_from_step_functions(
    api_env: str, tmp_path: Path, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A photo's execution and the search come from Step Functions; a search ListExecutions
    cannot filter answers 501 naming what to use instead; readiness needs no engine."""
    import botocore.session
    from botocore.exceptions import ClientError

    from bakusoku.aws.api import handler
    from bakusoku.db.photos import PhotoRepository
    from bakusoku.storage.notifications import object_created_event

    admin_token = "bka_" + "s" * 40
    monkeypatch.setenv("AWS_ENDPOINT_URL_SFN", moto_endpoint)
    monkeypatch.setenv("BAKUSOKU_ADMIN_TOKEN", admin_token)
    sfn: Any = botocore.session.get_session().create_client(
        "stepfunctions", region_name=REGION, endpoint_url=moto_endpoint
    )
    definition = {"StartAt": "Store", "States": {"Store": {"Type": "Pass", "End": True}}}
    try:
        sfn.create_state_machine(
            name=MACHINE.rsplit(":", 1)[-1],
            definition=json.dumps(definition),
            roleArn="arn:aws:iam::123456789012:role/photo-pipeline",
        )
    except ClientError as exc:  # made by an earlier test of this moto server
        assert exc.response["Error"]["Code"] == "StateMachineAlreadyExists"
    body = {"filename": "a.jpg", "content_type": "image/jpeg", "size": 1234, "album": "day"}
    grant = json.loads(handler(http_api_event("POST", "/v1/uploads", body, api_env), None)["body"])
    event = object_created_event(
        bucket="enphoto-dev-photos",
        key=grant["key"],
        size=1234,
        etag="0" * 32,
        sequencer="0055AED6DCD90281E5",
        region=REGION,
        event_time=datetime.now(UTC),
    )
    name = f"photo-{grant['photo_id']}"
    sfn.start_execution(stateMachineArn=MACHINE, name=name, input=json.dumps(event))
    engine = create_db_engine(f"sqlite:///{tmp_path / 'api.db'}")
    PhotoRepository(engine).record_received(
        photo_id=grant["photo_id"],
        album="day",
        bucket="enphoto-dev-photos",
        object_key=grant["key"],
        etag="0" * 32,
        byte_size=1234,
        sha256="0" * 64,
        content_type="image/jpeg",
        execution_name=name,
    )
    engine.dispose()

    path = f"/v1/photos/{grant['photo_id']}/execution"
    shown = handler(http_api_event("GET", path, token=api_env), None)
    assert shown["statusCode"] == 200, shown
    execution = json.loads(shown["body"])
    assert (execution["execution"]["name"], execution["execution"]["status"]) == (name, "RUNNING")
    assert execution["execution"]["input"] == event
    assert execution["events"][0]["type"] == "ExecutionStarted"

    ready = handler(http_api_event("GET", "/readyz"), None)
    assert ready["statusCode"] == 200, ready
    assert json.loads(ready["body"])["checks"] == {"database": "ok", "workflow": "ok"}

    searched = handler(http_api_event("GET", "/v1/executions", token=admin_token), None)
    assert searched["statusCode"] == 200, searched
    rows = json.loads(searched["body"])["items"]
    assert [(r["photo_id"], r["status"]) for r in rows if r["name"] == name] == [
        (grant["photo_id"], "RUNNING")
    ]
    by_album = http_api_event("GET", "/v1/executions", token=admin_token)
    by_album["rawQueryString"] = "album=day"
    refused = handler(by_album, None)
    assert refused["statusCode"] == 501, refused
    error = json.loads(refused["body"])["error"]
    assert error["code"] == "execution.unsupported"
    assert "GET /v1/photos?album=" in error["message"]


def test_http_api_names_the_missing_state_machine_setting(
    api_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bakusoku.aws.api import handler

    monkeypatch.delenv("BAKUSOKU_STATE_MACHINE_ARN")
    with pytest.raises(
        ConfigError, match="'state_machine_arn' is empty: set BAKUSOKU_STATE_MACHINE_ARN"
    ):
        handler(http_api_event("GET", "/v1/photos/nope", token=api_env), None)


class _Webhook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        _Webhook.received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        return


def test_notifier_posts_failed_executions(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import botocore.session

    from bakusoku.aws import notifier
    from bakusoku.config import ConfigError, load_settings
    from bakusoku.events import ExecutionStatusChange
    from bakusoku.ops.alerts import webhook_url_from_secret

    server = HTTPServer(("127.0.0.1", 0), _Webhook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    session = botocore.session.get_session()
    try:
        secrets: Any = session.create_client(
            "secretsmanager", region_name=REGION, endpoint_url=moto_endpoint
        )
        states: Any = session.create_client(
            "stepfunctions", region_name=REGION, endpoint_url=moto_endpoint
        )
        machine = states.create_state_machine(
            name="enphoto-dev-photo-pipeline",
            definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}),
            roleArn="arn:aws:iam::123456789012:role/enphoto-dev-states",
        )["stateMachineArn"]
        execution = states.start_execution(stateMachineArn=machine, name="abc")["executionArn"]
        # The handler insists on https; the test webhook is plain HTTP on loopback.
        url = f"http://127.0.0.1:{server.server_port}/hook"
        arn = secrets.create_secret(Name="enphoto/dev/slack", SecretString=url)["ARN"]
        for service in ("SECRETS_MANAGER", "SFN"):  # botocore: the service ID, upper case
            monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service}", moto_endpoint)
        # What the template sets (tests/deploy/test_sam_template.py checks that it does).
        monkeypatch.setenv("BAKUSOKU_SLACK_WEBHOOK_SECRET_ARN", arn)
        monkeypatch.setenv("BAKUSOKU_REGION", REGION)
        monkeypatch.setenv("BAKUSOKU_SERVICE_NAME", "enphoto")
        monkeypatch.setenv("BAKUSOKU_STAGE", "dev")
        webhook_url_from_secret.cache_clear()  # the alerts' one reader
        notifier.step_functions_history.cache_clear()

        assert notifier.handler(_status_event(machine, execution, "SUCCEEDED"), None) == {
            "posted": False,
            "status": "SUCCEEDED",
        }
        with pytest.raises(ConfigError, match="https://"):
            notifier.handler(_status_event(machine, execution, "FAILED"), None)

        # The secret may hold JSON too; it is read again once the cache is cleared.
        slack = "https://hooks.slack.example/services/T0/B0/secret"
        secrets.put_secret_value(SecretId=arn, SecretString=json.dumps({"url": slack}))
        webhook_url_from_secret.cache_clear()  # the alerts' one reader
        assert notifier.webhook_url(arn, REGION) == slack

        # The history is read from Step Functions (moto's stands in for the real one).
        history = notifier.step_functions_history(REGION)
        assert history(execution)[0].type == "ExecutionStarted"
        change = ExecutionStatusChange(_status_event(machine, execution, "TIMED_OUT"))
        message = notifier.alert_message(change, load_settings(), history)
        assert notifier.post(url, message) == 200
        received = _Webhook.received[-1]
        assert received == message
        assert received["text"].startswith("[enphoto/dev] photo -")
        assert "timed out" in received["text"] and "storage.not_found" in received["text"]
        # No public API URL on AWS: the button opens the execution in the console.
        button = received["blocks"][-1]["elements"][0]["url"]
        assert button.startswith(f"https://{REGION}.console.aws.amazon.com/states/")
        assert execution.replace(":", "%3A") in button
    finally:
        server.shutdown()
        server.server_close()


def _status_event(machine: str, execution: str, status: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "315c1398-40ff-a850-213b-158f73e60175",
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": "123456789012",
        "time": "2026-11-23T20:15:00Z",
        "region": REGION,
        "resources": [execution],
        "detail": {
            "executionArn": execution,
            "stateMachineArn": machine,
            "name": execution.rsplit(":", 1)[-1],
            "status": status,
            "startDate": 1795464890000,
            "stopDate": 1795464900000,
            "input": "{}",
            "inputDetails": {"included": True},
            "output": None,
            "outputDetails": None,
            "error": "ObjectMissingError",
            "cause": "gone",
        },
    }
