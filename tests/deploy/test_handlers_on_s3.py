"""The pipeline's handlers in the Lambda-style runtime on an AWS-shaped EventBridge "Object Created"
event, against S3's API (moto on loopback) and a real database, make the same photo row and the
same renditions as the same handlers on the local store."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bakusoku.db.engine import create_db_engine
from bakusoku.db.photos import PhotoRepository
from bakusoku.domain.keys import upload_key
from bakusoku.pipeline.functions import FUNCTIONS
from bakusoku.runtime import FunctionConfig, FunctionRuntime
from bakusoku.storage.local import LocalObjectStore
from tests.conftest import make_jpeg
from tests.schema import create_schema

pytest.importorskip("moto", reason="needs moto[server]: pip install -e '.[aws,test]'")
pytestmark = pytest.mark.integration

SAMPLE = (
    Path(__file__).resolve().parents[1] / "events" / "samples" / "eventbridge_object_created.json"
)
REGION = "us-east-1"
BUCKET = "enphoto-dev-photos"


@dataclass
class Stack:
    runtime: FunctionRuntime
    photos: PhotoRepository
    store: Any


def eventbridge_object_created(bucket: str, key: str, size: int, etag: str) -> dict[str, Any]:
    """The documented EventBridge event of S3, for this object."""
    event: dict[str, Any] = copy.deepcopy(json.loads(SAMPLE.read_text()))
    event.update(id=str(uuid.uuid4()), region=REGION, resources=[f"arn:aws:s3:::{bucket}"])
    event["detail"]["bucket"]["name"] = bucket
    event["detail"]["object"].update(key=key, size=size, etag=etag.strip('"'))
    return event


def _stack(tmp: Path, environment: dict[str, str], store: Any) -> Iterator[Stack]:
    database = f"sqlite:///{tmp / 'bakusoku.db'}"
    engine = create_db_engine(database)
    create_schema(engine)
    env = {
        "BAKUSOKU_BUCKET": BUCKET,
        "BAKUSOKU_REGION": REGION,
        "BAKUSOKU_DATA_DIR": str(tmp),
        "BAKUSOKU_DATABASE_URL": database,
        **environment,
    }
    configs = [
        FunctionConfig(name=f.name, handler=f.handler, timeout_seconds=60, environment=env)
        for f in FUNCTIONS
    ]
    runtime = FunctionRuntime(configs, max_environments=len(configs), region=REGION)
    try:
        yield Stack(runtime, PhotoRepository(engine), store)
    finally:
        runtime.close()
        engine.dispose()


@pytest.fixture
def s3_stack(tmp_path: Path, moto_endpoint: str) -> Iterator[Stack]:
    from bakusoku.storage.s3 import S3ObjectStore

    store = S3ObjectStore(REGION, endpoint_url=moto_endpoint)
    store.create_bucket(BUCKET)
    env = {"BAKUSOKU_OBJECT_STORE": "s3", "AWS_ENDPOINT_URL_S3": moto_endpoint}
    yield from _stack(tmp_path, env, store)


@pytest.fixture
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("local")
    store = LocalObjectStore(tmp / "objects", region=REGION, durable=False)
    store.create_bucket(BUCKET)
    yield from _stack(tmp, {"BAKUSOKU_OBJECT_STORE": "local"}, store)


def run_pipeline(
    stack: Stack, data: bytes, photo_id: str, *, as_branches: bool = False
) -> dict[str, Any]:
    """What the state machine does on a good photo: StorePhoto → MakeRenditions → MarkReady.

    ``as_branches`` hands MarkReady what executions started on the earlier definition carry: the
    outputs of a Parallel's print and browsing branches, as a list.
    """
    key = upload_key("uploads/", "sports-day", photo_id, "image/jpeg")
    stack.photos.create_pending(
        photo_id=photo_id,
        album="sports-day",
        bucket=BUCKET,
        object_key=key,
        filename="IMG_0001.jpg",
        content_type="image/jpeg",
        declared_size=len(data),
    )
    info = stack.store.put_object(BUCKET, key, data, content_type="image/jpeg")
    event = eventbridge_object_created(BUCKET, key, info.size, info.etag)
    photo = stack.runtime.invoke("store-photo", {"event": event, "executionName": "exec-1"})
    renditions = stack.runtime.invoke("make-renditions", photo)
    if as_branches:
        renditions = _as_branches(renditions)
    stack.runtime.invoke("mark-ready", {"photo": photo, "renditions": renditions})
    return stack.photos.get(photo_id)


def _as_branches(output: dict[str, Any]) -> list[dict[str, Any]]:
    """MakeRenditions' output split as the former Trim and Thumbnails branches returned it."""
    common = {k: output[k] for k in ("width", "height", "takenAt")}
    prints = {k: v for k, v in output["renditions"].items() if k.startswith("print")}
    browsing = {k: v for k, v in output["renditions"].items() if k not in prints}
    trim = {**common, "renditions": prints, "cropBox": output["cropBox"]}
    if "faces" in output:
        trim["faces"] = output["faces"]
    return [trim, {**common, "renditions": browsing, "placeholder": output["placeholder"]}]


_COMPARED = (
    "status",
    "album",
    "bucket",
    "object_key",
    "etag",
    "byte_size",
    "sha256",
    "content_type",
    "width",
    "height",
    "taken_at",
    "crop_box",
    "renditions",
)


def _digest(stack: Stack, row: dict[str, Any]) -> dict[str, str]:
    """Each rendition's pixels (the embedded sRGB profile carries its creation time)."""
    found = {}
    for name, rendition in row["renditions"].items():
        with Image.open(io.BytesIO(stack.store.get_object(BUCKET, rendition["key"]))) as image:
            found[name] = (
                f"{image.format} {image.mode} {image.size} "
                + hashlib.sha256(image.tobytes()).hexdigest()
            )
    return found


def test_same_row_and_renditions_on_s3_as_locally(s3_stack: Stack, local_stack: Stack) -> None:
    data = make_jpeg(1600, 1200, orientation=6)
    photo_id = str(uuid.uuid4())
    on_s3 = run_pipeline(s3_stack, data, photo_id)
    local = run_pipeline(local_stack, data, photo_id)
    assert on_s3["status"] == "ready"
    assert {k: on_s3.get(k) for k in _COMPARED} == {k: local.get(k) for k in _COMPARED}
    assert {"print", "preview"} <= set(on_s3["renditions"])
    assert _digest(s3_stack, on_s3) == _digest(local_stack, local)


def test_missing_upload_fails_with_its_code_on_s3(s3_stack: Stack) -> None:
    from bakusoku.runtime import FunctionError

    key = upload_key("uploads/", "sports-day", str(uuid.uuid4()), "image/jpeg")
    event = eventbridge_object_created(BUCKET, key, 10, '"0123456789abcdef0123456789abcdef"')
    with pytest.raises(FunctionError) as caught:
        s3_stack.runtime.invoke("store-photo", {"event": event, "executionName": "exec-2"})
    assert caught.value.error_type == "ObjectMissingError"
    failed = s3_stack.runtime.invoke(
        "mark-failed",
        # The state input (the EventBridge event) with the Catch's ResultPath $.error.
        {**event, "error": {"Error": "ObjectMissingError", "Cause": "gone"}},
    )
    assert s3_stack.photos.get(failed["photoId"])["status"] == "failed"


def test_mark_ready_still_takes_the_two_branch_outputs_of_earlier_executions(
    local_stack: Stack,
) -> None:
    one, two = str(uuid.uuid4()), str(uuid.uuid4())
    # Two uploads of the same picture (their bytes differ in EXIF, so neither is a duplicate).
    single = run_pipeline(local_stack, make_jpeg(1600, 1200, orientation=6), one)
    branches = run_pipeline(
        local_stack, make_jpeg(1600, 1200, orientation=6), two, as_branches=True
    )
    fields = ("status", "width", "height", "taken_at", "crop_box", "faces", "placeholder")
    assert single["status"] == "ready" and single["placeholder"] and single["crop_box"]
    assert {k: branches.get(k) for k in fields} == {k: single.get(k) for k in fields}
    assert json.loads(json.dumps(branches["renditions"]).replace(two, one)) == single["renditions"]
