"""StorePhoto: record a stored upload on its photo row and check it is what was presigned.

Everything here reads only the image header (no pixel is decoded), so bad, hostile and duplicate
uploads are settled in milliseconds before any rendition work starts.
"""

from __future__ import annotations

import hashlib
from typing import Any

from bakusoku.domain.keys import photo_ref
from bakusoku.events import object_created_records
from bakusoku.imaging import ImageInfo, probe, require_printable
from bakusoku.imaging.errors import EmptyImageError, ImageError
from bakusoku.pipeline.adapters import adapters
from bakusoku.pipeline.errors import ObjectMissingError, UploadRejectedError
from bakusoku.pipeline.handlers.imaging_settings import ImagingOptions, imaging_options
from bakusoku.storage.errors import ObjectNotFoundError


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Input: ``{"event": <object-created event, any AWS shape>, "executionName": str}``.

    Output: the photo's identity and size; with ``duplicateOf`` when the album already has the
    same bytes (the photo is then marked ``duplicate`` and the workflow ends).
    """
    record = object_created_records(event["event"])[0]
    env = adapters()
    options = imaging_options(env.settings)
    ref = photo_ref(record.bucket, record.key, env.settings.upload_prefix)
    try:
        data, head = env.store.read_object(record.bucket, record.key)
    except ObjectNotFoundError as exc:
        raise ObjectMissingError(
            f"s3://{record.bucket}/{record.key} is gone from the store; upload the photo again"
        ) from exc
    info: ImageInfo | None = None
    problem: ImageError | None = None
    try:
        info = probe(data, max_pixels=options.max_pixels, allow_tiff=options.allow_tiff)
    except ImageError as exc:  # raised below, once the row records the upload
        problem = exc
    # One transaction: the row, what its header says, and the album's first copy of these bytes.
    received = env.photos.receive(
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
        details=photo_details(info, options) if info is not None else None,
        look_for_original=options.mark_duplicates and info is not None,
    )
    photo = received.photo
    _check_upload(len(data), photo.get("declared_size"), env.settings.max_upload_bytes)
    if problem is not None:
        raise problem
    assert info is not None
    require_printable(info, options.min_print_short_edge)
    output: dict[str, Any] = {
        "photoId": ref.photo_id,
        "album": ref.album,
        "bucket": record.bucket,
        "key": record.key,
        "etag": photo["etag"],
        "size": len(data),
        "width": info.width,
        "height": info.height,
    }
    if received.original is not None:
        env.photos.mark_duplicate(ref.photo_id, received.original["photo_id"])
        output["duplicateOf"] = received.original["photo_id"]
    return output


def photo_details(info: ImageInfo, options: ImagingOptions) -> dict[str, Any]:
    """The photo row's columns that come from the image header and EXIF."""
    exposure = info.exposure.as_dict()
    gps = info.gps.as_dict() if info.gps is not None and options.store_gps else None
    return {
        "image_format": info.format,
        "width": info.width,
        "height": info.height,
        "orientation": info.orientation,
        "taken_at": info.taken_at,
        "camera_make": _cut(info.camera_make, 64),
        "camera_model": _cut(info.camera_model, 64),
        "lens": _cut(info.lens, 128),
        "exposure": exposure or None,
        "gps": gps,
    }


def _cut(text: str | None, length: int) -> str | None:
    return text[:length] if text else None


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
