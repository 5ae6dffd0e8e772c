"""The stuck-photo sweep re-drives aborted executions and restarts photos whose event was lost."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bakusoku.config import Settings
from bakusoku.events import execution_name
from bakusoku.local.stack import EmbeddedStack
from bakusoku.storage.local import LocalObjectStore
from tests.conftest import make_jpeg

pytestmark = pytest.mark.integration


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[EmbeddedStack]:
    settings = Settings(data_dir=tmp_path / "data", workers=1, sweep_schedule="")
    built = EmbeddedStack(settings)
    yield built
    if built._started:
        built.stop()
    else:  # never started: only the runtime and the database hold anything
        built.runtime.close()
        built.db.dispose()


def _upload_quietly(stack: EmbeddedStack, album: str) -> tuple[str, str, str]:
    """Store a presigned photo's bytes with its event lost: the row stays pending."""
    photo_id = str(uuid.uuid4())
    key = f"{stack.settings.upload_prefix}{album}/{photo_id}.jpg"
    data = make_jpeg(640, 480)
    stack.photos.create_pending(
        photo_id=photo_id,
        album=album,
        bucket=stack.settings.bucket,
        object_key=key,
        filename="lost.jpg",
        content_type="image/jpeg",
        declared_size=len(data),
    )
    quiet = LocalObjectStore(stack.objects_dir, event_sink=lambda _n: None)
    info = quiet.put_object(stack.settings.bucket, key, data, content_type="image/jpeg")
    return photo_id, key, info.etag.strip('"')


def _wait_status(stack: EmbeddedStack, photo_id: str, status: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while stack.photos.get(photo_id)["status"] != status:
        assert time.monotonic() < deadline, stack.photos.get(photo_id)
        time.sleep(0.05)


def test_pending_photo_whose_event_was_lost_is_restarted(stack: EmbeddedStack) -> None:
    photo_id, key, etag = _upload_quietly(stack, "lost")
    stack.start()

    assert stack.sweep.run_once().restarted == []  # not stuck yet: under the threshold
    report = stack.sweep.run_once(now=time.time() + stack.sweep.threshold_seconds + 1)

    assert report.restarted == [photo_id]
    _wait_status(stack, photo_id, "ready")
    name = execution_name(stack.settings.bucket, key, etag)
    # The photo's last step is done; the execution ends right after it.
    assert stack.workflow.wait_for(name, timeout=10).status == "SUCCEEDED"
    # The execution input is the default route's event: S3's EventBridge "Object Created".
    assert stack.workflow.describe_execution(name).input["detail-type"] == "Object Created"


def test_processing_photo_whose_execution_stopped_is_redriven(stack: EmbeddedStack) -> None:
    photo_id, key, etag = _upload_quietly(stack, "aborted")
    name = execution_name(stack.settings.bucket, key, etag)
    stack.photos.record_received(
        photo_id=photo_id,
        album="aborted",
        bucket=stack.settings.bucket,
        object_key=key,
        etag=etag,
        byte_size=1,
        sha256="",
        content_type="image/jpeg",
        execution_name=name,
    )
    head = stack.store.head_object(stack.settings.bucket, key)
    notification = {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "eventTime": "2026-10-10T09:30:00.000Z",
                "awsRegion": "us-east-1",
                "s3": {
                    "bucket": {"name": stack.settings.bucket},
                    "object": {"key": key, "size": head.size, "eTag": etag, "sequencer": "01"},
                },
            }
        ]
    }
    # The engine is not started: the execution is recorded, then stopped before it ran a state.
    stack.workflow.start_execution(
        stack.state_machine_arn, stack.route_event(notification), name=name
    )
    stack.workflow.stop_execution(name, error="Host.Crashed", cause="the laptop went to sleep")
    stack.start()

    report = stack.sweep.run_once(now=time.time() + stack.sweep.threshold_seconds + 1)

    assert report.redriven == [photo_id]
    _wait_status(stack, photo_id, "ready")
    assert stack.workflow.describe_execution(name).redrive_count == 1


def test_running_executions_and_never_uploaded_photos_are_left_alone(
    stack: EmbeddedStack,
) -> None:
    photo_id = str(uuid.uuid4())
    stack.photos.create_pending(
        photo_id=photo_id,
        album="never",
        bucket=stack.settings.bucket,
        object_key=f"{stack.settings.upload_prefix}never/{photo_id}.jpg",
        filename="x.jpg",
        content_type="image/jpeg",
        declared_size=10,
    )

    report = stack.sweep.run_once(now=time.time() + stack.sweep.threshold_seconds + 1)

    assert report.skipped == [photo_id]
    assert report.restarted == report.redriven == []
