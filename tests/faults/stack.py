"""An embedded bakusoku stack on a real database, for the delivery and fault tests."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bakusoku.config import load_settings
from bakusoku.db.schema import photos
from bakusoku.domain.keys import rendition_prefix_of, upload_key
from bakusoku.local.stack import EmbeddedStack
from bakusoku.storage.local import LocalObjectStore
from bakusoku.workflow.tables import executions
from tests.conftest import free_port


def make_stack(data_dir: Path, database_url: str, **settings: Any) -> EmbeddedStack:
    overrides = {
        "data_dir": data_dir,
        "database_url": database_url,
        "workers": 2,
        "port": free_port(),
        "store_port": free_port(),
        **settings,
    }
    return EmbeddedStack(load_settings(overrides, environ={}))


def stored_event(stack: EmbeddedStack, data: bytes, album: str) -> tuple[str, dict[str, Any]]:
    """Store a photo as an upload would (pending row, object) and return its id and S3 event."""
    photo_id = str(uuid.uuid4())
    key = upload_key(stack.settings.upload_prefix, album, photo_id, "image/jpeg")
    stack.photos.create_pending(
        photo_id=photo_id,
        album=album,
        bucket=stack.settings.bucket,
        object_key=key,
        filename=f"{photo_id}.jpg",
        content_type="image/jpeg",
        declared_size=len(data),
    )
    captured: list[dict[str, Any]] = []
    store = LocalObjectStore(stack.objects_dir, event_sink=captured.append)
    store.put_object(stack.settings.bucket, key, data, content_type="image/jpeg")
    return photo_id, captured[0]


def rendition_keys(stack: EmbeddedStack, album: str, photo_id: str) -> list[str]:
    prefix = rendition_prefix_of(stack.settings.rendition_prefix, album, photo_id)
    return sorted(o.key for o in stack.store.list_objects(stack.settings.bucket, prefix))


def wait_all_final(engine: sa.Engine, photo_ids: list[str], timeout: float) -> dict[str, str]:
    """Wait until every photo is ready or failed; returns {photo_id: status} at the end."""
    deadline = time.monotonic() + timeout
    statuses: dict[str, str] = {}
    while time.monotonic() < deadline:
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    sa.select(photos.c.photo_id, photos.c.status).where(
                        photos.c.photo_id.in_(photo_ids)
                    )
                ).all()
            statuses = {row.photo_id: row.status for row in rows}
        except sa.exc.DBAPIError:
            pass
        if len(statuses) == len(photo_ids) and all(
            s in ("ready", "failed") for s in statuses.values()
        ):
            return statuses
        time.sleep(0.5)
    return statuses


def executions_for(engine: sa.Engine, photo_id: str, timeout: float = 10) -> list[Any]:
    """The photo's executions once none runs (each ends right after the photo's last step)."""
    deadline = time.monotonic() + timeout
    while True:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(executions.c.name, executions.c.status).where(
                    executions.c.name.like(f"{photo_id}%")
                )
            ).all()
        if all(row.status != "RUNNING" for row in rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


def assert_one_set_of_renditions(stack: EmbeddedStack, album: str, photo_id: str) -> None:
    """The store holds exactly the renditions the photo row lists: no extra, none missing."""
    recorded = sorted(r["key"] for r in (stack.photos.get(photo_id)["renditions"] or {}).values())
    stored = rendition_keys(stack, album, photo_id)
    assert recorded, f"photo {photo_id} lists no renditions"
    assert stored == recorded
