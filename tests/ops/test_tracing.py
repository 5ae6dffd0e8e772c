"""Traces: one connected trace per photo, from the upload request through every state and task."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from bakusoku.api.app import create_api_app
from bakusoku.api.executions import EngineExecutions
from bakusoku.api.quoting import holds_secret
from bakusoku.api.services import ApiServices
from bakusoku.config import Settings
from bakusoku.db.photos import PhotoRepository
from bakusoku.local.invoker import RuntimeInvoker
from bakusoku.ops.service import Operations
from bakusoku.ops.tracing import Tracing, parse_xray_header
from bakusoku.runtime import FunctionConfig, FunctionRuntime
from bakusoku.storage.presign import Presigner
from bakusoku.workflow.engine import WorkflowEngine
from tests.ops.conftest import DEFINITION, ENDED, functions, s3_event, serve, track

pytestmark = pytest.mark.integration  # real worker processes and servers on loopback

HANDLERS = Path(__file__).parents[1] / "runtime" / "handlers"
ADMIN_TOKEN = "bka_" + "t" * 40


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracing(exporter: InMemorySpanExporter) -> Iterator[Tracing]:
    traced = Tracing.create("school-photos", "test", [SimpleSpanProcessor(exporter)])
    yield traced
    traced.shutdown()


@pytest.fixture
def stack(
    db: sa.Engine, tracing: Tracing
) -> Iterator[tuple[httpx.Client, WorkflowEngine, Operations]]:
    settings = Settings(
        public_api_url="http://api.test",
        access_key_id="AKIDTEST",
        secret_access_key="x" * 40,
        admin_token=ADMIN_TOKEN,
    )
    ops = Operations(settings, db, tracing=tracing, configure_logs=False)
    workflow = WorkflowEngine(db, ops.invoker(functions()), time_scale=0.01)
    ops.attach(workflow)
    track(workflow)
    workflow.register_state_machine("photo-pipeline", DEFINITION)
    services = ApiServices(
        settings=settings,
        db=db,
        photos=PhotoRepository(db),
        presigner=Presigner("http://127.0.0.1:9", settings.region, "AKIDTEST", "x" * 40),
        executions=EngineExecutions(workflow, settings.upload_prefix),
    )
    app = create_api_app(services)
    ops.install(app, holds_secret)
    with workflow, serve(app) as url, httpx.Client(base_url=url) as client:
        yield client, workflow, ops


def upload_and_process(
    client: httpx.Client, workflow: WorkflowEngine, album: str
) -> tuple[str, str]:
    grant = client.post(
        "/v1/uploads",
        json={
            "filename": "a.jpg",
            "content_type": "image/jpeg",
            "size": 1234,
            "album": album,
            "service": "school",
        },
        headers={"x-request-id": f"req-{album}", "Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert grant.status_code == 201, grant.text
    assert grant.headers["x-request-id"] == f"req-{album}"
    name = f"exec-{grant.json()['photo_id']}"
    workflow.start_execution("photo-pipeline", s3_event(grant.json()["key"]), name=name)
    ENDED[id(workflow)].wait(name)  # its spans are written
    return grant.json()["photo_id"], name


def by_trace(spans: tuple[ReadableSpan, ...]) -> dict[int, list[ReadableSpan]]:
    traces: dict[int, list[ReadableSpan]] = {}
    for span in spans:
        assert span.context is not None
        traces.setdefault(span.context.trace_id, []).append(span)
    return traces


def assert_connected(spans: list[ReadableSpan]) -> ReadableSpan:
    """Every span's parent is in the trace, but one root; returns the root."""
    ids = {s.context.span_id for s in spans if s.context is not None}
    roots = [s for s in spans if s.parent is None or s.parent.span_id not in ids]
    assert len(roots) == 1, [s.name for s in roots]
    return roots[0]


def test_one_connected_trace_per_photo_with_a_span_per_state_and_task(
    stack: tuple[httpx.Client, WorkflowEngine, Operations], exporter: InMemorySpanExporter
) -> None:
    client, workflow, _ops = stack
    good_photo, _ = upload_and_process(client, workflow, "sports-day")
    bad_photo, _ = upload_and_process(client, workflow, "corrupt-day")
    traces = by_trace(exporter.get_finished_spans())
    assert len(traces) == 2
    for photo, album in ((good_photo, "sports-day"), (bad_photo, "corrupt-day")):
        (spans,) = [
            s
            for s in traces.values()
            if any(x.attributes.get("bakusoku.photo_id") == photo for x in s)
        ]
        root = assert_connected(spans)
        assert root.name == "POST /v1/uploads"
        names = [s.name for s in spans]
        assert "upload event ObjectCreated" in names
        assert "execution photo-pipeline" in names
        for state in ("StorePhoto", "Renditions", "Trim", "Thumbnails"):
            assert f"state {state}" in names
            if state != "Renditions":
                task = next(s for s in spans if s.name == f"task {state}")
                parent = next(s for s in spans if s.context.span_id == task.parent.span_id)
                assert parent.name == f"state {state}"
        trim = next(s for s in spans if s.name == "state Trim")
        renditions = next(s for s in spans if s.name == "state Renditions")
        assert trim.parent.span_id == renditions.context.span_id
        execution = next(s for s in spans if s.name == "execution photo-pipeline")
        if album == "corrupt-day":
            assert execution.attributes["bakusoku.error_code"] == "image.corrupt"
            assert execution.attributes["bakusoku.failed_state"] == "Trim"
            assert trim.status.status_code.name == "ERROR"
            assert "state MarkFailed" in names
        else:
            assert "state MarkReady" in names
        # X-Ray-compatible: the first 32 bits of the trace id are the start time (epoch seconds).
        assert abs((root.context.trace_id >> 96) - root.start_time // 10**9) <= 1


def test_the_worker_process_gets_the_task_spans_trace_header(
    db: sa.Engine, tracing: Tracing, exporter: InMemorySpanExporter
) -> None:
    ops = Operations(Settings(), db, tracing=tracing, configure_logs=False)
    with FunctionRuntime(
        [
            FunctionConfig(
                name="Describe",
                handler="tests.runtime.handlers.sample.describe",
                timeout_seconds=30,
            )
        ],
        max_environments=1,
        environment={"PYTHONPATH": os.pathsep.join([str(HANDLERS.parents[2])])},
    ) as runtime:
        invoker = ops.invoker(RuntimeInvoker(runtime, parallelism=1))
        workflow = WorkflowEngine(db, invoker, time_scale=0.01)
        workflow.register_state_machine(
            "describe",
            {
                "StartAt": "Describe",
                "States": {
                    "Describe": {
                        "Type": "Task",
                        "Resource": runtime.function_arn("Describe"),
                        "End": True,
                    }
                },
            },
        )
        with workflow:
            workflow.start_execution("describe", {"hello": "world"}, name="describe-1")
            done = workflow.wait_for("describe-1", timeout=60)
    assert done.status == "SUCCEEDED", done.cause
    header: Any = done.output["env"]["_X_AMZN_TRACE_ID"]
    parsed = parse_xray_header(header)
    assert parsed is not None and header.endswith("Sampled=1")
    (task,) = [s for s in exporter.get_finished_spans() if s.name == "task Describe"]
    assert parsed == (task.context.trace_id, task.context.span_id)
