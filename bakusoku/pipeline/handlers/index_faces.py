"""IndexFaces: index the faces MakeRenditions cut out, in the photo's service and album.

It runs beside MarkReady (the pipeline's Parallel state) and reads only the face cuts, never the
original: one decode and one detection per photo. A face-indexing failure never fails the photo:
its Catch calls this function again with the error, and the photo, ready all the same, records its
faces ``unindexed`` with the code ``faces.unindexed``, so staff can re-index it later.
"""

from __future__ import annotations

from typing import Any

from bakusoku.domain.catalogue import describe_failure
from bakusoku.domain.keys import owner_of
from bakusoku.faces.errors import FaceIndexError
from bakusoku.faces.port import AlbumRef, DetectingFaceIndex, FaceCrop, IndexedFace
from bakusoku.pipeline.adapters import Adapters, adapters

INDEXED, UNINDEXED, OFF = "indexed", "unindexed", "off"


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Input: ``{"photo": StorePhoto's output, "renditions": MakeRenditions' output}``, or
    ``{"photo", "error": {"Error", "Cause"}}`` from the Catch. Output: what was recorded."""
    env = adapters()
    photo = event["photo"]
    photo_id = photo["photoId"]
    if "error" in event:
        error = event["error"] or {}
        _, message = describe_failure(
            str(error.get("Error", "States.TaskFailed")), error.get("Cause")
        )
        env.photos.record_face_index(photo_id, UNINDEXED, message)
        return {"photoId": photo_id, "faceIndex": UNINDEXED, "reason": message}
    index = env.face_index()
    if index is None:
        env.photos.record_face_index(photo_id, OFF)
        return {"photoId": photo_id, "faceIndex": OFF}
    album = album_of(photo["key"], photo["album"], env.settings.upload_prefix)
    found = event["renditions"].get("faceCrops")
    if found is None and isinstance(index, DetectingFaceIndex):
        # No detector here (the Lambda bundle carries none): the index finds the faces itself.
        made = event["renditions"]
        image, size = whole_photo(env, photo["bucket"], made["renditions"], made)
        indexed = index.index_photo(album, photo_id, image, size)
        env.photos.record_face_index(photo_id, INDEXED)
        return _indexed(photo_id, indexed)
    if found is None:
        raise FaceIndexError(
            "faces were not looked for in this photo: the face detector is not installed (install"
            " the 'faces' extra) or face_detection is off; set face_index to off to index no faces"
        )
    crops = [
        FaceCrop(
            box=tuple(face["box"]),
            jpeg=None
            if face["key"] is None
            else env.store.get_object(photo["bucket"], face["key"]),
        )
        for face in found
    ]
    indexed = index.index_faces(album, photo_id, crops)
    env.photos.record_face_index(photo_id, INDEXED)
    return _indexed(photo_id, indexed)


def _indexed(photo_id: str, indexed: list[IndexedFace]) -> dict[str, Any]:
    return {
        "photoId": photo_id,
        "faceIndex": INDEXED,
        "faces": len(indexed),
        "embedded": sum(1 for face in indexed if face.embedded),
    }


# Rekognition takes at most 5 MiB of JPEG or PNG bytes.
_MAX_WHOLE_PHOTO_BYTES = 5 * 1024 * 1024


def whole_photo(
    env: Adapters, bucket: str, renditions: dict[str, Any], original: dict[str, Any]
) -> tuple[bytes, tuple[int, int]]:
    """The largest uncropped JPEG rendition Rekognition accepts, and the original's size
    (``original``'s ``width`` and ``height``)."""
    fitting = [
        r
        for r in renditions.values()
        if r["contentType"] == "image/jpeg"
        and "cropBox" not in r  # a print is trimmed: its boxes would not be the photo's
        and r["size"] <= _MAX_WHOLE_PHOTO_BYTES
    ]
    if not fitting:
        raise FaceIndexError(
            "no JPEG browsing rendition under 5 MiB to find the faces in: keep a JPEG browsing"
            " rendition (browsing_formats) of at most a few thousand pixels"
        )
    largest = max(fitting, key=lambda r: r["width"] * r["height"])
    data = env.store.get_object(bucket, largest["key"])
    return data, (int(original["width"]), int(original["height"]))


def album_of(key: str, album: str, upload_prefix: str) -> AlbumRef:
    """The service and album a photo's faces belong to (service ``""``: keyed before services)."""
    owner = owner_of(key, upload_prefix)
    return AlbumRef(owner[0], owner[1]) if owner is not None else AlbumRef("", album)
