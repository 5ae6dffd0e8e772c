"""Deleting a photo: its original, every rendition, then its row; never while it is in flight.

A photo is deleted only once it has settled (``ready``, ``failed``, ``duplicate``), or when it is
``pending`` and can no longer receive its upload (the longest presigned link has expired and no
bytes arrived). While the pipeline works on it, or while its upload link is still good, deleting
answers 409: removing the row then would let the pipeline write renditions, or the upload's
event recreate the row, after the delete. A photo that duplicates point at (they show its
renditions) is kept while they exist: deleting it answers 409, naming them.

The objects go first and the row last, so a delete that fails half-way (the store unreachable)
leaves the photo listed and a second delete finishes it; no object is ever left without a row.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from bakusoku.api.errors import ApiError
from bakusoku.db.photos import DUPLICATE, FAILED, PENDING, READY, PhotoRepository
from bakusoku.domain.keys import owner_of, photo_ref, rendition_prefix_of
from bakusoku.storage.base import ObjectStore
from bakusoku.storage.errors import BucketNotFoundError, ObjectNotFoundError, StorageError
from bakusoku.utc import iso_seconds

SETTLED = (READY, FAILED, DUPLICATE)
# Clock difference between the API and the store that still accepts a presigned upload.
_CLOCK_MARGIN_SECONDS = 60


@dataclass(frozen=True)
class Deleted:
    """What a delete removed."""

    photo_id: str
    status: str
    objects: list[str]


def delete_photo(
    photo: dict[str, Any],
    store: ObjectStore,
    photos: PhotoRepository,
    *,
    rendition_prefix: str,
    upload_window_seconds: int,
    now: float | None = None,
) -> Deleted:
    """Remove ``photo``'s objects and row; ApiError 409 if it is still being uploaded or processed.

    ``upload_window_seconds``: the longest a presigned upload link may live.
    """
    photo_id, status = photo["photo_id"], photo["status"]
    bucket = photo["bucket"]
    now = time.time() if now is None else now
    if status == PENDING:
        _check_upload_closed(photo, store, upload_window_seconds, now)
    elif status not in SETTLED:
        raise _in_flight(photo_id, status)
    if status != DUPLICATE:
        _check_no_duplicates(photo, photos)
    keys = _object_keys(photo, store, rendition_prefix)
    try:
        for key in keys:
            store.delete_object(bucket, key)
    except StorageError as exc:
        raise ApiError(
            503,
            "storage.unavailable",
            f"the photo store could not delete {photo_id}'s objects ({exc.code}); the photo is"
            " still listed: send the same DELETE again",
        ) from None
    if not photos.delete(photo_id, status):
        current = photos.find(photo_id)
        if current is None:  # deleted by a concurrent request: the outcome asked for
            return Deleted(photo_id, status, keys)
        raise ApiError(
            409,
            "photo.processing",
            f"photo {photo_id} started processing again while it was being deleted (status"
            f" {current['status']}); its files are removed: delete it again once it has settled",
        )
    return Deleted(photo_id, status, keys)


def photo_was_deleted(photos: PhotoRepository, key: str | None, upload_prefix: str) -> bool:
    """Was the photo uploaded at ``key`` deleted? The API makes a row for every upload it presigns,
    so an upload key of the API's without one is a deleted photo: processing it again would bring
    back a row with nothing behind it."""
    if not key or owner_of(key, upload_prefix) is None:
        return False
    return photos.find(photo_ref("", key, upload_prefix).photo_id) is None


def _object_keys(photo: dict[str, Any], store: ObjectStore, rendition_prefix: str) -> list[str]:
    """The original, the renditions the row names, and anything else under its rendition prefix
    (a rendition written by an attempt that did not finish)."""
    bucket = photo["bucket"]
    keys = [str(item["key"]) for item in (photo.get("renditions") or {}).values()]
    prefix = rendition_prefix_of(rendition_prefix, photo["album"], photo["photo_id"])
    try:
        keys += [info.key for info in store.list_objects(bucket, prefix)]
    except BucketNotFoundError:
        pass
    except StorageError as exc:
        raise ApiError(
            503,
            "storage.unavailable",
            f"the photo store could not list {photo['photo_id']}'s renditions ({exc.code});"
            " nothing was deleted: try again",
        ) from None
    return list(dict.fromkeys([*keys, photo["object_key"]]))


def _check_no_duplicates(photo: dict[str, Any], photos: PhotoRepository) -> None:
    """A photo that later uploads of the same bytes point at is kept while they exist: they
    show its renditions, and would point at nothing."""
    duplicates = photos.duplicates_of(photo)
    if not duplicates:
        return
    shown = ", ".join(duplicates[:5]) + (", ..." if len(duplicates) > 5 else "")
    raise ApiError(
        409,
        "photo.has_duplicates",
        f"photo {photo['photo_id']} has {len(duplicates)} duplicate upload(s) that show its"
        f" renditions ({shown}): delete those first, then this photo; nothing was deleted",
    )


def _check_upload_closed(
    photo: dict[str, Any], store: ObjectStore, window: int, now: float
) -> None:
    photo_id = photo["photo_id"]
    closes = photo["created_at"] + window + _CLOCK_MARGIN_SECONDS
    if now < closes:
        raise ApiError(
            409,
            "photo.upload_open",
            f"photo {photo_id} is waiting for its upload (status pending) and its upload link"
            f" may still be used until {iso_seconds(closes)}: delete it after that, or"
            " once it has been processed",
        )
    try:
        store.head_object(photo["bucket"], photo["object_key"])
    except (ObjectNotFoundError, BucketNotFoundError):
        return  # never uploaded, and now it never can be
    except StorageError as exc:
        raise ApiError(
            503,
            "storage.unavailable",
            f"the photo store could not be asked whether {photo_id} was uploaded ({exc.code});"
            " nothing was deleted: try again",
        ) from None
    raise _in_flight(photo_id, "pending, its upload has arrived")


def _in_flight(photo_id: str, status: str) -> ApiError:
    return ApiError(
        409,
        "photo.processing",
        f"photo {photo_id} is still being processed (status {status}): delete it once it is"
        f" ready, failed or duplicate (GET /v1/photos/{photo_id} shows its status)",
    )
