"""Operating a real ``bakusoku up``: alerts to a Slack stand-in, history, CLI, metrics, clean logs."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from bakusoku.ops.redrive import redrive_name
from tests.conftest import make_jpeg
from tests.e2e.server import RunningServer, auth
from tests.ops.conftest import OtlpStandIn, WebhookStandIn

pytestmark = pytest.mark.integration

WEBHOOK_SECRET = "whsec-e2e-0123456789"


@pytest.fixture(scope="module")
def stand_ins() -> Iterator[tuple[WebhookStandIn, WebhookStandIn]]:
    slack, receiver = WebhookStandIn(), WebhookStandIn()
    yield slack, receiver
    slack.close()
    receiver.close()


@pytest.fixture(scope="module")
def otlp() -> Iterator[OtlpStandIn]:
    collector = OtlpStandIn()
    yield collector
    collector.close()


LEAKY_WORKERS = Path(__file__).parent / "leaky_workers"


@pytest.fixture(scope="module")
def signatures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the leaky workers save the signatures of the URLs they log."""
    return tmp_path_factory.mktemp("signatures")


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
    stand_ins: tuple[WebhookStandIn, WebhookStandIn],
    otlp: OtlpStandIn,
    signatures: Path,
) -> Iterator[RunningServer]:
    slack, receiver = stand_ins
    python_path = [str(LEAKY_WORKERS), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {
        "PYTHONPATH": os.pathsep.join(python_path),
        "BAKUSOKU_TEST_LEAKY_WORKERS": str(signatures),
        "BAKUSOKU_OTLP_ENDPOINT": otlp.endpoint,
        "BAKUSOKU_SLACK_WEBHOOK_URL": slack.url,
        "BAKUSOKU_ALERT_WEBHOOK_URL": receiver.url,
        "BAKUSOKU_ALERT_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "BAKUSOKU_STAGE": "e2e",
        "BAKUSOKU_STORE_GPS": "1",
    }
    running = RunningServer(tmp_path_factory.mktemp("ops") / "data", extra_env=env).start()
    yield running
    running.stop()


def upload(api: str, data: bytes, album: str) -> tuple[str, str]:
    """Presign and PUT; returns (photo id, the presigned URL)."""
    body = {
        "filename": "photo.jpg",
        "content_type": "image/jpeg",
        "size": len(data),
        "album": album,
        "service": "school",
    }
    grant = httpx.post(f"{api}/v1/uploads", json=body, headers=auth(api)).json()
    upload = grant["upload"]
    response = httpx.request(
        upload["method"], upload["url"], content=data, headers=upload["headers"]
    )
    assert response.status_code == 200, response.text
    return grant["photo_id"], upload["url"]


def wait_final(api: str, photo_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        photo = httpx.get(f"{api}/v1/photos/{photo_id}", headers=auth(api)).json()
        if photo["status"] not in ("pending", "processing"):
            return photo
        time.sleep(0.2)
    raise AssertionError(f"photo {photo_id} did not finish")


def cli(api: str, *args: str) -> str:
    token = auth(api)["Authorization"].removeprefix("Bearer ")
    done = subprocess.run(
        [sys.executable, "-m", "bakusoku.cli", *args, "--api", api],
        env={**os.environ, "BAKUSOKU_API_KEY": token},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def children_environments(parent: int) -> dict[int, bytes]:
    """The environment (``/proc/PID/environ``) of every live child process of ``parent``."""
    found: dict[int, bytes] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == parent:
                found[int(stat.parent.name)] = (stat.parent / "environ").read_bytes()
        except (OSError, IndexError, ValueError):
            continue  # ended while we looked
    return found


# First: the end-to-end test ends by stopping the server.
def test_a_request_id_holding_a_credential_is_not_taken(server: RunningServer) -> None:
    """X-Request-Id is echoed and logged: a key, its secret or the admin token sent in it is
    replaced by an id of the server's own, as when none is sent."""
    key = server.create_key("school", role="viewer")
    headers = {"Authorization": f"Bearer {key}"}
    for given in (key, key.split("_", 2)[2], server.admin_token):
        response = httpx.get(f"{server.api}/v1/whoami", headers={**headers, "X-Request-Id": given})
        assert response.status_code == 200, response.text
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"]), given
    plain = httpx.get(f"{server.api}/v1/whoami", headers={**headers, "X-Request-Id": "req-who-1"})
    assert plain.headers["x-request-id"] == "req-who-1"


def test_operating_bakusoku_end_to_end(
    server: RunningServer,
    stand_ins: tuple[WebhookStandIn, WebhookStandIn],
    otlp: OtlpStandIn,
    signatures: Path,
) -> None:
    slack, receiver = stand_ins
    api = server.api
    good, good_url = upload(api, make_jpeg(1600, 1200, gps=True), "sports-day")
    bad, bad_url = upload(api, make_jpeg(1600, 1200)[:3000], "sports-day")
    assert wait_final(api, good)["status"] == "ready"
    failed = wait_final(api, bad)
    assert failed["status"] == "failed" and failed["error"]["code"] == "image.corrupt"

    # Exactly one alert, on each channel, for the one failed photo.
    (message,) = slack.wait_for(1)
    receiver.wait_for(1)
    time.sleep(2.5)
    assert len(slack.bodies()) == 1 and len(receiver.bodies()) == 1
    assert bad in message["text"] and "image.corrupt" in message["text"]
    link = message["blocks"][-1]["elements"][0]["url"]
    assert link == f"{api}/v1/executions/{failed['execution_name']}"

    # The history through the API.
    def names(**params: str) -> list[str]:
        body = httpx.get(f"{api}/v1/executions", params=params, headers=server.headers).json()
        return [e["name"] for e in body["items"]]

    name = failed["execution_name"]
    assert names(status="FAILED", since="1h") == [name]
    assert names(error="image.corrupt") == [name]
    assert names(photo=bad) == [name]
    assert len(names(album="sports-day")) == 2
    soon = httpx.get(f"{api}/v1/executions", params={"since": "soon"}, headers=server.headers)
    assert soon.status_code == 400
    detail = httpx.get(link, headers=server.headers).json()
    state = detail["timeline"]["failure"]["state"]  # where the pipeline decodes the image
    assert state in {s["name"] for s in detail["timeline"]["states"]} and state != "PhotoFailed"
    assert detail["timeline"]["failure"]["attempts"] == 1
    assert detail["execution"]["failed_state"] == state
    assert names(failed_state=state, since="1h") == [name]
    assert names(state=state, status="FAILED") == [name]
    assert detail["execution"]["error_code"] == "image.corrupt"
    assert detail["links"]["redrive"] == f"/v1/executions/{name}/redrive"
    assert httpx.get(f"{api}/v1/executions/nope", headers=server.headers).status_code == 404

    # The same through the command line.
    listed = cli(
        api, "executions", "--status", "FAILED", "--since", "1h", "--error", "image.corrupt"
    )
    assert name in listed and f"{state}: image.corrupt" in listed
    shown = cli(api, "executions", "show", name)
    assert f"failed in  {state} after 1 attempt(s): image.corrupt" in shown
    assert "StorePhoto" in shown.split("timeline", 1)[1]
    status = cli(api, "status")
    assert "running    0 executions" in status and "slowest state" in status
    # The pipeline handled the failure (Catch, then its Fail state): a re-drive reprocesses the
    # photo in a new execution, which fails again on the same corrupt bytes.
    again = redrive_name(name, 1)  # ``{name}-redrive-1``, the name cut to 80 characters
    redriven = cli(api, "redrive", "--all-failed", "--since", "1h")
    assert f"reprocessed {name} as {again}" in redriven
    deadline = time.monotonic() + 60
    while names(status="RUNNING") or wait_final(api, bad)["status"] != "failed":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert names(status="FAILED") == [again, name]
    assert set(names(photo=bad)) == {again, name}
    assert httpx.get(link, headers=server.headers).json()["execution"]["reprocessed_as"] == [again]
    slack.wait_for(2)  # the re-driven run failed again: one more alert, for that run
    audit = httpx.get(
        f"{api}/v1/audit", params={"action": "execution.redrive"}, headers=server.headers
    ).json()["items"]
    assert [(e["target"], e["details"]["execution"]) for e in audit] == [(name, again)]

    metrics = httpx.get(f"{api}/metrics", headers=server.headers)
    assert metrics.status_code == 200
    for series in (
        "bakusoku_uploads_total 2.0",
        'bakusoku_executions_total{status="SUCCEEDED"} 1.0',
        "bakusoku_state_duration_seconds_bucket",
        "bakusoku_queue_depth",
        "bakusoku_worker_utilisation",
        "bakusoku_throttles_total",
        "bakusoku_db_pool_in_use",
    ):
        assert series in metrics.text, series
    ready = httpx.get(f"{api}/readyz", headers=server.headers)
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    # Malformed requests make the HTTP servers (the API's and the store's) log a warning: it is
    # a JSON line like every other (checked below).
    for port in (int(api.rsplit(":", 1)[1]), server.store_port):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            raw.sendall(b"NOT HTTP AT ALL\x00\r\n\r\n")
            raw.recv(1024)

    # No process bakusoku up started (workers, the store) holds a webhook secret or the token.
    assert server.process is not None
    children = children_environments(server.process.pid)
    assert any(b"AWS_LAMBDA_FUNCTION_NAME=" in environ for environ in children.values())
    for pid, environ in children.items():
        for value in (slack.token, receiver.token, WEBHOOK_SECRET, server.admin_token):
            assert value.encode() not in environ, f"{value!r} in the environment of {pid}"

    assert server.stop() == 0
    credentials = yaml.safe_load((server.data_dir / "credentials.yml").read_text())
    worker_signatures = [p.read_text() for p in signatures.glob("*.signature")]
    assert worker_signatures, "no worker wrote its test lines"
    forbidden = [
        *worker_signatures,
        re.search(r"X-Amz-Signature=([0-9a-f]+)", good_url).group(1),  # type: ignore[union-attr]
        re.search(r"X-Amz-Signature=([0-9a-f]+)", bad_url).group(1),  # type: ignore[union-attr]
        slack.token,
        receiver.token,
        WEBHOOK_SECRET,
        server.admin_token,
        credentials["secret_access_key"],
        "35.65",
        "139.73",
        "(35.0, 39.0",
    ]
    lines = Path(server.log_path).read_text(errors="replace").splitlines()
    assert len(lines) > 10
    for line in lines:
        for value in forbidden:
            assert value not in line, f"{value!r} in log line: {line}"
    # Every log line is one JSON object; only the console banner of `bakusoku up` is plain text.
    banner = re.compile(
        r"^(bakusoku \S+ is up|  \w.*|Press Ctrl-C to stop\.|stopping: .*|stopped)$"
    )
    assert [line for line in lines if not line.startswith("{") and not banner.match(line)] == []
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert records, "no JSON log lines"
    invalid = [r for r in records if "Invalid HTTP request" in r["message"]]
    assert len(invalid) >= 2 and all(r["logger"].startswith("uvicorn") for r in invalid)
    assert any(r.get("execution_name") == name and r.get("photo_id") == bad for r in records)
    # What the workers wrote came through the parent's log, redacted, tagged with the function.
    leaky = [r for r in records if r["message"].startswith("leaky worker ")]
    assert any("presigned" in r["message"] for r in leaky)
    assert any("WEBHOOK_URL=None" in r["message"] for r in leaky)
    assert all(r["logger"] == "bakusoku.runtime.function" and r["function_name"] for r in leaky)

    # The traces went out over OTLP: the ready photo's journey is one connected trace.
    traces: dict[str, list[dict[str, Any]]] = {}
    for span in otlp.spans:
        traces.setdefault(span["trace_id"], []).append(span)
    (journey,) = [
        t
        for t in traces.values()
        if any(s["attributes"].get("bakusoku.photo_id") == good for s in t)
    ]
    ids = {s["span_id"] for s in journey}
    roots = [s for s in journey if s["parent"] not in ids]
    assert [r["name"] for r in roots] == ["POST /v1/uploads"]
    span_names = {s["name"] for s in journey}
    assert {"upload event ObjectCreated", "state StorePhoto", "task StorePhoto"} <= span_names
    assert any(n.startswith("execution ") for n in span_names)
