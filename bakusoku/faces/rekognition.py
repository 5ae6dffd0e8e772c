"""The face index on Amazon Rekognition: one collection per service and album.

Each album's faces live in their own collection, so a search can never reach another album's or
another service's faces: the collection is the scope, not a filter. The collection id is
``{prefix}{service}.{album}`` when both names are as the API admits them (services
``[a-z0-9-]``, albums ``[A-Za-z0-9_-]``: neither holds a ``.``, so the pair is read back
unambiguously); any other pair (a photo from before services, a name with other characters, an id
over 255 characters) gets ``{prefix}_{sha256 of service NUL album}``, and ``_`` starts no service
name, so the two forms never meet. The prefix is the stack's (``face_collection_prefix``; default
``{service_name}-{stage}-faces.``), which is also what the functions' IAM policy allows
(``bakusoku.deploy.policies``).

A collection is created when the album's first face is indexed: IndexFaces on a collection that does
not exist yet answers ResourceNotFoundException, and only then is CreateCollection called (an
``AlreadyExists`` from a concurrent photo is fine), tagged with the prefix so the role may create
nothing else. Each face cut is indexed on its own (``MaxFaces=1``, the cut's largest face, with
``QualityFilter=AUTO`` so a blurred or tiny face is recorded but not made searchable) with the photo
id as ``ExternalImageId``. Where the pipeline has no detector of its own (the Lambda bundle carries
none), ``index_photo`` indexes a browsing rendition of the whole photo instead, one IndexFaces for up
to 100 faces, with Rekognition's boxes. The face ↔ photo mapping is our ``faces`` table (``FaceRepository``): our
face id, the photo, the box, and Rekognition's FaceId as ``backend_face_id``; searches answer our
face ids, read back from Rekognition's, and a Rekognition face without a row (an interrupted try's)
is never answered. Similarities are Rekognition's percentages divided by 100; the threshold is the
port's ``MATCH_THRESHOLD`` (0.8, Rekognition's own default of 80 %).

Errors: throttling (ThrottlingException, ProvisionedThroughputExceededException, after botocore's
own retries) is :class:`FaceIndexThrottledError`; Rekognition's own failures and an endpoint that
does not answer are :class:`FaceIndexUnavailableError`, both retried by the pipeline. A search image
without a face is :class:`NoFaceError`, one Rekognition cannot read
:class:`FaceImageRejectedError`. A collection that does not exist is an album without faces: an
empty search, nothing to delete.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any

from bakusoku.config import ConfigError, Settings
from bakusoku.db.faces import FaceRepository, FaceRow
from bakusoku.faces.errors import (
    FaceImageRejectedError,
    FaceIndexError,
    FaceIndexThrottledError,
    FaceIndexUnavailableError,
    NoFaceError,
)
from bakusoku.faces.port import MATCH_THRESHOLD, AlbumRef, FaceCrop, FaceMatch, IndexedFace

log = logging.getLogger(__name__)

# Rekognition's patterns (its service model): CollectionId, ExternalImageId, FaceId.
COLLECTION_ID = re.compile(r"[a-zA-Z0-9_.\-]+")
EXTERNAL_IMAGE_ID = re.compile(r"[a-zA-Z0-9_.\-:]+")
FACE_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MAX_COLLECTION_ID = 255
MAX_EXTERNAL_IMAGE_ID = 255
MAX_IMAGE_BYTES = 5 * 1024 * 1024  # Image.Bytes, raw (before base64)
MAX_FACES_PER_CALL = 4096  # DeleteFaces' FaceIds and the searches' MaxFaces
MAX_FACES_PER_PHOTO = 100  # IndexFaces on a whole photo: a class photo, with room to spare
REKOGNITION = "rekognition"  # the face_index value that selects this backend
PREFIX_TAG = "bakusoku-collections"  # the tag CreateCollection must carry (see the IAM policy)
_SERVICE = re.compile(r"[a-z0-9][a-z0-9-]*")
_ALBUM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_THROTTLED = {
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "LimitExceededException",
}
_UNAVAILABLE = {"InternalServerError", "ServiceUnavailableException"}
_IMAGE_REJECTED = {"ImageTooLargeException", "InvalidImageFormatException"}
_NOT_FOUND = "ResourceNotFoundException"
_NO_FACE_HINT = "no faces in the image"  # InvalidParameterException's message for a faceless image


def collection_prefix(
    settings: Settings, *, service: str | None = None, stage: str | None = None
) -> str:
    """The stack's collection prefix: the setting, or ``{service}-{stage}-faces.`` (by default
    the settings' ``service_name`` and ``stage``; the templates name the stack's own)."""
    prefix = settings.face_collection_prefix or (
        f"{service or settings.service_name}-{stage or settings.stage}-faces."
    )
    if not COLLECTION_ID.fullmatch(prefix) or len(prefix) > 128:
        raise ConfigError(
            f"setting 'face_collection_prefix' has the bad value {prefix!r}: use 1-128 of"
            " a-z, A-Z, 0-9, '_', '.' and '-' (Rekognition's collection ids)"
        )
    return prefix


def collection_id(prefix: str, album: AlbumRef) -> str:
    """The collection of one service's album: readable when the names allow it, else hashed."""
    readable = f"{prefix}{album.service}.{album.album}"
    if (
        _SERVICE.fullmatch(album.service)
        and _ALBUM.fullmatch(album.album)
        and len(readable) <= MAX_COLLECTION_ID
    ):
        return readable
    digest = hashlib.sha256(f"{album.service}\0{album.album}".encode()).hexdigest()
    return f"{prefix}_{digest}"


def rekognition_client(region: str) -> Any:
    """A botocore Rekognition client: default credentials (the Lambda role), standard retries
    (which retry throttling a few times before it reaches us). ``AWS_ENDPOINT_URL_REKOGNITION``
    points it elsewhere, as botocore's configuration allows."""
    import botocore.session
    from botocore.config import Config

    session = botocore.session.get_session()
    return session.create_client(
        "rekognition",
        region_name=region,
        config=Config(retries={"total_max_attempts": 4, "mode": "standard"}, connect_timeout=5),
    )


class RekognitionFaceIndex:
    """The :class:`~bakusoku.faces.port.FaceIndex` on Amazon Rekognition's collections; the face
    rows (our face id, the photo, the box, Rekognition's FaceId) live in ``faces``."""

    def __init__(
        self,
        client: Any,
        faces: FaceRepository,
        *,
        prefix: str,
        threshold: float = MATCH_THRESHOLD,
    ) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ConfigError(f"the face match threshold {threshold!r} is not between 0 and 1")
        self._client = client
        self._faces = faces
        self._prefix = prefix
        self._threshold_percent = threshold * 100.0

    @classmethod
    def from_settings(cls, settings: Settings, faces: FaceRepository) -> RekognitionFaceIndex:
        return cls(rekognition_client(settings.region), faces, prefix=collection_prefix(settings))

    def collection(self, album: AlbumRef) -> str:
        return collection_id(self._prefix, album)

    # ---- indexing -------------------------------------------------------------------------

    def index_faces(
        self, album: AlbumRef, photo_id: str, faces: Sequence[FaceCrop]
    ) -> list[IndexedFace]:
        """Index each face cut and make the rows the photo's faces; a cut Rekognition finds no
        good face in is recorded, not searchable. Faces an earlier try of the same photo indexed
        are deleted from the collection once the new rows are written."""
        external_id = _external_image_id(photo_id)
        earlier = self._faces.photo_faces(album.service, album.album, photo_id)
        rows = []
        for face in faces:
            backend = self._index_one(album, external_id, face) if face.jpeg else None
            rows.append(
                FaceRow(
                    face_id=str(uuid.uuid4()),
                    photo_id=photo_id,
                    box=face.box,
                    embedded=backend is not None,
                    backend_face_id=backend,
                )
            )
        self._faces.replace_photo_faces(album.service, album.album, photo_id, rows)
        self._delete_backend(album, [f.backend_face_id for f in earlier if f.backend_face_id])
        return [IndexedFace(r.face_id, photo_id, r.box, r.embedded) for r in rows]

    def index_photo(
        self, album: AlbumRef, photo_id: str, image: bytes, size: tuple[int, int]
    ) -> list[IndexedFace]:
        """Index every face Rekognition finds in the photo (one IndexFaces, up to 100 faces)
        where the pipeline has no detector of its own; faces its quality check filters out are
        recorded, not searchable. Boxes are Rekognition's, in the original's pixels."""
        external_id = _external_image_id(photo_id)
        earlier = self._faces.photo_faces(album.service, album.album, photo_id)
        if len(image) > MAX_IMAGE_BYTES:
            raise FaceIndexError(
                f"the photo given for its faces is {len(image)} bytes, over Rekognition's 5 MiB:"
                " give a browsing rendition, not the original"
            )
        request = {
            "CollectionId": self.collection(album),
            "Image": {"Bytes": image},
            "ExternalImageId": external_id,
            "MaxFaces": MAX_FACES_PER_PHOTO,
            "QualityFilter": "AUTO",
        }
        try:
            answer = self._call("index_faces", album, request)
        except _CollectionMissing:
            self._create_collection(album)
            answer = self._call("index_faces", album, request)
        rows = [
            FaceRow(
                face_id=str(uuid.uuid4()),
                photo_id=photo_id,
                box=_box(record["Face"]["BoundingBox"], size),
                embedded=True,
                backend_face_id=str(record["Face"]["FaceId"]),
            )
            for record in answer.get("FaceRecords", [])
        ] + [
            FaceRow(
                face_id=str(uuid.uuid4()),
                photo_id=photo_id,
                box=_box(unindexed["FaceDetail"]["BoundingBox"], size),
                embedded=False,
            )
            for unindexed in answer.get("UnindexedFaces", [])
            if "BoundingBox" in unindexed.get("FaceDetail", {})
        ]
        self._faces.replace_photo_faces(album.service, album.album, photo_id, rows)
        self._delete_backend(album, [f.backend_face_id for f in earlier if f.backend_face_id])
        return [IndexedFace(r.face_id, photo_id, r.box, r.embedded) for r in rows]

    def _index_one(self, album: AlbumRef, external_id: str, face: FaceCrop) -> str | None:
        assert face.jpeg is not None
        if len(face.jpeg) > MAX_IMAGE_BYTES:
            log.warning("face of %s over Rekognition's 5 MiB: recorded, not indexed", external_id)
            return None
        request = {
            "CollectionId": self.collection(album),
            "Image": {"Bytes": face.jpeg},
            "ExternalImageId": external_id,
            "MaxFaces": 1,
            "QualityFilter": "AUTO",
        }
        try:
            try:
                answer = self._call("index_faces", album, request)
            except _CollectionMissing:
                self._create_collection(album)
                answer = self._call("index_faces", album, request)
        except NoFaceError as exc:  # FaceImageRejectedError too: our cut, unreadable to it
            log.warning("face of %s not indexed: %s", external_id, exc.message)
            return None
        records = answer.get("FaceRecords", [])
        if not records:
            reasons = [r for u in answer.get("UnindexedFaces", []) for r in u.get("Reasons", [])]
            log.info(
                "face of %s not indexed by Rekognition's quality check: %s", external_id, reasons
            )
            return None
        return str(records[0]["Face"]["FaceId"])

    def _create_collection(self, album: AlbumRef) -> None:
        request = {"CollectionId": self.collection(album), "Tags": {PREFIX_TAG: self._prefix}}
        with suppress(_CollectionExists):  # a concurrent photo of the album created it first
            self._call("create_collection", album, request)

    # ---- searching ------------------------------------------------------------------------

    def search_by_image(self, album: AlbumRef, image: bytes, *, limit: int) -> list[FaceMatch]:
        if len(image) > MAX_IMAGE_BYTES:
            raise FaceImageRejectedError(
                f"a reference photo is {len(image)} bytes, over Rekognition's 5 MiB: send a"
                " smaller JPEG or PNG (1600 px on the long side is plenty)"
            )
        request = {
            "CollectionId": self.collection(album),
            "Image": {"Bytes": image},
            "MaxFaces": _max_faces(limit),
            "FaceMatchThreshold": self._threshold_percent,
            "QualityFilter": "AUTO",
        }
        try:
            answer = self._call("search_faces_by_image", album, request)
        except _CollectionMissing:
            return []  # the album has no indexed face yet
        return self._ours(album, _similarities(answer))[:limit]

    def search_by_faces(
        self, album: AlbumRef, face_ids: Sequence[str], *, limit: int
    ) -> list[FaceMatch]:
        """Each album face's best similarity to any of ``face_ids``, best first; the query faces
        themselves are left out (Rekognition's SearchFaces does not answer them)."""
        queried = {
            f.backend_face_id
            for f in self._faces.find(album.service, album.album, face_ids)
            if f.backend_face_id
        }
        best: dict[str, float] = {}
        for backend_id in sorted(queried):
            request = {
                "CollectionId": self.collection(album),
                "FaceId": backend_id,
                "MaxFaces": _max_faces(limit + len(queried)),
                "FaceMatchThreshold": self._threshold_percent,
            }
            try:
                answer = self._call("search_faces", album, request)
            except _CollectionMissing:
                return []
            except _FaceMissing:
                continue  # not searchable yet (just indexed), or deleted meanwhile
            for found, similarity in _similarities(answer).items():
                if found not in queried:
                    best[found] = max(similarity, best.get(found, 0.0))
        return self._ours(album, best)[:limit]

    def _ours(self, album: AlbumRef, similarities: Mapping[str, float]) -> list[FaceMatch]:
        """Rekognition's face ids as the album's face rows, best first; a face without a row (an
        interrupted try's, or one being erased) is not answered."""
        rows = self._faces.by_backend_ids(album.service, album.album, similarities)
        matches = [
            FaceMatch(r.face_id, r.photo_id, similarities[r.backend_face_id])
            for r in rows
            if r.backend_face_id is not None
        ]
        return sorted(matches, key=lambda m: (-m.similarity, m.face_id))

    # ---- erasure --------------------------------------------------------------------------

    def delete_faces(self, album: AlbumRef, face_ids: Sequence[str]) -> None:
        """Delete the faces from the album's collection (first, so an erasure cut short leaves
        its rows to try again), then their rows."""
        rows = self._faces.find(album.service, album.album, face_ids)
        self._delete_backend(album, [r.backend_face_id for r in rows if r.backend_face_id])
        self._faces.delete_faces(album.service, album.album, [r.face_id for r in rows])

    def delete_album(self, album: AlbumRef) -> None:
        """Delete the album's collection and every face in it, then the album's face rows."""
        with suppress(_CollectionMissing):
            self._call("delete_collection", album, {"CollectionId": self.collection(album)})
        self._faces.delete_album(album.service, album.album)

    def _delete_backend(self, album: AlbumRef, backend_ids: Sequence[str]) -> None:
        """DeleteFaces, 4096 ids a call; ids Rekognition no longer has are fine."""
        ids = [f for f in dict.fromkeys(backend_ids) if FACE_ID.fullmatch(f)]
        for start in range(0, len(ids), MAX_FACES_PER_CALL):
            request = {
                "CollectionId": self.collection(album),
                "FaceIds": ids[start : start + MAX_FACES_PER_CALL],
            }
            try:
                self._call("delete_faces", album, request)
            except _CollectionMissing:
                return  # nothing of the album is in Rekognition

    # ---- the one place Rekognition is called ------------------------------------------------

    def _call(self, operation: str, album: AlbumRef, request: Mapping[str, Any]) -> Any:
        with _rekognition_errors(operation, self.collection(album)):
            return getattr(self._client, operation)(**request)


class _CollectionMissing(Exception):
    """ResourceNotFoundException for the collection: the album has nothing indexed."""


class _CollectionExists(Exception):
    """ResourceAlreadyExistsException from CreateCollection."""


class _FaceMissing(Exception):
    """SearchFaces with a face id the collection no longer has."""


def _external_image_id(photo_id: str) -> str:
    if not EXTERNAL_IMAGE_ID.fullmatch(photo_id) or len(photo_id) > MAX_EXTERNAL_IMAGE_ID:
        raise FaceIndexError(
            f"the photo id {photo_id!r} cannot be Rekognition's ExternalImageId (1-255 of"
            " a-z, A-Z, 0-9, '_', '.', '-', ':'); photo ids are UUIDs: report this photo"
        )
    return photo_id


def _max_faces(limit: int) -> int:
    return max(1, min(limit, MAX_FACES_PER_CALL))


def _box(ratios: Mapping[str, float], size: tuple[int, int]) -> tuple[float, float, float, float]:
    """Rekognition's BoundingBox (ratios of the image, which may reach past its edges) in the
    original's pixels: (left, top, right, bottom)."""
    width, height = size
    left = min(max(float(ratios.get("Left", 0.0)), 0.0), 1.0)
    top = min(max(float(ratios.get("Top", 0.0)), 0.0), 1.0)
    right = min(max(float(ratios.get("Left", 0.0)) + float(ratios.get("Width", 0.0)), 0.0), 1.0)
    bottom = min(max(float(ratios.get("Top", 0.0)) + float(ratios.get("Height", 0.0)), 0.0), 1.0)
    return (left * width, top * height, right * width, bottom * height)


def _similarities(answer: Mapping[str, Any]) -> dict[str, float]:
    """Rekognition's matches as FaceId → similarity in [0, 1]."""
    return {
        str(m["Face"]["FaceId"]): min(1.0, max(0.0, float(m["Similarity"]) / 100.0))
        for m in answer.get("FaceMatches", [])
    }


@contextmanager
def _rekognition_errors(operation: str, collection: str) -> Iterator[None]:
    """Raise the face index's typed errors for what botocore raises inside the block."""
    from botocore.exceptions import ClientError, HTTPClientError
    from botocore.exceptions import ConnectionError as BotocoreConnectionError

    try:
        yield
    except ClientError as exc:
        raise _translate(exc, operation, collection) from exc
    except (BotocoreConnectionError, HTTPClientError) as exc:
        raise FaceIndexUnavailableError(
            f"Amazon Rekognition could not be reached for {operation} ({type(exc).__name__}:"
            f" {exc}); check the network path to Rekognition (a VPC needs a NAT gateway or an"
            " interface endpoint for it), then try again",
            reason=type(exc).__name__,
        ) from exc


def _translate(exc: Any, operation: str, collection: str) -> Exception:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message") or exc)
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 500)
    if code == _NOT_FOUND:  # "The collection id: … does not exist"
        return _CollectionMissing(message)
    if code == "ResourceAlreadyExistsException":
        return _CollectionExists(message)
    if code in _THROTTLED:
        return FaceIndexThrottledError(
            f"Amazon Rekognition is throttling {operation} ({code}) after every retry: the"
            " pipeline tries again later; if it keeps happening, ask for a higher"
            f" transactions-per-second quota for {operation} in Service Quotas",
            reason=code,
        )
    if code in _UNAVAILABLE or status >= 500:
        return FaceIndexUnavailableError(
            f"Amazon Rekognition failed {operation} ({code or status}: {message}); try again later",
            reason=code or str(status),
        )
    if code in _IMAGE_REJECTED:
        return FaceImageRejectedError(
            f"Amazon Rekognition cannot read the image ({code}: {message}): send a JPEG or PNG"
            " under 5 MiB, at least 80 px on each side"
        )
    if code == "InvalidParameterException" and _NO_FACE_HINT in message.lower():
        return NoFaceError(
            "no face was found in the image (or none clear enough to search with): use a photo"
            " where the face is large, sharp and facing the camera"
        )
    if (
        code == "InvalidParameterException"
        and operation == "search_faces"
        and "not found" in message.lower()
    ):
        return _FaceMissing(message)  # "faceId was not found in the collection."
    if code == "AccessDeniedException":
        return FaceIndexError(
            f"the function's role may not call rekognition:{_action(operation)} on the collection"
            f" {collection!r}: deploy the stack's template, whose roles allow it when"
            " 'face_index' is 'rekognition'"
        )
    return FaceIndexError(f"Amazon Rekognition refused {operation} ({code}: {message})")


def _action(operation: str) -> str:
    return "".join(part.capitalize() for part in operation.split("_"))
