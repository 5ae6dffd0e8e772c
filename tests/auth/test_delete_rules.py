"""When a photo may be deleted, and what a delete leaves behind, on a real SQLite and local store."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from bakusoku.api.deletion import Deleted, delete_photo
from bakusoku.api.errors import ApiError
from bakusoku.db.engine import create_db_engine
from bakusoku.db.migrate import upgrade
from bakusoku.db.photos import PhotoRepository
from bakusoku.storage.local import LocalObjectStore

BUCKET = "bakusoku"
HOUR = 3600


@pytest.fixture
def photos(tmp_path: Path) -> PhotoRepository:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'photos.db'}")
    upgrade(engine)
    return PhotoRepository(engine)


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "objects", buckets=[BUCKET], durable=False)


def _key(photo_id: str) -> str:
    return f"uploads/school/sports/{photo_id}.jpg"


def _presigned(photos: PhotoRepository, photo_id: str) -> dict[str, Any]:
    photos.create_pending(
        photo_id=photo_id,
        album="sports",
        bucket=BUCKET,
        object_key=_key(photo_id),
        filename="IMG_1.jpg",
        content_type="image/jpeg",
        declared_size=4,
    )
    return photos.get(photo_id)


def _received(photos: PhotoRepository, photo_id: str, sha256: str = "ab" * 32) -> dict[str, Any]:
    return photos.record_received(
        photo_id=photo_id,
        album="sports",
        bucket=BUCKET,
        object_key=_key(photo_id),
        etag="e",
        byte_size=4,
        sha256=sha256,
        content_type="image/jpeg",
        execution_name=f"x-{photo_id}",
    )


def _delete(
    photo: dict[str, Any], store: LocalObjectStore, photos: PhotoRepository, **kw: Any
) -> Deleted:
    return delete_photo(
        photo, store, photos, rendition_prefix="renditions/", upload_window_seconds=HOUR, **kw
    )


def test_a_photo_being_processed_is_refused_and_kept_whole(
    photos: PhotoRepository, store: LocalObjectStore
) -> None:
    photo_id = "11111111-1111-4111-8111-111111111111"
    _presigned(photos, photo_id)
    store.put_object(BUCKET, _key(photo_id), b"jpeg", content_type="image/jpeg")
    store.put_object(
        BUCKET, f"renditions/sports/{photo_id}/thumb.jpg", b"t", content_type="image/jpeg"
    )
    photo = _received(photos, photo_id)
    with pytest.raises(ApiError) as refused:
        _delete(photo, store, photos)
    assert refused.value.status == 409 and refused.value.code == "photo.processing"
    assert "ready, failed or duplicate" in refused.value.message
    assert photos.get(photo_id)["status"] == "processing"
    assert len(store.list_objects(BUCKET, "")) == 2


def test_a_pending_photo_is_deleted_once_its_upload_link_has_expired(
    photos: PhotoRepository, store: LocalObjectStore
) -> None:
    photo_id = "22222222-2222-4222-8222-222222222222"
    photo = _presigned(photos, photo_id)
    with pytest.raises(ApiError) as refused:
        _delete(photo, store, photos, now=time.time() + HOUR - 1)
    assert refused.value.code == "photo.upload_open"
    # The upload arrived but its event was lost: the sweep will process it, so not yet.
    store.put_object(BUCKET, _key(photo_id), b"jpeg", content_type="image/jpeg")
    with pytest.raises(ApiError) as arrived:
        _delete(photo, store, photos, now=time.time() + 2 * HOUR)
    assert arrived.value.code == "photo.processing"
    store.delete_object(BUCKET, _key(photo_id))
    deleted = _delete(photo, store, photos, now=time.time() + 2 * HOUR)
    assert deleted.status == "pending" and photos.find(photo_id) is None


def test_after_a_delete_the_same_bytes_are_a_new_photo_not_a_duplicate(
    photos: PhotoRepository, store: LocalObjectStore
) -> None:
    first, again = "33333333-3333-4333-8333-333333333333", "44444444-4444-4444-8444-444444444444"
    _presigned(photos, first)
    store.put_object(BUCKET, _key(first), b"jpeg", content_type="image/jpeg")
    _received(photos, first)
    rendition = {"key": f"renditions/sports/{first}/thumb.jpg"}
    store.put_object(BUCKET, rendition["key"], b"t", content_type="image/jpeg")
    store.put_object(
        BUCKET, f"renditions/sports/{first}/leftover.jpg", b"l", content_type="image/jpeg"
    )  # an earlier try
    assert photos.mark_ready(first, {"renditions": {"thumb": rendition}})
    _presigned(photos, again)
    _received(photos, again)
    assert photos.find_original(again) is not None  # the same bytes, while the first exists

    deleted = _delete(photos.get(first), store, photos)
    assert sorted(deleted.objects) == sorted(
        [_key(first), rendition["key"], f"renditions/sports/{first}/leftover.jpg"]
    )
    assert store.list_objects(BUCKET, "") == []
    assert photos.find(first) is None
    assert photos.find_original(again) is None


def test_a_photo_with_duplicates_is_kept_until_they_are_deleted(
    photos: PhotoRepository, store: LocalObjectStore
) -> None:
    original, duplicate = (
        "55555555-5555-4555-8555-555555555555",
        "66666666-6666-4666-8666-666666666666",
    )
    _presigned(photos, original)
    store.put_object(BUCKET, _key(original), b"jpeg", content_type="image/jpeg")
    _received(photos, original)
    rendition = {"key": f"renditions/sports/{original}/thumb.jpg"}
    store.put_object(BUCKET, rendition["key"], b"t", content_type="image/jpeg")
    assert photos.mark_ready(original, {"renditions": {"thumb": rendition}})
    _presigned(photos, duplicate)
    store.put_object(BUCKET, _key(duplicate), b"jpeg", content_type="image/jpeg")
    _received(photos, duplicate)
    assert photos.mark_duplicate(duplicate, original)

    with pytest.raises(ApiError) as refused:
        _delete(photos.get(original), store, photos)
    assert refused.value.status == 409 and refused.value.code == "photo.has_duplicates"
    assert duplicate in refused.value.message and "delete those first" in refused.value.message
    assert photos.get(original)["status"] == "ready"
    assert len(store.list_objects(BUCKET, "")) == 3  # nothing was deleted

    assert _delete(photos.get(duplicate), store, photos).status == "duplicate"
    assert _delete(photos.get(original), store, photos).status == "ready"
    assert store.list_objects(BUCKET, "") == []
