"""MarkFailed: give the photo status ``failed`` with a code and a reason; remove partial renditions
and any faces IndexFaces indexed or bibs ReadBibs read before the photo failed (a failed photo
is never found by face or by bib)."""

from __future__ import annotations

from typing import Any

from bakusoku.domain.catalogue import describe_failure
from bakusoku.domain.keys import owner_of, photo_ref, rendition_prefix_of
from bakusoku.events import object_created_records
from bakusoku.faces.erasure import erase_photo
from bakusoku.faces.errors import FaceIndexError
from bakusoku.pipeline.adapters import Adapters, adapters
from bakusoku.pipeline.handlers.index_faces import album_of
from bakusoku.races.repository import RaceRef


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
    _erase_faces(env, key, ref.album, ref.photo_id)
    owner = owner_of(key, env.settings.upload_prefix)
    if owner is not None:
        env.bibs.forget_photo(RaceRef(*owner), ref.photo_id)
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


def _erase_faces(env: Adapters, key: str, album: str, photo_id: str) -> None:
    ref = album_of(key, album, env.settings.upload_prefix)
    if not env.faces.photo_faces(ref.service, ref.album, photo_id):
        return  # the usual case: no model is loaded to erase nothing
    try:
        index = env.face_index()
    except FaceIndexError:
        index = None  # our rows go all the same
    erase_photo(index, env.faces, ref, photo_id)
