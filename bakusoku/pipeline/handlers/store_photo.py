"""StorePhoto: record a stored upload on its photo row and check it is what was presigned."""

from __future__ import annotations

import hashlib
from typing import Any

from bakusoku.events import object_created_records
from bakusoku.imaging import probe
from bakusoku.imaging.errors import EmptyImageError
from bakusoku.pipeline.adapters import adapters
from bakusoku.pipeline.errors import ObjectMissingError, UploadRejectedError
from bakusoku.pipeline.keys import photo_ref
from bakusoku.storage.errors import ObjectNotFoundError


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Input: ``{"event": <object-created event, any AWS shape>, "executionName": str}``."""
    record = object_created_records(event["event"])[0]
    env = adapters()
    ref = photo_ref(record.bucket, record.key, env.settings.upload_prefix)
    try:
        data = env.store.get_object(record.bucket, record.key)
    except ObjectNotFoundError as exc:
        raise ObjectMissingError(
            f"s3://{record.bucket}/{record.key} is gone from the store; upload the photo again"
        ) from exc
    head = env.store.head_object(record.bucket, record.key)
    photo = env.photos.record_received(
        photo_id=ref.photo_id,
        album=ref.album,
        bucket=record.bucket,
        object_key=record.key,
        etag=head.etag.strip('"'),
        byte_size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        content_type=head.content_type,
        execution_name=event.get("executionName"),
        sequencer=record.sequencer,
    )
    _check_upload(len(data), photo.get("declared_size"), env.settings.max_upload_bytes)
    info = probe(data)
    return {
        "photoId": ref.photo_id,
        "album": ref.album,
        "bucket": record.bucket,
        "key": record.key,
        "etag": photo["etag"],
        "size": len(data),
        "width": info.width,
        "height": info.height,
    }


def _check_upload(size: int, declared: int | None, cap: int) -> None:
    if size == 0:
        raise EmptyImageError("the uploaded file is empty (0 bytes); upload the photo again")
    if size > cap:
        raise UploadRejectedError(
            f"the stored object is {size} bytes, over the {cap}-byte upload limit; "
            "resize the photo or raise max_upload_bytes"
        )
    if declared is not None and size != declared:
        raise UploadRejectedError(
            f"the stored object is {size} bytes but {declared} were declared when the upload "
            "was presigned; upload the photo again"
        )
