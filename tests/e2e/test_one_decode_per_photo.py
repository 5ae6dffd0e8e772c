"""One decode per photo: the shipped pipeline reads the original's pixels exactly once.

The real ASL file runs on the workflow engine with the real handlers in this process (the engine's
in-process invoker), so every decode Pillow starts, in any task, is seen. StorePhoto reads only the
header; MakeRenditions decodes once for the print, the browsing set and the placeholder.
"""

from __future__ import annotations

import importlib
import io
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bakusoku.db.engine import create_db_engine
from bakusoku.db.photos import PhotoRepository
from bakusoku.domain.keys import upload_key
from bakusoku.pipeline import adapters as pipeline_adapters
from bakusoku.pipeline.functions import FUNCTIONS, STATE_MACHINE_NAME, definition_text
from bakusoku.storage.local import LocalObjectStore
from bakusoku.workflow.engine import WorkflowEngine
from bakusoku.workflow.invoker import FunctionInvoker
from tests.conftest import make_jpeg
from tests.schema import create_schema

BUCKET = "bakusoku"
ALBUM = "sports-day"


class DecodeCounter:
    """Counts the JPEG decoders Pillow creates: one per pass over a file's compressed pixels."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        self._lock = threading.Lock()
        original = Image._getdecoder

        def counting(mode: str, decoder_name: str, args: Any, extra: Any = ()) -> Any:
            if decoder_name == "jpeg":
                with self._lock:
                    self.count += 1
            return original(mode, decoder_name, args, extra)

        monkeypatch.setattr(Image, "_getdecoder", counting)


def _handler(dotted: str) -> Callable[[dict[str, Any], Any], Any]:
    module, name = dotted.rsplit(".", 1)
    handler: Callable[[dict[str, Any], Any], Any] = getattr(importlib.import_module(module), name)
    return handler


@pytest.fixture
def pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WorkflowEngine]:
    """The shipped definition and handlers on SQLite and the local store, all in this process."""
    database = f"sqlite:///{tmp_path / 'bakusoku.db'}"
    for name, value in {
        "BAKUSOKU_DATA_DIR": str(tmp_path),
        "BAKUSOKU_DATABASE_URL": database,
        "BAKUSOKU_OBJECT_STORE": "local",
        "BAKUSOKU_BUCKET": BUCKET,
    }.items():
        monkeypatch.setenv(name, value)
    pipeline_adapters.adapters.cache_clear()
    db = create_db_engine(database)
    create_schema(db)
    arns = {f.name: f"arn:aws:lambda:us-east-1:000000000000:function:{f.name}" for f in FUNCTIONS}
    invoker = FunctionInvoker({arns[f.name]: _handler(f.handler) for f in FUNCTIONS})
    engine = WorkflowEngine(db, invoker)
    engine.register_state_machine(
        STATE_MACHINE_NAME,
        definition_text(),
        {f.placeholder: arns[f.name] for f in FUNCTIONS},
    )
    engine.start()
    try:
        yield engine
    finally:
        engine.stop()
        db.dispose()
        pipeline_adapters.adapters.cache_clear()


def _upload(tmp_path: Path, data: bytes) -> tuple[str, dict[str, Any]]:
    """Store the photo as a presigned upload would; returns its id and the S3 event it caused."""
    photo_id = str(uuid.uuid4())
    key = upload_key("uploads/", ALBUM, photo_id, "image/jpeg")
    PhotoRepository(create_db_engine(f"sqlite:///{tmp_path / 'bakusoku.db'}")).create_pending(
        photo_id=photo_id,
        album=ALBUM,
        bucket=BUCKET,
        object_key=key,
        filename="IMG_0001.jpg",
        content_type="image/jpeg",
        declared_size=len(data),
    )
    events: list[dict[str, Any]] = []
    store = LocalObjectStore(tmp_path / "objects", event_sink=events.append, durable=False)
    store.create_bucket(BUCKET)
    store.put_object(BUCKET, key, data, content_type="image/jpeg")
    assert len(events) == 1
    return photo_id, events[0]


@pytest.mark.parametrize("extra_prints", ["", "print-2l=127:178,print-6x4=4:6"])
def test_the_pipeline_decodes_each_photo_once(
    pipeline: WorkflowEngine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    extra_prints: str,
) -> None:
    monkeypatch.setenv("BAKUSOKU_EXTRA_PRINTS", extra_prints)
    pipeline_adapters.adapters.cache_clear()
    data = make_jpeg(2400, 1800, orientation=6)
    photo_id, event = _upload(tmp_path, data)
    decodes = DecodeCounter(monkeypatch)

    pipeline.start_execution(STATE_MACHINE_NAME, event, name=f"exec-{photo_id}")
    ended = pipeline.wait_for(f"exec-{photo_id}", timeout=60)

    assert ended.status == "SUCCEEDED", ended
    photo = pipeline_adapters.adapters().photos.get(photo_id)
    assert photo["status"] == "ready"
    prints = 1 + len([p for p in extra_prints.split(",") if p])
    assert len(photo["renditions"]) == prints + 1  # + the JPEG preview
    assert photo["placeholder"]
    assert decodes.count == 1, f"the original was decoded {decodes.count} times"
    # The prints are full resolution, so that one decode is too: upright 1800 x 2400, 89:127.
    printed = photo["renditions"]["print"]
    assert (printed["width"], printed["height"]) == (round(2400 * 89 / 127), 2400)
    preview_key = photo["renditions"]["preview"]["key"]
    store = pipeline_adapters.adapters().store
    with Image.open(io.BytesIO(store.get_object(BUCKET, preview_key))) as preview:
        assert max(preview.size) == 1600 and preview.height > preview.width
