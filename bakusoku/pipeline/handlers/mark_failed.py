"""MarkFailed: give the photo status ``failed`` with a code and a reason; remove partial renditions."""

from __future__ import annotations

from typing import Any

from bakusoku.domain.catalogue import describe_failure
from bakusoku.domain.keys import photo_ref, rendition_prefix_of
from bakusoku.events import object_created_records
from bakusoku.pipeline.adapters import adapters


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Input: the execution state with ``error: {"Error", "Cause"}`` from a Catch."""
    env = adapters()
    error = event.get("error") or {}
    code, message = describe_failure(
        str(error.get("Error", "States.TaskFailed")), error.get("Cause")
    )
    record = object_created_records(event)[0] if "photo" not in event else None
    bucket = event["photo"]["bucket"] if record is None else record.bucket
    key = event["photo"]["key"] if record is None else record.key
    ref = photo_ref(bucket, key, env.settings.upload_prefix)
    prefix = rendition_prefix_of(env.settings.rendition_prefix, ref.album, ref.photo_id)
    for obj in env.store.list_objects(bucket, prefix):
        env.store.delete_object(bucket, obj.key)
    if env.photos.find(ref.photo_id) is None:
        env.photos.record_received(
            photo_id=ref.photo_id,
            album=ref.album,
            bucket=bucket,
            object_key=key,
            etag="",
            byte_size=0,
            sha256="",
            content_type=None,
            execution_name=None,
        )
    env.photos.mark_failed(ref.photo_id, code, message)
    return {"photoId": ref.photo_id, "Error": code, "Cause": message}
