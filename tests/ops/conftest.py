"""Fixtures for operations tests: a database, webhook stand-ins on loopback, a small pipeline."""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import uvicorn

from bakusoku.db.engine import create_db_engine
from bakusoku.domain.catalogue import describe_failure
from bakusoku.ops.service import Operations
from bakusoku.storage.notifications import object_created_event
from bakusoku.workflow.engine import ExecutionDescription, WorkflowEngine
from bakusoku.workflow.invoker import FunctionInvoker
from tests.conftest import free_port
from tests.schema import create_schema


class WebhookStandIn:
    """A real HTTP server that records what it receives, standing in for Slack or a receiver."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.failures_left = 0
        self.fail_status = 500
        self.token = secrets.token_hex(12)
        self._lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                with stand_in._lock:
                    failing = stand_in.failures_left > 0
                    if failing:
                        stand_in.failures_left -= 1
                    else:
                        stand_in.requests.append(
                            {
                                "path": self.path,
                                "headers": dict(self.headers.items()),
                                "raw": raw,
                                "json": json.loads(raw),
                            }
                        )
                self.send_response(stand_in.fail_status if failing else 200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"error" if failing else b"ok")

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        port = self.server.server_address[1]
        return f"http://127.0.0.1:{port}/services/T0BAKUSOKU/B0ALERTS/{self.token}"

    def bodies(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r["json"] for r in self.requests]

    def wait_for(self, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.requests) >= count:
                return self.bodies()
            time.sleep(0.05)
        raise AssertionError(f"got {len(self.requests)} requests, expected {count}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slack() -> Iterator[WebhookStandIn]:
    stand_in = WebhookStandIn()
    yield stand_in
    stand_in.close()


@pytest.fixture
def receiver() -> Iterator[WebhookStandIn]:
    stand_in = WebhookStandIn()
    yield stand_in
    stand_in.close()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'ops.db'}")
    create_schema(engine)
    yield engine
    engine.dispose()


def arn(name: str) -> str:
    return f"arn:aws:lambda:us-east-1:000000000000:function:{name}"


# A small photo pipeline: retries, a Parallel (whose branch states nest in timelines and traces),
# a Catch to MarkFailed.
_RETRY = [
    {"ErrorEquals": ["CorruptImageError"], "MaxAttempts": 0},
    {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 1.0},
]
_CATCH = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "MarkFailed"}]
DEFINITION: dict[str, Any] = {
    "StartAt": "StorePhoto",
    "States": {
        "StorePhoto": {
            "Type": "Task",
            "Resource": arn("StorePhoto"),
            "ResultPath": "$.photo",
            "Retry": _RETRY,
            "Catch": _CATCH,
            "Next": "Renditions",
        },
        "Renditions": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "Trim",
                    "States": {
                        "Trim": {
                            "Type": "Task",
                            "Resource": arn("Trim"),
                            "InputPath": "$.photo",
                            "Retry": _RETRY,
                            "End": True,
                        }
                    },
                },
                {
                    "StartAt": "Thumbnails",
                    "States": {
                        "Thumbnails": {
                            "Type": "Task",
                            "Resource": arn("Thumbnails"),
                            "InputPath": "$.photo",
                            "Retry": _RETRY,
                            "End": True,
                        }
                    },
                },
            ],
            "ResultPath": "$.renditions",
            "Catch": _CATCH,
            "Next": "MarkReady",
        },
        "MarkReady": {"Type": "Task", "Resource": arn("MarkReady"), "End": True},
        "MarkFailed": {"Type": "Task", "Resource": arn("MarkFailed"), "Next": "PhotoFailed"},
        "PhotoFailed": {"Type": "Fail", "ErrorPath": "$.Error", "CausePath": "$.Cause"},
    },
}


class CorruptImageError(Exception):
    pass


class FlakyError(Exception):
    pass


def functions() -> FunctionInvoker:
    """Keys decide the outcome: ``corrupt`` fails Trim at once, ``flaky`` fails Thumbnails once."""
    flaky_seen: set[str] = set()
    lock = threading.Lock()

    def store(event: dict[str, Any]) -> dict[str, Any]:
        s3 = event["Records"][0]["s3"]
        return {"key": s3["object"]["key"]}

    def trim(photo: dict[str, Any]) -> dict[str, Any]:
        time.sleep(0.02)
        if "corrupt" in photo["key"]:
            raise CorruptImageError("the JPEG stream ends early (truncated at byte 1234)")
        return {"print": photo["key"]}

    def thumbnails(photo: dict[str, Any]) -> dict[str, Any]:
        with lock:
            first = photo["key"] not in flaky_seen
            flaky_seen.add(photo["key"])
        if "flaky" in photo["key"] and first:
            raise FlakyError("the store answered 503 once")
        return {"thumb": photo["key"]}

    def mark_failed(state: dict[str, Any]) -> dict[str, Any]:
        code, message = describe_failure(state["error"]["Error"], state["error"].get("Cause"))
        return {"Error": code, "Cause": message}

    return FunctionInvoker(
        {
            arn("StorePhoto"): store,
            arn("Trim"): trim,
            arn("Thumbnails"): thumbnails,
            arn("MarkReady"): lambda state: {"ok": True},
            arn("MarkFailed"): mark_failed,
        }
    )


def s3_event(key: str, *, bucket: str = "bakusoku", etag: str | None = None) -> dict[str, Any]:
    return object_created_event(
        bucket=bucket,
        key=key,
        size=1234,
        etag=etag or secrets.token_hex(16),
        sequencer="0055AED6DCD90281E5",
        region="us-east-1",
        event_time=datetime.now(UTC),
    )


def photo_key(album: str, photo_id: str) -> str:
    """An upload key as the API makes it; the test functions read the outcome from the album."""
    return f"uploads/{album}/{photo_id}.jpg"


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free loopback port; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test API server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


class OtlpStandIn:
    """A real OTLP/HTTP receiver (protobuf over HTTP, as a collector or Jaeger takes it)."""

    def __init__(self) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        self.spans: list[dict[str, Any]] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                for resource in request.resource_spans:
                    for scope in resource.scope_spans:
                        for span in scope.spans:
                            stand_in.spans.append(
                                {
                                    "trace_id": span.trace_id.hex(),
                                    "span_id": span.span_id.hex(),
                                    "parent": span.parent_span_id.hex() or None,
                                    "name": span.name,
                                    "attributes": {
                                        a.key: a.value.string_value or a.value.int_value
                                        for a in span.attributes
                                    },
                                }
                            )
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Ended:
    """Names of executions whose end every listener registered before this one has handled."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.changed = threading.Condition()

    def __call__(self, description: ExecutionDescription) -> None:
        with self.changed:
            self.names.add(f"{description.name}:{description.redrive_count}")
            self.changed.notify_all()

    def wait(self, name: str, redrive_count: int = 0, timeout: float = 30) -> None:
        with self.changed:
            assert self.changed.wait_for(
                lambda: f"{name}:{redrive_count}" in self.names, timeout
            ), f"operations did not handle the end of {name}"


ENDED: dict[int, Ended] = {}


def track(engine: WorkflowEngine) -> None:
    """Register after Operations' listener: when it is called, operations are done."""
    ENDED[id(engine)] = Ended()
    engine.add_listener(ENDED[id(engine)])


@pytest.fixture
def engine(db: sa.Engine, ops: Operations) -> Iterator[WorkflowEngine]:
    """The engine on the pipeline-shaped DEFINITION, its ends watched by the module's ``ops``."""
    workflow = WorkflowEngine(db, ops.invoker(functions()), time_scale=0.01)
    ops.attach(workflow)
    track(workflow)
    workflow.register_state_machine("photo-pipeline", DEFINITION)
    workflow.start()
    yield workflow
    workflow.stop()
